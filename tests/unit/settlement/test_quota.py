"""Special-case quota: rounding, eligibility, ranking and refusal reasons."""

from __future__ import annotations

from decimal import Decimal

import polars as pl
import pytest

from yibao.engines.caseframe import MONEY
from yibao.engines.settlement import (
    QuotaParams,
    SettlementError,
    parse_settlement_params,
    quota_for,
    special_case_quota,
)


@pytest.mark.parametrize(
    ("cases", "rounding", "min_quota", "slots"),
    [
        (0, "floor", 1, 0),  # no cases, no slots even with a minimum
        (1, "floor", 1, 1),  # 0.005 → 0, raised to the minimum 1
        (199, "floor", 1, 1),
        (399, "floor", 1, 1),  # 1.995 → 1
        (400, "floor", 1, 2),
        (1_000, "floor", 1, 5),
        (1_199, "floor", 1, 5),  # 5.995 → 5
        (1, "floor", 0, 0),
        (199, "floor", 0, 0),
        (1, "ceil", 0, 1),
        (1_001, "ceil", 1, 6),  # 5.005 → 6
        (1_000, "ceil", 1, 5),
        (299, "half_up", 0, 1),  # 1.495 → 1
        (300, "half_up", 0, 2),  # 1.5 → 2
        (99, "half_up", 0, 0),  # 0.495 → 0
    ],
)
def test_quota_rounding(cases: int, rounding: str, min_quota: int, slots: int) -> None:
    params = parse_settlement_params(QuotaParams, {"rounding": rounding, "min_quota": min_quota})
    assert quota_for(cases, params) == slots


def _cases(hospital: str, n: int, **special: tuple[int, int, int, bool]) -> list[dict[str, object]]:
    """n ordinary cases of one hospital; ``special`` setl_id → (cost, standard, los, new_tech)."""
    rows: list[dict[str, object]] = [
        {
            "setl_id": f"{hospital}-{i:04d}",
            "hospital_code": hospital,
            "total_cost": Decimal("5000"),
            "payment_standard": Decimal("5000"),
            "los_days": 5,
            "new_tech": False,
        }
        for i in range(n)
    ]
    for setl_id, (cost, std, los, tech) in special.items():
        rows.append(
            {
                "setl_id": setl_id,
                "hospital_code": hospital,
                "total_cost": Decimal(cost),
                "payment_standard": Decimal(std),
                "los_days": los,
                "new_tech": tech,
            }
        )
    return rows


def _frame(rows: list[dict[str, object]]) -> pl.DataFrame:
    return pl.DataFrame(
        rows,
        schema={
            "setl_id": pl.String,
            "hospital_code": pl.String,
            "total_cost": MONEY,
            "payment_standard": MONEY,
            "los_days": pl.Int32,
            "new_tech": pl.Boolean,
        },
        orient="row",
    )


def _apps(*pairs: tuple[str, str]) -> pl.DataFrame:
    return pl.DataFrame(
        {"setl_id": [s for s, _ in pairs], "hospital_code": [h for _, h in pairs]},
        schema={"setl_id": pl.String, "hospital_code": pl.String},
    )


def test_quota_eligibility_and_ranking() -> None:
    # hospital A: 396 ordinary + 4 applied cases = 400 DRG cases → 5 ‰ = 2 slots
    rows = _cases(
        "A",
        396,
        A1=(30_000, 10_000, 5, False),  # 3× standard: eligible, excess 20,000
        A2=(25_000, 10_000, 5, False),  # 2.5×: eligible, excess 15,000
        A3=(50_000, 10_000, 5, False),  # 5×: eligible, excess 40,000
        A4=(15_000, 10_000, 10, False),  # 1.5×, 10 days, no new tech: not eligible
    )
    rows += _cases("B", 10, B1=(9_000, 10_000, 70, False), B2=(9_000, 10_000, 3, True))
    apps = _apps(("A1", "A"), ("A2", "A"), ("A3", "A"), ("A4", "A"), ("B1", "B"), ("B2", "B"))
    apps = pl.concat([apps, _apps(("A1", "A"), ("X9", "A"), ("B1", "A"))])
    result = special_case_quota(_frame(rows), apps)
    kept = result.decisions.filter(~pl.col("reason_code").is_in(["DUPLICATE", "WRONG_HOSPITAL"]))
    got = {r["setl_id"]: r for r in kept.iter_rows(named=True)}
    assert got["A3"]["reason_code"] == "ACCEPTED" and got["A3"]["rank"] == 1
    assert got["A1"]["reason_code"] == "ACCEPTED" and got["A1"]["rank"] == 2
    assert got["A2"]["reason_code"] == "OVER_QUOTA"
    assert got["A2"]["reason"] == "超出本院本期特例单议名额（名额 2，排序第 3）"
    assert got["A4"]["reason_code"] == "NOT_ELIGIBLE"
    assert got["A4"]["reason"] == (
        "不符合特例单议条件：费用 15000.00 元未达到支付标准 10000.00 元的 2 倍；"
        "住院 10 天未达到 60 天；未使用新药品、新耗材或新技术"
    )
    assert got["X9"]["reason_code"] == "NOT_FOUND"
    # B: 12 cases → floor(0.06) = 0, raised to 1 slot; B1 (70 days) outranks B2 (new tech)
    # on cost − standard? both −1,000 → tie broken by setl_id
    assert got["B1"]["reason_code"] == "ACCEPTED"
    assert got["B2"]["reason_code"] == "OVER_QUOTA"
    codes = result.decisions.filter(pl.col("setl_id") == "B1")["reason_code"].to_list()
    assert sorted(codes) == ["ACCEPTED", "WRONG_HOSPITAL"]
    dup = result.decisions.filter(pl.col("setl_id") == "A1")["reason_code"].to_list()
    assert sorted(dup) == ["ACCEPTED", "DUPLICATE"]
    quotas = {r["hospital_code"]: r for r in result.quotas.iter_rows(named=True)}
    assert (quotas["A"]["drg_cases"], quotas["A"]["quota"], quotas["A"]["accepted"]) == (400, 2, 2)
    assert (quotas["B"]["drg_cases"], quotas["B"]["quota"], quotas["B"]["accepted"]) == (12, 1, 1)
    assert quotas["A"]["applications"] == 7 and quotas["A"]["refused"] == 5


def test_criteria_parameters_and_application_order() -> None:
    rows = _cases("A", 1_000, A1=(12_000, 10_000, 5, False), A2=(40_000, 10_000, 5, False))
    apps = pl.DataFrame(
        {
            "setl_id": ["A1", "A2"],
            "hospital_code": ["A", "A"],
            "applied_at": ["2024-01-02", "2024-01-05"],
        }
    )
    strict = special_case_quota(_frame(rows), apps, QuotaParams(min_cost_multiple=Decimal(3)))
    assert strict.decisions["reason_code"].to_list() == ["NOT_ELIGIBLE", "ACCEPTED"]
    loose = QuotaParams(min_cost_multiple=Decimal("1.2"), rate=Decimal("0.001"), order="applied")
    # 1,002 cases × 1 ‰ = 1 slot, first applied wins
    result = special_case_quota(_frame(rows), apps, loose)
    assert result.decisions["reason_code"].to_list() == ["ACCEPTED", "OVER_QUOTA"]
    both = QuotaParams(min_cost_multiple=Decimal(2), min_los_days=3, new_tech=False, combine="all")
    result = special_case_quota(_frame(rows), apps, both)
    assert result.decisions["reason_code"].to_list() == ["NOT_ELIGIBLE", "ACCEPTED"]


def test_count_classes_and_params_errors() -> None:
    rows = _frame(_cases("A", 300)).with_columns(
        pl.when(pl.int_range(pl.len()) < 100)
        .then(pl.lit("high"))
        .otherwise(pl.lit("normal"))
        .alias("payment_class")
    )
    params = QuotaParams(count_classes=("normal",), min_quota=0)
    result = special_case_quota(rows, _apps(), params)
    assert result.quotas.row(0, named=True)["drg_cases"] == 200
    assert result.quotas.row(0, named=True)["quota"] == 1
    with pytest.raises(SettlementError, match="至少要启用一条特例单议资格条件"):
        parse_settlement_params(
            QuotaParams, {"min_cost_multiple": None, "min_los_days": None, "new_tech": False}
        )
    with pytest.raises(SettlementError, match="输入缺少列 hospital_code"):
        special_case_quota(rows, pl.DataFrame({"setl_id": ["x"]}))
