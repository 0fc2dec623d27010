"""Cases without a relative weight (``rw`` null: no payment standard applies) in the
hospital-month detectors: the CMI is over the weighted cases only, never counts them
as 0; a hospital-month without enough weighted cases gets no CMI-based signal and its
evidence prints no CMI figure."""

from __future__ import annotations

from typing import Any

import polars as pl
import pytest

from tests.unit.audit.test_detectors import frame, only
from tests.unit.audit.test_detectors_months import PEERS, month_cases, run
from yibao.engines.audit import DetectorParams, hospital_month_features, post_audit

NO_CMI = "CMI 无权重（无适用的支付标准）"


def renamed(rows: list[dict[str, Any]], tag: str) -> list[dict[str, Any]]:
    """``rows`` with their settlement and person ids made unique by ``tag``."""
    return [r | {"setl_id": f"{r['setl_id']}{tag}", "psn_no": f"{r['psn_no']}{tag}"} for r in rows]


def test_cmi_is_over_the_weighted_cases_only() -> None:
    rows = [
        *month_cases("A", 3, n=20, rw=1.5),
        *renamed(month_cases("A", 3, n=10, rw=0.6), "b"),
        *renamed(month_cases("A", 3, n=6, rw=None), "c"),
    ]
    [hm] = hospital_month_features(frame(rows)).to_dicts()
    assert (hm["cases"], hm["rw_n"]) == (36, 30)
    assert hm["cmi"] == pytest.approx((20 * 1.5 + 10 * 0.6) / 30)  # 1.2, not 36 ÷ 36 = 1.0
    none = hospital_month_features(frame(month_cases("A", 3, rw=None))).to_dicts()[0]
    assert none["rw_n"] == 0 and none["cmi"] is None


def test_a_month_without_weights_gets_no_cmi_signal_and_prints_no_cmi() -> None:
    rows = [*PEERS, *month_cases("D", 3, cc=24, rw=None)]
    [f] = only(run(rows), "DRG-UPCODE")  # the CC/MCC share still speaks
    assert f["hospital_code"] == "D" and "CMI" not in f["vola_cont"]
    assert f"本月 30 例，{NO_CMI}，CC/MCC 占比 80.0%" in f["vola_evid"]
    assert "CMI：本月病例均无权重，未比较" in f["vola_evid"]
    assert "CMI 0.0000" not in f["vola_evid"]
    # peers without weights: D's CMI has no peers to be compared with (not z against 0)
    unweighted_peers = [*(dict(r, rw=None) for r in PEERS), *month_cases("D", 3, rw=3.0)]
    assert not only(run(unweighted_peers), "DRG-UPCODE")


def test_history_without_weights_is_not_a_cmi_baseline() -> None:
    history = [*month_cases("A", 1, rw=None), *month_cases("A", 2, rw=None)]
    rows = [*history, *month_cases("A", 3, rw=1.5, cc=12)]  # CC 20 % → 40 %
    [f] = only(run(rows, min_history_cases=60), "DRG-UPCODE")
    assert f["vola_cont"].endswith("CC/MCC 占比较前期上升 20.0%（阈值 10.0%）")
    assert "CMI 较前期" not in f["vola_cont"]
    assert f"前 2 个月（60 例）{NO_CMI}、CC/MCC 占比 20.0%" in f["vola_evid"]
    assert "本月 30 例，CMI 1.5000，" in f["vola_evid"]


def test_partly_weighted_months_compare_the_weighted_cases() -> None:
    # half of the history unweighted: counted as 0 it would look like a CMI jump of 2
    history = [
        *month_cases("A", 1, rw=1.0),
        *month_cases("A", 2, n=15, rw=1.0),
        *renamed(month_cases("A", 2, n=15, rw=None), "u"),
    ]
    rows = [*history, *month_cases("A", 3, rw=1.0)]
    assert not only(run(rows, min_history_cases=45), "DRG-UPCODE")
    jump = [*history, *month_cases("A", 3, rw=1.2)]
    [f] = only(run(jump, min_history_cases=45), "DRG-UPCODE")
    assert f["vola_cont"].endswith("CMI 较前期上升至 1.2000 倍（阈值 1.1）")
    assert "前 2 个月（60 例）CMI 1.0000（按有权重的 45 例计）" in f["vola_evid"]
    few = only(run(jump, min_history_cases=46), "DRG-UPCODE")
    assert not few  # 45 weighted history cases < 46: CMI not compared, CC unchanged
    # a month with fewer than min_cases weighted cases is not compared with peers either
    partly = [
        *PEERS,
        *month_cases("D", 3, n=20, rw=3.0),
        *renamed(month_cases("D", 3, n=10, rw=None, cc=0), "x"),
    ]
    assert not only(run(partly), "DRG-UPCODE")  # 20 weighted < 30
    [g] = only(run(partly, min_cases=20), "DRG-UPCODE")
    assert g["vola_cont"].startswith("D（3 级）2024-03 疑似高套分组：CMI 高于同级医院")
    assert "本月 30 例，CMI 3.0000（按有权重的 20 例计）" in g["vola_evid"]


# ------------------------------------------------------------------ anomaly score


def _region(x_rw: float | None, others_rw: float | None = 1.0) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = []
    for h in range(12):
        rw = None if others_rw is None else others_rw + 0.02 * (h % 5)
        rows += month_cases(f"N{h:02d}", 3, cc=5 + h % 4, low=1 + h % 2, rw=rw)
    rows += month_cases("X", 3, cc=25, low=12, rw=x_rw, self_share="0.28")
    return rows


@pytest.mark.parametrize("others_rw", [1.0, None])
def test_anomaly_never_reads_or_prints_a_missing_cmi(others_rw: float | None) -> None:
    params = DetectorParams.from_data({"anomaly_contamination": 0.05})
    [f] = only(post_audit(frame(_region(None, others_rw)), None, params), "DRG-ANOMALY")
    assert f["hospital_code"] == "X"
    assert "CMI" not in f["vola_cont"]  # not among the named features
    assert f"本月 30 例，{NO_CMI}，CC/MCC 占比 83.3%" in f["vola_evid"]
    scored = hospital_month_features(frame(_region(None, others_rw)), None, params)
    assert scored["score"].null_count() == 0
    [x] = scored.filter(pl.col("hospital_code") == "X")["top_features"].to_list()
    assert x and "CMI" not in x


def test_anomaly_cmi_of_a_weightless_row_is_neutral() -> None:
    # X's CMI filled in with the others' mean: the same score as X at that mean CMI
    params = DetectorParams()
    hm = hospital_month_features(frame(_region(None)), None, params)
    mean = hm.filter(pl.col("hospital_code") != "X")["cmi"].mean()
    assert isinstance(mean, float)
    same = hospital_month_features(frame(_region(mean)), None, params)
    assert hm["score"].to_list() == pytest.approx(same["score"].to_list())
