"""DIP settlement (issue 14 item 6, ADR 0030): case pricing under a scheme and the
year-end clearing by the settlement point value, every figure computed by hand."""

from __future__ import annotations

from decimal import Decimal

import polars as pl
import pytest

from yibao.engines.caseframe import MONEY
from yibao.engines.dip import DeviationParams
from yibao.engines.settlement import (
    ClearingParams,
    PricingParams,
    SettlementError,
    monthly_statement,
    price_dip_batch,
    year_end_clearing,
)

from .conftest import D

#: setl_id, hospital, level, cost, DIP group, score, standard cost of the group at the level
CASES = [
    ("n", "H3", "3", "10000.00", "K35.8", "800.00", "10000.00"),  # ratio 1
    ("l", "H3", "3", "3000.00", "K35.8", "800.00", "10000.00"),  # 0.3 < 0.5: pro rata
    ("h", "H3", "3", "25000.00", "K35.8", "800.00", "10000.00"),  # 2.5 > 2: excess
    ("e", "H3", "3", "60000.00", "K35.8", "800.00", "10000.00"),  # 6 > 5: extreme
    ("x", "H2", "2", "800.00", None, None, None),  # no group: by items
    ("o", "H2", "2", "7777.77", "J18.9", "333.33", "7000.00"),  # ratio 1.1111
]


def frames() -> tuple[pl.DataFrame, pl.DataFrame]:
    cases = pl.DataFrame(
        {
            "setl_id": [c[0] for c in CASES],
            "hospital_code": [c[1] for c in CASES],
            "hospital_level": [c[2] for c in CASES],
            "status": ["ok"] * len(CASES),
            "drg": ["XX11"] * len(CASES),  # the DRG grouping is not used under DIP
            "total_cost": [c[3] for c in CASES],
            "account_payment": ["0"] * len(CASES),
            "cash_payment": [str(D(c[3]) * D("0.3")) for c in CASES],
            "fund_payment": [str(D(c[3]) * D("0.7")) for c in CASES],
        }
    ).with_columns(pl.col("^(.*_payment|total_cost)$").cast(MONEY))
    scored = pl.DataFrame(
        {
            "setl_id": [c[0] for c in CASES],
            "dip_code": [c[4] for c in CASES],
            "score": [c[5] for c in CASES],
            "standard_cost": [c[6] for c in CASES],
        },
        schema={
            "setl_id": pl.String,
            "dip_code": pl.String,
            "score": pl.String,
            "standard_cost": pl.String,
        },
    ).with_columns(pl.col("score").cast(pl.Decimal(18, 2)), pl.col("standard_cost").cast(MONEY))
    return cases, scored


COEF = {"H3": D("0.96"), "H2": D("0.72")}
LOCAL = PricingParams(fund_formula="local")


def priced(point_value: str = "12.5", **kw: object) -> dict[str, dict[str, object]]:
    cases, scored = frames()
    out = price_dip_batch(cases, scored, COEF, D(point_value), None, LOCAL, **kw)  # type: ignore[arg-type]
    return {r["setl_id"]: r for r in out.iter_rows(named=True)}


def test_payment_by_score_coefficient_and_point_value() -> None:
    p = priced()
    # normal: 800 × 0.96 × 12.5 = 9,600.00; the standard is the same
    assert (p["n"]["payment_class"], p["n"]["payment_basis"]) == ("dip_normal", "score")
    assert (p["n"]["drg_payment"], p["n"]["payment_standard"]) == (D("9600.00"), D("9600.00"))
    assert p["n"]["drg"] == "K35.8"  # the DIP group, not the DRG
    # low: 800 × 3,000 / 10,000 = 240 points → 240 × 0.96 × 12.5 = 2,880.00
    assert (p["l"]["payment_class"], p["l"]["adjusted_score"]) == ("dip_low", D("240.00"))
    assert p["l"]["drg_payment"] == D("2880.00")
    # high: 800 × (2.5 − 1) = 1,200 points → 14,400.00
    assert (p["h"]["payment_class"], p["h"]["drg_payment"]) == ("dip_high", D("14400.00"))
    # extreme: 800 × (6 − 1) = 4,000 points → 48,000.00, flagged for expert review
    assert (p["e"]["payment_class"], p["e"]["drg_payment"]) == ("dip_extreme", D("48000.00"))
    assert p["e"]["extreme"] and "DIP_EXTREME" in p["e"]["reason_codes"]
    assert "需专家评审" in str(p["e"]["explanation"])
    # no group: by items, the cost
    assert (p["x"]["payment_class"], p["x"]["payment_basis"]) == ("dip_items", "items")
    assert p["x"]["drg_payment"] == D("800.00") and p["x"]["adjusted_score"] is None
    # 333.33 × 0.72 × 12.5 = 2,999.97; thresholds 0.5 / 2 × 7,000
    assert p["o"]["drg_payment"] == D("2999.97")
    assert (p["o"]["low_threshold"], p["o"]["high_threshold"]) == (D("3500.00"), D("14000.00"))
    assert p["o"]["cost_ratio"] == D("1.1111")


def test_fund_follows_the_payment_like_drg() -> None:
    p = priced()
    # local formula: payment − patient payment (30 % of cost) − other funds (0)
    assert p["n"]["fund_amount"] == D("9600.00") - D("3000.00")
    assert p["l"]["fund_amount"] == D("2880.00") - D("900.00")
    # by items: the actual pooled fund (70 % of the cost)
    assert p["x"]["fund_amount"] == D("560.00")
    assert "FUND_LOCAL" in p["n"]["reason_codes"] and "PAY_SCORE" in p["n"]["reason_codes"]
    assert "医疗机构系数 0.9600" in str(p["n"]["explanation"])


def test_point_value_rounding_half_up_and_bounds() -> None:
    # 333.33 × 0.72 × 12.3457 = 2,962.9383… → 2,962.94
    assert priced("12.3457")["o"]["drg_payment"] == D("2962.94")
    dev = DeviationParams(low=D("0.4"), high=D(3), extreme=D(8))
    p = priced(deviation=dev)
    assert p["l"]["payment_class"] == "dip_low"  # 0.3 < 0.4
    assert (p["h"]["payment_class"], p["h"]["drg_payment"]) == ("dip_normal", D("9600.00"))
    assert p["e"]["payment_class"] == "dip_high" and not p["e"]["extreme"]
    cases, scored = frames()
    with pytest.raises(SettlementError, match="点值"):
        price_dip_batch(cases, scored, COEF, D(0))
    with pytest.raises(SettlementError, match=r"H2.*医疗机构系数"):
        price_dip_batch(cases, scored, {"H3": D(1)}, D(10), None, LOCAL)


def test_special_case_approved_is_paid_its_decision() -> None:
    cases, scored = frames()
    cases = cases.with_columns(
        pl.when(pl.col("setl_id") == "e").then(pl.lit("approved")).alias("special_case"),
        pl.when(pl.col("setl_id") == "e")
        .then(pl.lit(D("55000.00")))
        .cast(MONEY)
        .alias("special_payment"),
    )
    out = price_dip_batch(cases, scored, COEF, D("12.5"), None, LOCAL)
    row = out.filter(pl.col("setl_id") == "e").row(0, named=True)
    assert (row["payment_class"], row["payment_basis"]) == ("special", "special_standard")
    assert row["drg_payment"] == D("55000.00")


def _year() -> pl.DataFrame:
    cases, scored = frames()
    return price_dip_batch(cases, scored, COEF, D("12.5"), None, LOCAL)


def test_clearing_by_settlement_point_value() -> None:
    year = _year()
    month = monthly_statement(year, period="2025-01")
    scores = {"H2": 100, "H3": 100}
    r = year_end_clearing(year, D("90000"), [month], scores, ClearingParams(method="dip"))
    # points: H3 (800 + 240 + 1,200 + 4,000) × 0.96 = 5,990.4; H2 333.33 × 0.72 = 239.9976
    # fixed (by items) 800; value = (90,000 − 800) ÷ 6,230.3976 = 14.31690… → 14.3169
    assert r.total_points == D("6230.3976") and r.fixed_total == D("800.00")
    assert r.final_value == Decimal("14.3169")
    final = dict(zip(r.cases["setl_id"], r.cases["final_payment"], strict=True))
    assert final["n"] == D("10995.38")  # 768 × 14.3169 = 10,995.3792
    assert final["o"] == D("3436.02")  # 239.9976 × 14.3169 = 3,436.0216…
    assert final["x"] == D("800.00")
    # with a fund budget: ÷ the reimbursement ratio first (§2.3)
    fund = year_end_clearing(
        year, D("63000"), [month], scores, ClearingParams(method="dip", fund_ratio=D("0.7"))
    )
    assert fund.payment_budget == D("90000.00") and fund.final_value == r.final_value


def test_clearing_refuses_the_other_method() -> None:
    year = _year()
    month = monthly_statement(year, period="2025-01")
    with pytest.raises(SettlementError, match="method=dip"):
        year_end_clearing(year, D("90000"), [month], {"H2": 90, "H3": 90}, ClearingParams())
    drg = year.with_columns(pl.lit("standard").alias("payment_basis"))
    with pytest.raises(SettlementError, match="DRG 支付标准"):
        year_end_clearing(
            drg, D("90000"), [month], {"H2": 90, "H3": 90}, ClearingParams(method="dip")
        )
