"""Hospital-month features and the hospital-month detectors: upcoding (高套 / 低码高编),
low-multiplier rate (服务不足), cost-shifting rate, self-pay share.

Features per (hospital_code, period): ``cases``, ``rw_n`` (cases with a relative
weight), ``cmi`` (Σ RW ÷ ``rw_n``: measure's definition, only cases whose DRG has a
weight count; null when no case has one, never 0), ``cc_share`` (cases with CC or
MCC), ``mcc_share``, ``low_rate``, ``high_rate``, ``self_pay_share`` (Σ self-pay ÷ Σ
total cost), ``readmit_rate`` (cases that are a flagged readmission), ``shift_rate``
(cases with outpatient spending in the windows; null without outpatient data),
``avg_cost`` (yuan), ``avg_los``.  History: sums over the hospital's previous
``history_months`` months (``hist_*``, ``hist_rw_n`` the weighted cases).  Peers:
leave-one-out statistics among hospitals of the same level in the month with at least
``min_cases`` cases (:func:`peer_stats`).  ``hospital_level`` of a hospital-month is
the largest level code among its cases.

CMI comparisons (against the hospital's history, against peers, and the anomaly score's
CMI input) use a month only when at least ``min_cases`` of its cases have a weight, and
a history only when at least ``min_history_cases`` of its cases have one; otherwise the
CMI is not compared and the evidence says so (without a weight: ``CMI 无权重``).
"""

from __future__ import annotations

from typing import Any, Final

import polars as pl

from yibao.engines.audit.detectors_frames import Emitted, dec, emit, pct, peer_stats, yuan_of
from yibao.engines.audit.detectors_params import DetectorParams

#: feature → 中文名 (also the anomaly score's inputs, in this order)
FEATURES: Final[dict[str, str]] = {
    "cmi": "CMI",
    "cc_share": "CC/MCC 病例占比",
    "low_rate": "低倍率病例占比",
    "high_rate": "高倍率病例占比",
    "self_pay_share": "自费比例",
    "readmit_rate": "再入院率",
    "shift_rate": "院前院后门诊病例占比",
    "avg_cost": "例均费用",
    "avg_los": "平均住院日",
}
_PEERS: Final = ("cmi", "cc_share", "low_rate", "shift_rate")
Row = dict[str, Any]
#: the CMI of a hospital-month none of whose cases has a relative weight
NO_WEIGHT: Final = "无权重（无适用的支付标准）"
#: thresholds compare with this slack, so 30 % − 20 % counts as a 10 % jump
EPS: Final = 1e-9


def hospital_months(x: pl.DataFrame, p: DetectorParams, with_shift: bool) -> pl.DataFrame:
    """Features, history sums and peer statistics per hospital-month of the prepared
    cases ``x`` (with ``readmit`` and, when ``with_shift``, ``shift_fen``), sorted by
    (period, hospital_code)."""
    shift = pl.col("shift_fen") if with_shift else pl.lit(0, pl.Int64)
    hm = (
        x.group_by("hospital_code", "period", "midx")
        .agg(
            pl.col("hospital_level").max(),
            pl.len().cast(pl.Int64).alias("cases"),
            pl.col("rw").is_not_null().sum().cast(pl.Int64).alias("rw_n"),
            pl.col("rw").sum().alias("rw_sum"),
            pl.col("cc").sum().cast(pl.Int64).alias("cc_n"),
            pl.col("mcc").sum().cast(pl.Int64).alias("mcc_n"),
            pl.col("low").sum().cast(pl.Int64).alias("low_n"),
            pl.col("high").sum().cast(pl.Int64).alias("high_n"),
            pl.col("readmit").sum().cast(pl.Int64).alias("readmit_n"),
            pl.col("self").sum().alias("self_fen"),
            pl.col("cost").sum().alias("cost_fen"),
            pl.col("los_days").sum().alias("los_sum"),
            (shift > 0).sum().cast(pl.Int64).alias("shift_n"),
            shift.sum().alias("shift_fen"),
        )
        .sort("period", "hospital_code")
    )
    n = pl.col("cases")
    hm = hm.with_columns(
        pl.when(pl.col("rw_n") > 0).then(pl.col("rw_sum") / pl.col("rw_n")).alias("cmi"),
        (pl.col("cc_n") / n).alias("cc_share"),
        (pl.col("mcc_n") / n).alias("mcc_share"),
        (pl.col("low_n") / n).alias("low_rate"),
        (pl.col("high_n") / n).alias("high_rate"),
        (pl.col("self_fen") / pl.col("cost_fen").clip(lower_bound=1)).alias("self_pay_share"),
        (pl.col("readmit_n") / n).alias("readmit_rate"),
        (pl.col("shift_n") / n if with_shift else pl.lit(None, pl.Float64)).alias("shift_rate"),
        (pl.col("cost_fen") / n / 100).alias("avg_cost"),
        (pl.col("los_sum") / n).alias("avg_los"),
    )
    hm = _history(hm, p.history_months)
    eligible = pl.col("cases") >= p.min_cases
    for col in _PEERS:
        ok = eligible & cmi_comparable(p) if col == "cmi" else eligible
        hm = peer_stats(hm, col, ok, p.peer_std_floor)
    return hm.sort("period", "hospital_code")


def _history(hm: pl.DataFrame, months: int) -> pl.DataFrame:
    past = hm.select(
        "hospital_code",
        pl.col("midx").alias("h_midx"),
        pl.col("cases").alias("h_cases"),
        "rw_sum",
        "rw_n",
        "cc_n",
        "shift_fen",
    )
    hist = (
        hm.select("hospital_code", "period", "midx")
        .join(past, on="hospital_code")
        .filter((pl.col("h_midx") < pl.col("midx")) & (pl.col("h_midx") >= pl.col("midx") - months))
        .group_by("hospital_code", "period")
        .agg(
            pl.len().cast(pl.Int64).alias("hist_months"),
            pl.col("h_cases").sum().alias("hist_cases"),
            pl.col("rw_sum").sum().alias("hist_rw"),
            pl.col("rw_n").sum().alias("hist_rw_n"),
            pl.col("cc_n").sum().alias("hist_cc"),
            pl.col("shift_fen").sum().alias("hist_shift_fen"),
        )
    )
    return hm.join(hist, on=["hospital_code", "period"], how="left").with_columns(
        pl.col("hist_months", "hist_cases", "hist_rw_n", "hist_cc", "hist_shift_fen").fill_null(0),
        pl.col("hist_rw").fill_null(0.0),
    )


def month_findings(
    hm: pl.DataFrame, p: DetectorParams, months: list[str], with_shift: bool
) -> list[Emitted]:
    """Findings of the hospital-month detectors on the audited ``months``."""
    rows = hm.filter(pl.col("period").is_in(months) & (pl.col("cases") >= p.min_cases))
    out: list[Emitted] = []
    for r in rows.iter_rows(named=True):
        where = (r["hospital_code"], r["period"])
        head = f"{r['hospital_code']}（{r['hospital_level']} 级）{r['period']}"
        upcode = _upcoding(r, p, head)
        if upcode:
            out.append(emit("DRG-UPCODE", p.version, where=where, texts=upcode))
        for rule_id, col, what in (
            ("DRG-LOWMULT", "low_rate", "低倍率病例占比"),
            ("DRG-SHIFT-RATE", "shift_rate", "入院前后门诊就诊病例占比"),
        ):
            if col == "shift_rate" and not with_shift:
                continue
            texts = _rate_vs_peers(r, p, col, what, head)
            if texts:
                out.append(emit(rule_id, p.version, where=where, texts=texts))
        if r["self_pay_share"] > p.self_pay_month_share:
            out.append(
                emit("DRG-SELFPAY-RATE", p.version, where=where, texts=_self_pay(r, p, head))
            )
    return out


def _peer_hit(r: Row, col: str, p: DetectorParams, excess: bool) -> bool:
    z, peers, mean, value = r[f"{col}_z"], r[f"{col}_peers"], r[f"{col}_peer_mean"], r[col]
    if z is None or mean is None or value is None:
        return False
    return bool(
        peers >= p.min_peers
        and z >= p.peer_z - EPS
        and (not excess or value - mean >= p.min_rate_excess - EPS)
    )


def _peer_words(r: Row, col: str, fmt: str) -> str:
    mean, std, z = r[f"{col}_peer_mean"], r[f"{col}_peer_std"], r[f"{col}_z"]
    if mean is None or std is None or z is None:
        return f"同级医院不足（{r[f'{col}_peers']} 家），未比较"
    show = pct if fmt == "pct" else lambda v: dec(v, 4)
    return f"同级 {r[f'{col}_peers']} 家医院均值 {show(mean)}，标准差 {show(std)}，z 值 {dec(z)}"


def cmi_comparable(p: DetectorParams) -> pl.Expr:
    """Whether a hospital-month's CMI rests on enough weighted cases to be compared."""
    return pl.col("rw_n") >= p.min_cases


def cmi_words(cmi: float | None, weighted: int, cases: int) -> str:
    """The CMI for the evidence: ``CMI 1.2345``, with the weighted cases when not all
    have a weight, ``CMI 无权重（…）`` when none has (never a CMI of 0)."""
    if cmi is None or weighted == 0:
        return f"CMI {NO_WEIGHT}"
    if weighted < cases:
        return f"CMI {dec(cmi, 4)}（按有权重的 {weighted} 例计）"
    return f"CMI {dec(cmi, 4)}"


def _history_words(r: Row, p: DetectorParams) -> str:
    cases, weighted = int(r["hist_cases"]), int(r["hist_rw_n"])
    base_cmi = float(r["hist_rw"]) / weighted if weighted else None
    cmi = cmi_words(base_cmi, weighted, cases)
    if base_cmi is not None and weighted < p.min_history_cases:
        cmi = (
            f"CMI {dec(base_cmi, 4)}（有权重的仅 {weighted} 例，"
            f"不足 {p.min_history_cases} 例，未与自身比较）"
        )
    return (
        f"前 {r['hist_months']} 个月（{cases} 例）{cmi}、"
        f"CC/MCC 占比 {pct(int(r['hist_cc']) / cases)}"
    )


def _cmi_peer_words(r: Row, p: DetectorParams) -> str:
    weighted = int(r["rw_n"])
    if weighted >= p.min_cases:
        return _peer_words(r, "cmi", "num")
    if weighted == 0:
        return "本月病例均无权重，未比较"
    return f"本月有权重病例 {weighted} 例（需 {p.min_cases} 例），未比较"


# long: the history and peer tests of CMI and CC/MCC share, then the two texts
def _upcoding(r: Row, p: DetectorParams, head: str) -> tuple[str, str] | None:
    cc, cases = float(r["cc_share"]), int(r["cases"])
    cmi = None if r["cmi"] is None or int(r["rw_n"]) < p.min_cases else float(r["cmi"])
    hist_cases, hist_weighted = int(r["hist_cases"]), int(r["hist_rw_n"])
    reasons: list[str] = []
    if hist_cases >= p.min_history_cases:
        base_cc = int(r["hist_cc"]) / hist_cases
        hist = _history_words(r, p)
        base_cmi = float(r["hist_rw"]) / max(hist_weighted, 1)
        if (
            cmi is not None
            and hist_weighted >= p.min_history_cases
            and base_cmi > 0
            and cmi / base_cmi >= p.cmi_jump_ratio - EPS
        ):
            reasons.append(
                f"CMI 较前期上升至 {dec(cmi / base_cmi, 4)} 倍（阈值 {p.cmi_jump_ratio}）"
            )
        if cc - base_cc >= p.cc_share_jump - EPS:
            reasons.append(
                f"CC/MCC 占比较前期上升 {pct(cc - base_cc)}（阈值 {pct(p.cc_share_jump)}）"
            )
    else:
        hist = f"前期病例不足（{hist_cases} 例，需 {p.min_history_cases} 例），未与自身比较"
    if cmi is not None and _peer_hit(r, "cmi", p, excess=False):
        reasons.append(f"CMI 高于同级医院（z 值 {dec(float(r['cmi_z']))}，阈值 {p.peer_z}）")
    if _peer_hit(r, "cc_share", p, excess=True):
        reasons.append(
            f"CC/MCC 占比高于同级医院（z 值 {dec(float(r['cc_share_z']))}，阈值 {p.peer_z}）"
        )
    if not reasons:
        return None
    cont = f"{head} 疑似高套分组：" + "；".join(reasons)
    evid = (
        f"本月 {cases} 例，{cmi_words(r['cmi'], int(r['rw_n']), cases)}，CC/MCC 占比 {pct(cc)}"
        f"（其中 MCC {pct(float(r['mcc_share']))}）；{hist}；"
        f"CMI：{_cmi_peer_words(r, p)}；CC/MCC 占比：{_peer_words(r, 'cc_share', 'pct')}"
    )
    return cont, evid


def _rate_vs_peers(
    r: Row, p: DetectorParams, col: str, what: str, head: str
) -> tuple[str, str] | None:
    if not _peer_hit(r, col, p, excess=True):
        return None
    value, mean = float(r[col]), float(r[f"{col}_peer_mean"])
    count = r["low_n"] if col == "low_rate" else r["shift_n"]
    cont = (
        f"{head} {what} {pct(value)}，高于同级医院均值 {pct(mean)}"
        f"（z 值 {dec(float(r[f'{col}_z']))}，阈值 {p.peer_z}）"
    )
    evid = (
        f"本月 {r['cases']} 例，其中 {count} 例；{_peer_words(r, col, 'pct')}；"
        f"至少高出均值 {pct(p.min_rate_excess)}，每家医院至少 {p.min_cases} 例、"
        f"同级至少 {p.min_peers} 家"
    )
    return cont, evid


def _self_pay(r: Row, p: DetectorParams, head: str) -> tuple[str, str]:
    share = float(r["self_pay_share"])
    cont = f"{head} 自费比例 {pct(share)}，超过阈值 {pct(p.self_pay_month_share)}"
    evid = (
        f"本月 {r['cases']} 例，医疗总费用 {yuan_of(r['cost_fen'])} 元，"
        f"自费 {yuan_of(r['self_fen'])} 元"
    )
    return cont, evid
