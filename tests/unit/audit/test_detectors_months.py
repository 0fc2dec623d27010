"""Hospital-month detectors on hand-made frames: upcoding against history and peers,
low-multiplier rate, cost-shifting rate, self-pay share, anomaly score."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal
from typing import Any

import polars as pl
import pytest

from tests.unit.audit.test_detectors import case, frame, only, visits
from yibao.engines.audit import DetectorParams, hospital_month_features, post_audit


def month_cases(
    hospital: str,
    month: int,
    n: int = 30,
    *,
    level: str = "3",
    cc: int = 6,
    low: int = 1,
    rw: float = 1.0,
    self_share: str = "0.05",
    **kw: Any,
) -> list[dict[str, Any]]:
    """``n`` cases of one hospital discharged in 2024-``month``: ``cc`` with CC, ``low``
    low-multiplier, each of weight ``rw``, self-pay ``self_share`` of 10,000."""
    out = []
    for i in range(n):
        out.append(
            case(
                f"{hospital}-{month:02d}-{i:03d}",
                psn_no=f"{hospital}-{month}-{i}",
                hospital_code=hospital,
                hospital_level=level,
                adm=date(2024, month, 1) + timedelta(days=i % 20),
                los=3,
                has_cc=i < cc,
                multiplier="low" if i >= n - low else "normal",
                rw=rw,
                self_pay_full=Decimal("10000") * Decimal(self_share),
                self_pay_first=Decimal("0"),
                **kw,
            )
        )
    return out


def run(
    rows: list[dict[str, Any]], outpatient: pl.DataFrame | None = None, **params: Any
) -> pl.DataFrame:
    return post_audit(
        frame(rows), outpatient, DetectorParams.from_data({"anomaly": False} | params)
    )


PEERS = [*month_cases("A", 3, cc=9), *month_cases("B", 3, cc=10), *month_cases("C", 3, cc=8)]


def test_upcoding_against_level_peers() -> None:
    rows = [*PEERS, *month_cases("D", 3, cc=24)]  # 80 % CC against 27–33 %
    [f] = only(run(rows), "DRG-UPCODE")
    assert (f["hospital_code"], f["period"], f["mdtrt_id"], f["psn_no"]) == ("D", "2024-03", "", "")
    assert f["vola_amt"] == Decimal("0.00") and f["lines"] == []
    assert (
        f["vola_cont"]
        == "D（3 级）2024-03 疑似高套分组：CC/MCC 占比高于同级医院（z 值 15.00，阈值 2.0）"
    )
    assert "本月 30 例，CMI 1.0000，CC/MCC 占比 80.0%（其中 MCC 0.0%）" in f["vola_evid"]
    assert "CC/MCC 占比：同级 3 家医院均值 30.0%，标准差 3.3%，z 值 15.00" in f["vola_evid"]
    assert "前期病例不足（0 例，需 90 例），未与自身比较" in f["vola_evid"]


def test_upcoding_respects_minimum_cases_peers_and_level() -> None:
    assert not only(run([*PEERS, *month_cases("D", 3, n=29, cc=24)]), "DRG-UPCODE")
    assert not only(run([*PEERS[:60], *month_cases("D", 3, cc=24)]), "DRG-UPCODE")  # 2 peers
    other_level = [*PEERS, *month_cases("D", 3, cc=24, level="2")]
    assert not only(run(other_level), "DRG-UPCODE")
    assert (
        len(only(run([*PEERS[:60], *month_cases("D", 3, cc=24)], min_peers=2), "DRG-UPCODE")) == 1
    )


def test_upcoding_against_own_history() -> None:
    history = [*month_cases("A", 1, rw=1.0), *month_cases("A", 2, rw=1.0)]
    rows = [*history, *month_cases("A", 3, rw=1.12)]
    assert not only(run(rows), "DRG-UPCODE")  # 60 history cases < 90
    [f] = only(run(rows, min_history_cases=60), "DRG-UPCODE")
    assert f["vola_cont"] == "A（3 级）2024-03 疑似高套分组：CMI 较前期上升至 1.1200 倍（阈值 1.1）"
    assert "前 2 个月（60 例）CMI 1.0000、CC/MCC 占比 20.0%" in f["vola_evid"]
    assert not only(run(rows, min_history_cases=60, cmi_jump_ratio=1.15), "DRG-UPCODE")
    assert not only(
        run(rows, min_history_cases=60, history_months=1, months=["2024-02"]), "DRG-UPCODE"
    )
    cc_jump = [*history, *month_cases("A", 3, cc=9)]  # 20 % → 30 %
    [g] = only(run(cc_jump, min_history_cases=60), "DRG-UPCODE")
    assert "CC/MCC 占比较前期上升 10.0%（阈值 10.0%）" in g["vola_cont"]


def test_low_multiplier_rate_against_peers() -> None:
    rows = [
        *month_cases("A", 3, low=1),
        *month_cases("B", 3, low=2),
        *month_cases("C", 3, low=1),
        *month_cases("D", 3, low=6),
    ]
    [f] = only(run(rows), "DRG-LOWMULT")
    assert f["hospital_code"] == "D" and f["family"] == "under_treatment"
    assert f["vola_cont"].startswith("D（3 级）2024-03 低倍率病例占比 20.0%，高于同级医院均值 4.4%")
    assert f["vola_evid"].startswith("本月 30 例，其中 6 例；同级 3 家医院均值 4.4%")
    assert not only(run(rows, peer_z=50), "DRG-LOWMULT")
    assert not only(run(rows, min_rate_excess=0.2), "DRG-LOWMULT")
    assert not only(run(rows, min_cases=31), "DRG-LOWMULT")


def test_cost_shifting_rate_against_peers() -> None:
    rows = [*PEERS, *month_cases("D", 3)]
    around = [
        (r["psn_no"], r["hospital_code"], r["admission_date"] - timedelta(days=1), "50")
        for r in rows
    ]
    shifted = [v for v in around if v[1] == "D" or v[0].endswith(("-0", "-1"))]
    [f] = only(run(rows, visits(shifted)), "DRG-SHIFT-RATE")
    assert f["hospital_code"] == "D"
    assert "入院前后门诊就诊病例占比 100.0%，高于同级医院均值 6.7%" in f["vola_cont"]
    assert not only(run(rows), "DRG-SHIFT-RATE")


def test_self_pay_share_per_hospital_month() -> None:
    rows = [*month_cases("A", 3, self_share="0.10"), *month_cases("B", 3, self_share="0.11")]
    [f] = only(run(rows), "DRG-SELFPAY-RATE")
    assert f["hospital_code"] == "B"
    assert f["vola_cont"] == "B（3 级）2024-03 自费比例 11.0%，超过阈值 10.0%"
    assert f["vola_evid"] == "本月 30 例，医疗总费用 300000.00 元，自费 33000.00 元"
    assert not only(run(rows, min_cases=31), "DRG-SELFPAY-RATE")


# ------------------------------------------------------------------ anomaly score


def _region() -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = []
    for h in range(12):
        rows += month_cases(f"N{h:02d}", 3, cc=5 + h % 4, low=1 + h % 2, rw=1.0 + 0.02 * (h % 5))
    rows += month_cases("X", 3, cc=25, low=12, rw=2.5, self_share="0.28")
    return rows


def test_anomaly_flags_the_outlying_hospital_month_deterministically() -> None:
    params = DetectorParams.from_data({"anomaly_contamination": 0.05})
    a = post_audit(frame(_region()), None, params)
    [f] = only(a, "DRG-ANOMALY")
    assert f["hospital_code"] == "X" and f["family"] == "anomaly" and f["sev_deg"] == 1
    assert "在 13 个医院月中排第 1" in f["vola_cont"]
    assert f["vola_cont"].startswith("X（3 级）2024-03 综合异常评分 0.8")
    assert "主要异常指标：" in f["vola_cont"]
    for words in (
        "自费比例 28.0%（偏高，z 值 3.46）",
        "CMI 2.5000（偏高",
        "低倍率病例占比 40.0%（偏高",
    ):
        assert words in f["vola_cont"]
    assert "本月 30 例，CMI 2.5000，CC/MCC 占比 83.3%，低倍率 40.0%" in f["vola_evid"]
    assert "孤立森林（200 棵树，random_state 0）" in f["vola_evid"]
    assert a.equals(post_audit(frame(_region()), None, params))
    s1 = hospital_month_features(frame(_region()))
    s2 = hospital_month_features(frame(list(reversed(_region()))))
    assert s1["score"].to_list() == s2["score"].to_list()
    top = s1.sort("score", descending=True).row(0, named=True)
    assert top["hospital_code"] == "X" and top["score"] > 0.6


def test_anomaly_thresholds_and_minimum_rows() -> None:
    rows = _region()
    assert not only(
        post_audit(frame(rows), None, DetectorParams(anomaly_min_score=0.99)), "DRG-ANOMALY"
    )
    assert not only(
        post_audit(frame(rows), None, DetectorParams(anomaly_min_rows=14)), "DRG-ANOMALY"
    )
    assert not only(post_audit(frame(rows), None, DetectorParams(anomaly=False)), "DRG-ANOMALY")
    wide = post_audit(
        frame(rows), None, DetectorParams(anomaly_contamination=0.5, anomaly_min_score=0)
    )
    assert len(only(wide, "DRG-ANOMALY")) == 7  # ceil(0.5 × 13)
    few = hospital_month_features(frame(rows), None, DetectorParams(anomaly_min_rows=14))
    assert few["score"].null_count() == few.height


@pytest.mark.parametrize("seed", [0, 7])
def test_anomaly_random_state_is_a_parameter(seed: int) -> None:
    p = DetectorParams(anomaly_random_state=seed)
    a = hospital_month_features(frame(_region()), None, p)["score"]
    b = hospital_month_features(frame(_region()), None, p)["score"]
    assert a.to_list() == b.to_list()
