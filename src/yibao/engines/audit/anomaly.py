"""Anomaly score per hospital-month (``DRG-ANOMALY``): scikit-learn's IsolationForest
over the hospital-month features (:data:`FEATURES`; ``shift_rate`` only with outpatient
data), fitted on every hospital-month of the frame with at least ``min_cases`` cases,
with a fixed ``random_state`` and one job, so the same frame gives the same scores.

``score`` = −``score_samples`` (0–1, higher is more anomalous; ≈ 0.5 is ordinary).
Among the audited months' scored rows the top ``anomaly_contamination`` share (at least
one row) with ``score ≥ anomaly_min_score`` get a finding.  The features named in it
are those with the largest |z| (the row's feature against the mean and standard
deviation of all fitted rows): a reading aid, not the forest's own attribution.

CMI: a row whose CMI is not comparable (fewer than ``min_cases`` weighted cases,
:func:`~yibao.engines.audit.detectors_months.cmi_comparable`) enters the forest with the
mean CMI of the fitted rows that have one (neutral, z 0) and never names CMI among its
features; when no fitted row has one, CMI is left out of the score.  The evidence never
prints a CMI computed on cases without a weight.
"""

from __future__ import annotations

import math

import numpy as np
import polars as pl

from yibao.engines.audit.detectors_frames import Emitted, dec, emit, pct
from yibao.engines.audit.detectors_months import FEATURES, cmi_comparable, cmi_words
from yibao.engines.audit.detectors_params import DetectorParams

_RATES = frozenset(
    {"cc_share", "low_rate", "high_rate", "self_pay_share", "readmit_rate", "shift_rate"}
)


def feature_names(with_shift: bool) -> list[str]:
    """The features the score reads."""
    return [f for f in FEATURES if with_shift or f != "shift_rate"]


def anomaly_scores(hm: pl.DataFrame, p: DetectorParams, with_shift: bool) -> pl.DataFrame:
    """``hm`` sorted by (period, hospital_code) with ``score`` (null for rows with fewer
    than ``min_cases`` cases, or all rows when fewer than ``anomaly_min_rows`` qualify)
    and ``top_features`` (Chinese: the most deviating features with value and z)."""
    names = feature_names(with_shift)
    hm = hm.sort("period", "hospital_code").with_row_index("_row")
    fit = hm.filter(pl.col("cases") >= p.min_cases)
    empty = hm.with_columns(
        pl.lit(None, pl.Float64).alias("score"), pl.lit(None, pl.String).alias("top_features")
    ).drop("_row")
    if fit.height < p.anomaly_min_rows:
        return empty
    from sklearn.ensemble import IsolationForest  # here: importing the audit engine stays fast

    fit, names, no_cmi = _neutral_cmi(fit, names, p)
    matrix = fit.select(names).fill_null(0.0).cast(pl.Float64).to_numpy()
    forest = IsolationForest(
        n_estimators=p.anomaly_trees,
        random_state=p.anomaly_random_state,
        n_jobs=1,
    ).fit(matrix)
    scores = -forest.score_samples(matrix)
    mean, std = matrix.mean(axis=0), matrix.std(axis=0)
    z = (matrix - mean) / np.where(std > 0, std, 1.0)
    tops = [
        _top(row, zrow, names, p.anomaly_top_features, skip)
        for row, zrow, skip in zip(matrix, z, no_cmi, strict=True)
    ]
    scored = pl.DataFrame(
        {
            "_row": fit["_row"],
            "score": pl.Series(scores, dtype=pl.Float64),
            "top_features": pl.Series(tops, dtype=pl.String),
        }
    )
    return hm.join(scored, on="_row", how="left").sort("_row").drop("_row")


def _neutral_cmi(
    fit: pl.DataFrame, names: list[str], p: DetectorParams
) -> tuple[pl.DataFrame, list[str], list[bool]]:
    """``fit`` with the CMI of rows without a comparable one set to the mean of the rows
    with one, the features (without CMI when no row has one) and, per row, whether its
    CMI was filled in (module docstring)."""
    ok = cmi_comparable(p) & pl.col("cmi").is_not_null()
    known = fit.filter(ok)["cmi"]
    if known.len() == 0:
        return fit, [n for n in names if n != "cmi"], [True] * fit.height
    filled = fit.with_columns(
        pl.when(ok).then(pl.col("cmi")).otherwise(pl.lit(known.mean())).alias("cmi")
    )
    return filled, names, fit.select((~ok).alias("filled"))["filled"].to_list()


def _top(row: np.ndarray, zrow: np.ndarray, names: list[str], k: int, no_cmi: bool) -> str:
    shown_names = [i for i in range(len(names)) if not (no_cmi and names[i] == "cmi")]
    order = sorted(shown_names, key=lambda i: (-abs(float(zrow[i])), i))[:k]
    parts = []
    for i in order:
        name, value = names[i], float(row[i])
        shown = pct(value) if name in _RATES else dec(value, 4 if name == "cmi" else 2)
        side = "偏高" if zrow[i] > 0 else "偏低"
        parts.append(f"{FEATURES[name]} {shown}（{side}，z 值 {dec(float(zrow[i]))}）")
    return "；".join(parts)


def anomaly_findings(scored: pl.DataFrame, p: DetectorParams, months: list[str]) -> list[Emitted]:
    """``DRG-ANOMALY`` findings of the audited months (module docstring)."""
    rows = scored.filter(pl.col("period").is_in(months) & pl.col("score").is_not_null()).sort(
        ["score", "period", "hospital_code"], descending=[True, False, False]
    )
    if rows.height == 0:
        return []
    limit = max(1, math.ceil(p.anomaly_contamination * rows.height))
    out: list[Emitted] = []
    for rank, r in enumerate(rows.head(limit).iter_rows(named=True), start=1):
        if r["score"] < p.anomaly_min_score:
            break
        cont = (
            f"{r['hospital_code']}（{r['hospital_level']} 级）{r['period']} 综合异常评分 "
            f"{dec(r['score'], 4)}，在 {rows.height} 个医院月中排第 {rank}；"
            f"主要异常指标：{r['top_features']}"
        )
        evid = (
            f"孤立森林（{p.anomaly_trees} 棵树，random_state {p.anomaly_random_state}）"
            f"评分阈值 {p.anomaly_min_score}，取前 {pct(p.anomaly_contamination)}；本月 "
            f"{r['cases']} 例，{cmi_words(r['cmi'], r['rw_n'], r['cases'])}，"
            f"CC/MCC 占比 {pct(r['cc_share'])}，"
            f"低倍率 {pct(r['low_rate'])}，高倍率 {pct(r['high_rate'])}，"
            f"自费比例 {pct(r['self_pay_share'])}，再入院率 {pct(r['readmit_rate'])}，"
            f"例均费用 {dec(r['avg_cost'])} 元，平均住院日 {dec(r['avg_los'])} 天"
        )
        out.append(
            emit(
                "DRG-ANOMALY",
                p.version,
                where=(r["hospital_code"], r["period"]),
                texts=(cont, evid),
            )
        )
    return out
