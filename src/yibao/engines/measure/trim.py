"""Outlier trimming per DRG × year before the weights (domain.md §1.2)."""

from __future__ import annotations

import math
from fractions import Fraction
from typing import NamedTuple

import polars as pl

from yibao.engines.measure.frames import fen, require, yuan
from yibao.engines.measure.params import TrimParams

_KEYS = ["drg", "year"]


class TrimResult(NamedTuple):
    """Output of :func:`trim_outliers`.

    ``kept``: cases inside their fences (input columns, input order).
    ``trimmed``: the others, with ``trim_side`` (``"low"`` / ``"high"``) and the
    group's ``lower`` / ``upper`` fences (yuan).  ``fences``: one row per DRG × year,
    sorted: ``drg``, ``year``, ``cases``, ``applied`` (false when the group has fewer
    than ``min_cases``), the method's statistics (``q1``/``q3``, ``mean_log``/
    ``sd_log`` or ``p_low``/``p_high``), ``lower``, ``upper``, ``below``, ``above``,
    ``kept``.
    """

    kept: pl.DataFrame
    trimmed: pl.DataFrame
    fences: pl.DataFrame


def _quantile_points(params: TrimParams) -> dict[str, Fraction]:
    """The quantiles a method needs, as exact fractions (0.25 = 1/4, 2.5 % = 1/40)."""
    if params.method == "iqr":
        return {"q1": Fraction(1, 4), "q3": Fraction(3, 4)}
    if params.method == "percentile":
        return {
            "p_low": Fraction(params.lower_percentile) / 100,
            "p_high": Fraction(params.upper_percentile) / 100,
        }
    return {}


def _order_stats(name: str, p: Fraction) -> list[pl.Expr]:
    """The two order statistics (fen) around the linear quantile at (n − 1)·p, and the
    interpolation step: Q = x[i] + r/d · (x[i+1] − x[i]) with i, r from (n − 1)·p."""
    n = pl.len().cast(pl.Int64)
    pos = (n - 1) * p.numerator
    i = pos // p.denominator
    sorted_fen = fen("total_cost").sort()
    return [
        sorted_fen.get(i).alias(f"_{name}_a"),
        sorted_fen.get(pl.min_horizontal(i + 1, n - 1)).alias(f"_{name}_b"),
        (pos % p.denominator).alias(f"_{name}_r"),
    ]


def _statistics(params: TrimParams) -> list[pl.Expr]:
    """Aggregations of the method: the exact order statistics of its quantiles, or the
    log statistics (``mean_log``, ``sd_log``)."""
    if params.method == "log_sd":
        # sorted before summing, so the statistics do not depend on the row order
        ln = yuan("total_cost").clip(lower_bound=0.01).log().sort()
        return [ln.mean().alias("mean_log"), ln.std(ddof=1).alias("sd_log")]
    aggs: list[pl.Expr] = []
    for name, p in _quantile_points(params).items():
        aggs += _order_stats(name, p)
    return aggs


def _exact_fences(row: dict[str, object], params: TrimParams) -> tuple[object, ...]:
    """One group's quantiles (yuan, for display) and its fences as whole fen: a case is
    kept when ``lower_fen`` ≤ cost ≤ ``upper_fen`` — exact, since costs are whole fen
    (cost ≥ L ⇔ cost ≥ ⌈L⌉, cost ≤ U ⇔ cost ≤ ⌊U⌋)."""
    q: dict[str, Fraction] = {}
    for name, p in _quantile_points(params).items():
        a, b, r = (int(str(row[f"_{name}_{k}"])) for k in ("a", "b", "r"))
        q[name] = a + Fraction(r, p.denominator) * (b - a)
    if params.method == "iqr":
        spread = q["q3"] - q["q1"]
        low = q["q1"] - Fraction(params.iqr_lower_k) * spread
        high = q["q3"] + Fraction(params.iqr_upper_k) * spread
    else:
        low, high = q["p_low"], q["p_high"]
    shown = tuple(float(v) / 100 for v in q.values())
    return (*shown, float(low) / 100, float(high) / 100, math.ceil(low), math.floor(high))


def _log_fences(params: TrimParams) -> tuple[pl.Expr, pl.Expr]:
    k = float(params.sd_k)
    return pl.col("mean_log") - k * pl.col("sd_log"), pl.col("mean_log") + k * pl.col("sd_log")


#: log-space tolerance: a cost whose logarithm is this close to a log_sd fence is on
#: the fence, and kept (the fences of that method are not rational numbers)
LOG_TOLERANCE = 1e-12


# long: the trimming methods share one per-DRG×year pass; splitting would repeat the grouping
def trim_outliers(cases: pl.DataFrame, params: TrimParams | None = None) -> TrimResult:
    """Trim cost outliers per DRG × year with the method of ``params``.

    A case is trimmed when its cost is strictly below the lower fence or strictly
    above the upper fence of its DRG and year (a case exactly on a fence is kept).
    Default: Q1 − 0.5·IQR / Q3 + 1.5·IQR, the best method of the study S2 [S];
    ``log_sd`` and ``percentile`` are the other common methods [M].  Quantiles
    interpolate linearly between order statistics, so fences depend only on the set of
    costs.  The quantile methods decide exactly (fractions of whole fen, no floating
    point); ``log_sd`` compares logarithms, a cost within :data:`LOG_TOLERANCE` of a
    fence counting as on it.

    >>> kept, trimmed, fences = trim_outliers(base, TrimParams(method="iqr"))  # doctest: +SKIP
    """
    params = params or TrimParams()
    require(cases, ("drg", "year", "total_cost"), "trim_outliers")
    applied = pl.col("cases") >= params.min_cases
    grouped = (
        cases.group_by(_KEYS)
        .agg(pl.len().cast(pl.Int64).alias("cases"), *_statistics(params))
        .with_columns(applied.alias("applied"))
    )
    none_f = pl.lit(None, dtype=pl.Float64)
    if params.method == "log_sd":
        lo_log, hi_log = _log_fences(params)
        fences = grouped.with_columns(
            pl.when(applied).then(lo_log.exp()).otherwise(none_f).alias("lower"),
            pl.when(applied).then(hi_log.exp()).otherwise(none_f).alias("upper"),
            pl.when(applied).then(lo_log).otherwise(none_f).alias("_lo_log"),
            pl.when(applied).then(hi_log).otherwise(none_f).alias("_hi_log"),
        )
        x = yuan("total_cost").clip(lower_bound=0.01).log()
        tol = pl.lit(LOG_TOLERANCE) * pl.max_horizontal(pl.lit(1.0), x.abs())
        below, above = x < pl.col("_lo_log") - tol, x > pl.col("_hi_log") + tol
        decide = ["_lo_log", "_hi_log"]
    elif params.method == "none":
        fences = grouped.with_columns(none_f.alias("lower"), none_f.alias("upper"))
        below = above = pl.lit(False)
        decide = []
    else:
        names = list(_quantile_points(params))
        computed = []
        for row in grouped.iter_rows(named=True):
            values = _exact_fences(row, params)
            if not row["applied"]:  # statistics shown, no fences
                values = (*values[: len(names)], None, None, None, None)
            computed.append(values)
        columns = [*names, "lower", "upper", "_lo_fen", "_hi_fen"]
        types = [pl.Float64] * (len(names) + 2) + [pl.Int64, pl.Int64]
        extra = pl.DataFrame(computed, schema=dict(zip(columns, types, strict=True)), orient="row")
        helper = [c for c in grouped.columns if c.startswith("_")]
        fences = grouped.drop(helper).hstack(extra)
        cost = fen("total_cost")
        below, above = cost < pl.col("_lo_fen"), cost > pl.col("_hi_fen")
        decide = ["_lo_fen", "_hi_fen"]
    side = (
        pl.when(below)
        .then(pl.lit("low"))
        .when(above)
        .then(pl.lit("high"))
        .otherwise(pl.lit(None, dtype=pl.String))
    )
    tagged = cases.join(
        fences.select(*_KEYS, "lower", "upper", *decide),
        on=_KEYS,
        how="left",
        maintain_order="left",
    ).with_columns(side.alias("trim_side"))
    is_kept = pl.col("trim_side").is_null()
    kept = tagged.filter(is_kept).select(cases.columns)
    trimmed = tagged.filter(~is_kept).drop(decide)
    counts = trimmed.group_by(_KEYS).agg(
        (pl.col("trim_side") == "low").sum().cast(pl.Int64).alias("below"),
        (pl.col("trim_side") == "high").sum().cast(pl.Int64).alias("above"),
    )
    fences = (
        fences.drop(decide)
        .join(counts, on=_KEYS, how="left")
        .with_columns(pl.col("below", "above").fill_null(0))
        .with_columns((pl.col("cases") - pl.col("below") - pl.col("above")).alias("kept"))
        .sort(_KEYS)
    )
    return TrimResult(kept, trimmed, fences)
