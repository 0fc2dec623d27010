"""DRG post-audit detectors on hand-made frames: readmission, cost shifting, self-pay
per case; input schemas and parameters (ADR 0020 "Detectors")."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal
from typing import Any

import polars as pl
import pytest

from yibao.engines.audit import (
    DETECTOR_FINDING_SCHEMA,
    AuditError,
    DetectorParams,
    post_audit,
)
from yibao.engines.audit.detectors_frames import detector_jr_id

QUIET = {"anomaly": False}  # hospital-month signals need ≥ min_cases; these frames are tiny


def case(setl_id: str, **kw: Any) -> dict[str, Any]:
    """One case row; dates as ``date``, money as ``Decimal`` (keyword overrides)."""
    adm = kw.pop("adm", date(2024, 3, 1))
    los = kw.pop("los", 5)
    row: dict[str, Any] = {
        "setl_id": setl_id,
        "psn_no": "P1",
        "hospital_code": "H1",
        "hospital_level": "3",
        "insutype": "310",
        "admission_date": adm,
        "discharge_date": adm + timedelta(days=los),
        "los_days": los,
        "total_cost": Decimal("10000.00"),
        "self_pay_full": Decimal("500.00"),
        "self_pay_first": Decimal("300.00"),
        "mdc": "MDCF",
        "adrg": "FM1",
        "drg": "FM15",
        "has_cc": False,
        "has_mcc": False,
        "rw": 1.2,
        "multiplier": "normal",
        "principal_dx": "I21.0",
    }
    row.update(kw)
    return row


def frame(rows: list[dict[str, Any]]) -> pl.DataFrame:
    return pl.DataFrame(rows).with_columns(
        pl.col("total_cost", "self_pay_full", "self_pay_first").cast(pl.Decimal(18, 2))
    )


def visits(rows: list[tuple[str, str, date, str]]) -> pl.DataFrame:
    return pl.DataFrame(
        {
            "psn_no": [r[0] for r in rows],
            "hospital_code": [r[1] for r in rows],
            "visit_date": [r[2] for r in rows],
            "amount": [Decimal(r[3]) for r in rows],
        }
    ).with_columns(pl.col("amount").cast(pl.Decimal(18, 2)))


def run(
    rows: list[dict[str, Any]], outpatient: pl.DataFrame | None = None, **params: Any
) -> pl.DataFrame:
    return post_audit(frame(rows), outpatient, DetectorParams.from_data(QUIET | params))


def only(found: pl.DataFrame, rule_id: str) -> list[dict[str, Any]]:
    return found.filter(pl.col("rule_id") == rule_id).to_dicts()


# ------------------------------------------------------------------ 分解住院


def _pair(gap: int, **later: Any) -> list[dict[str, Any]]:
    first = case("S1", adm=date(2024, 3, 1), los=5)  # discharged 03-06
    return [first, case("S2", adm=date(2024, 3, 6) + timedelta(days=gap), **later)]


def test_readmission_within_15_days_at_another_hospital() -> None:
    found = run(_pair(9, hospital_code="H2", drg="FR23", adrg="FR2", total_cost=Decimal("8000")))
    [f] = only(found, "DRG-READMIT")
    assert f["psn_no"] == "P1" and f["mdtrt_id"] == "S2"
    assert f["vola_amt"] == Decimal("8000.00")
    assert f["hospital_code"] == "H2" and f["period"] == "2024-03"
    assert f["lines"] == [
        {"rx_id": "S2", "vola_item_type": 1, "vola_amt": Decimal("8000.00")},
        {"rx_id": "S1", "vola_item_type": 2, "vola_amt": Decimal("0.00")},
    ]
    assert f["vola_cont"] == (
        "患者 P1 于 2024-03-06 自 H1 出院（DRG FM15），9 天后于 2024-03-15 再次入住 H2"
        "（DRG FR23），同一 MDC MDCF，疑似分解住院：再入院费用 8000.00 元"
    )
    assert (
        "前次住院：结算 S1，H1，2024-03-01 至 2024-03-06，住院 5 天，主要诊断 I21.0"
        in (f["vola_evid"])
    )
    assert f["vola_evid"].endswith("规则：出院后 15 天内任一医院同一 MDC 再入院")
    assert (f["family"], f["vola_bhvr_type"], f["result_type"]) == (
        "readmission",
        "readmission",
        "suspicious",
    )
    assert (f["rule_version"], f["sev_deg"]) == (1, 2)
    assert f["jr_id"] == detector_jr_id("DRG-READMIT", 1, "S2", "H2\x1e2024-03", ["S1", "S2"])


@pytest.mark.parametrize(
    ("gap", "n"), [(0, 1), (15, 1), (16, 0), (-1, 0)], ids=["same-day", "15", "16", "overlap"]
)
def test_readmission_window_is_0_to_15_days(gap: int, n: int) -> None:
    assert len(only(run(_pair(gap)), "DRG-READMIT")) == n


def test_readmission_window_is_configurable() -> None:
    assert len(only(run(_pair(20), readmit_days=30), "DRG-READMIT")) == 1
    assert not only(run(_pair(9), readmit_days=7), "DRG-READMIT")


def test_readmission_needs_the_same_mdc_or_adrg() -> None:
    assert not only(run(_pair(3, mdc="MDCG", adrg="GB1", drg="GB15")), "DRG-READMIT")
    other_adrg = _pair(3, adrg="FR2", drg="FR25")
    assert len(only(run(other_adrg), "DRG-READMIT")) == 1
    assert not only(run(other_adrg, readmit_key="adrg"), "DRG-READMIT")


def test_readmission_pairs_with_the_latest_earlier_stay_of_the_key() -> None:
    rows = [
        case("S1", adm=date(2024, 3, 1), los=2),
        case("S2", adm=date(2024, 3, 5), los=2, mdc="MDCG", adrg="GB1", drg="GB15"),
        case("S3", adm=date(2024, 3, 10), los=2),
    ]
    [f] = only(run(rows), "DRG-READMIT")
    assert [x["rx_id"] for x in f["lines"]] == ["S3", "S1"]
    assert "7 天后" in f["vola_cont"]


def test_readmission_counts_from_the_discharge_of_a_longer_overlapping_stay() -> None:
    """S2 lies inside S1 (a data error or a second hospital at once): S3, admitted 5 days
    after S1's discharge, is a readmission after S1 although S2 was admitted later."""
    rows = [
        case("S1", adm=date(2024, 3, 1), los=19),  # discharged 03-20
        case("S2", adm=date(2024, 3, 5), los=3, hospital_code="H2"),  # 03-05 to 03-08
        case("S3", adm=date(2024, 3, 25), los=2),  # 17 days after S2, 5 after S1
    ]
    [f] = only(run(rows), "DRG-READMIT")
    assert f["mdtrt_id"] == "S3"
    assert [x["rx_id"] for x in f["lines"]] == ["S3", "S1"]
    assert "于 2024-03-20 自 H1 出院" in f["vola_cont"] and "5 天后" in f["vola_cont"]


def test_readmission_exemptions_by_mdc_and_drg_prefix() -> None:
    chemo = _pair(10, mdc="MDCR", adrg="RE1", drg="RE13")
    chemo[0] |= {"mdc": "MDCR", "adrg": "RE1", "drg": "RE13"}
    assert len(only(run(chemo), "DRG-READMIT")) == 1
    assert not only(run(chemo, readmit_exempt_drg_prefixes=["RE1"]), "DRG-READMIT")
    assert not only(run(chemo, readmit_exempt_mdcs=["MDCR"]), "DRG-READMIT")
    [f] = only(run(chemo, readmit_exempt_mdcs=["MDCL"]), "DRG-READMIT")
    assert f["vola_evid"].endswith("（豁免：MDCL）")


def test_readmission_same_hospital_only() -> None:
    rows = _pair(4, hospital_code="H2")
    assert len(only(run(rows), "DRG-READMIT")) == 1
    assert not only(run(rows, readmit_same_hospital_only=True), "DRG-READMIT")
    assert len(only(run(_pair(4), readmit_same_hospital_only=True), "DRG-READMIT")) == 1


def test_only_the_audited_months_give_findings() -> None:
    rows = [*_pair(3), case("S9", psn_no="P9", adm=date(2024, 4, 2))]
    assert not only(run(rows), "DRG-READMIT")  # latest month 2024-04 is audited
    assert len(only(run(rows, months=["2024-03"]), "DRG-READMIT")) == 1


def test_findings_and_ids_are_stable_across_runs() -> None:
    rows = [*_pair(3), *_pair(5, psn_no="P2")]
    rows[2] |= {"psn_no": "P2", "setl_id": "S3"}
    rows[3] |= {"setl_id": "S4"}
    a, b = run(rows), run(list(reversed(rows)))
    assert a.equals(b)
    assert a.schema == pl.Schema(DETECTOR_FINDING_SCHEMA)
    assert a["jr_id"].n_unique() == a.height == 2


# ------------------------------------------------------------------ 转嫁费用


def test_outpatient_spending_around_the_stay_is_cost_shifting() -> None:
    rows = [case("S1", adm=date(2024, 3, 10), los=5)]  # 03-10 .. 03-15
    out = visits(
        [
            ("P1", "H1", date(2024, 3, 3), "300.00"),  # 7 days before: in
            ("P1", "H1", date(2024, 3, 10), "150.50"),  # admission day: in
            ("P1", "H1", date(2024, 3, 22), "100.00"),  # 7 days after: in
            ("P1", "H1", date(2024, 3, 2), "999.00"),  # 8 days before: out
            ("P1", "H1", date(2024, 3, 23), "999.00"),  # 8 days after: out
            ("P1", "H1", date(2024, 3, 12), "999.00"),  # during the stay: out
            ("P1", "H9", date(2024, 3, 9), "999.00"),  # other hospital: out
            ("P2", "H1", date(2024, 3, 9), "999.00"),  # other person: out
        ]
    )
    [f] = only(run(rows, out), "DRG-SHIFT")
    assert f["vola_amt"] == Decimal("550.50")
    assert f["lines"] == [{"rx_id": "S1", "vola_item_type": 1, "vola_amt": Decimal("550.50")}]
    assert f["vola_cont"] == (
        "患者 P1 在 H1 住院（2024-03-10 至 2024-03-15）前后门诊费用 550.50 元，疑似转嫁住院费用"
    )
    assert f["vola_evid"].startswith(
        "入院前 7 天内（含入院当日）门诊 450.50 元，出院后 7 天内门诊 100.00 元，共 3 笔；"
        "金额阈值 500 元；本院前期病例不足 90 例"
    )
    assert not only(run(rows, out, shift_min_amount="600"), "DRG-SHIFT")
    [wide] = only(run(rows, out, shift_same_hospital=False), "DRG-SHIFT")
    assert wide["vola_amt"] == Decimal("1549.50")
    assert len(only(run(rows, out, shift_days_before=8), "DRG-SHIFT")) == 1


def test_cost_shifting_against_the_hospital_history() -> None:
    past = [
        case(f"H{i}", psn_no=f"Q{i}", adm=date(2024, 2, 1) + timedelta(days=i % 20))
        for i in range(4)
    ]
    rows = [*past, case("S1", adm=date(2024, 3, 10), los=5)]
    hist = [(f"Q{i}", "H1", date(2024, 2, 1) + timedelta(days=i % 20), "400.00") for i in range(4)]
    now = visits([*hist, ("P1", "H1", date(2024, 3, 9), "1000.00")])
    # history: 400 a case; 1000 < 3 × 400
    assert not only(run(rows, now, min_history_cases=4), "DRG-SHIFT")
    [f] = only(run(rows, now, min_history_cases=4, shift_baseline_ratio=2.5), "DRG-SHIFT")
    assert "本院前 6 个月例均 400.00 元，本例为其 2.5 倍（阈值 2.5 倍）" in f["vola_evid"]


def test_no_outpatient_frame_no_cost_shifting() -> None:
    assert not only(run([case("S1")]), "DRG-SHIFT")


# ------------------------------------------------------------------ 自费比例


def test_self_pay_share_above_threshold() -> None:
    rows = [
        case("S1", self_pay_full=Decimal("2500.00"), self_pay_first=Decimal("600.00")),  # 31 %
        case("S2", psn_no="P2", self_pay_full=Decimal("2400.00"), self_pay_first=Decimal("600")),
    ]
    [f] = only(run(rows), "DRG-SELFPAY")
    assert f["mdtrt_id"] == "S1" and f["vola_amt"] == Decimal("100.00")
    assert f["vola_cont"] == (
        "患者 P1 在 H1 住院（DRG FM15）自费比例 31.0%，超过阈值 30.0%：超出 100.00 元"
    )
    assert f["vola_evid"] == (
        "结算 S1：医疗总费用 10000.00 元，全自费与先行自付 3100.00 元；阈值 30.0% 即 3000.00 元"
    )
    assert not only(run(rows, self_pay_include_first=False), "DRG-SELFPAY")
    assert len(only(run(rows, self_pay_case_share=0.25), "DRG-SELFPAY")) == 2


def test_self_pay_threshold_is_the_share_rounded_half_up_once() -> None:
    """25 % of 1,000.02 元 is 250.005 元: the threshold is 250.01 (half up, once), for
    the filter and the amount alike — Python's round() gave 250.00 (half to even) for
    the amount while the filter had rounded up, so the excess came out one fen high."""
    at = case("S1", total_cost=Decimal("1000.02"), self_pay_full=Decimal("250.01"))
    at["self_pay_first"] = Decimal("0.00")
    assert not only(run([at], self_pay_case_share=0.25), "DRG-SELFPAY")
    above = at | {"self_pay_full": Decimal("250.02")}
    [f] = only(run([above], self_pay_case_share=0.25), "DRG-SELFPAY")
    assert f["vola_amt"] == Decimal("0.01") and "阈值 25.0% 即 250.01 元" in f["vola_evid"]


def test_a_self_pay_total_column_may_replace_the_two() -> None:
    rows = [case("S1", self_pay=Decimal("4000"))]
    for r in rows:
        del r["self_pay_full"], r["self_pay_first"]
    cases = pl.DataFrame(rows)
    [f] = only(post_audit(cases, None, DetectorParams.from_data(QUIET)), "DRG-SELFPAY")
    assert f["vola_amt"] == Decimal("1000.00")


# ------------------------------------------------------------------ inputs and parameters


def test_a_missing_column_is_named_in_chinese() -> None:
    cases = frame([case("S1")]).drop("drg")
    with pytest.raises(AuditError) as err:
        post_audit(cases)
    assert err.value.message == "病例数据（cases）缺少列 drg（DRG 组）"
    assert err.value.field == "cases.drg"
    with pytest.raises(
        AuditError, match=r"门诊结算数据（outpatient）缺少列 visit_date（就诊日期）"
    ):
        post_audit(frame([case("S1")]), visits([]).drop("visit_date"))


def test_bad_values_are_named() -> None:
    with pytest.raises(AuditError, match=r"列 admission_date（入院日期）须为日期"):
        post_audit(frame([case("S1", admission_date="not a date")]))
    with pytest.raises(AuditError, match=r"multiplier（倍率类型）须为 high、low 或 normal"):
        post_audit(frame([case("S1", multiplier="HIGH")]))
    with pytest.raises(AuditError, match=r"列 psn_no（人员编号）有空值"):
        post_audit(frame([case("S1", psn_no=None), case("S2")]))


def test_severity_from_the_drg_code_without_cc_columns() -> None:
    from yibao.engines.audit.detectors_frames import prepare_cases

    rows = [case("S1", drg="FM11"), case("S2", drg="FM13"), case("S3", drg="FM15")]
    x = prepare_cases(frame(rows).drop("has_cc", "has_mcc"), include_first=True)
    assert x["cc"].to_list() == [True, True, False]
    assert x["mcc"].to_list() == [True, False, False]


def test_parameters_have_chinese_messages() -> None:
    with pytest.raises(AuditError) as err:
        DetectorParams.from_data({"readmit_days": -1})
    assert err.value.message == "检测参数：字段 readmit_days：超出允许范围（须不小于 0）"
    assert err.value.field == "readmit_days"
    with pytest.raises(AuditError, match="months：月份须为 YYYY-MM，2024-13 不是"):
        DetectorParams.from_data({"months": ["2024-13"]})
    with pytest.raises(AuditError, match="有不认识的字段"):
        DetectorParams.from_data({"readmit_dayz": 3})
    with pytest.raises(AuditError, match="月度自费比例阈值不能高于单例阈值"):
        DetectorParams.from_data({"self_pay_month_share": 0.5})
    assert DetectorParams.from_data({"months": ["2024-03", "2024-02"]}).months == (
        "2024-02",
        "2024-03",
    )
