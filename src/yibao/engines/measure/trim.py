"""Outlier trimming per DRG × year before the weights (domain.md §1.2)."""

from __future__ import annotations

from typing import NamedTuple

import polars as pl

from yibao.engines.measure.frames import require, yuan
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


def _statistics(params: TrimParams) -> tuple[list[pl.Expr], pl.Expr, pl.Expr]:
    """(aggregations, lower fence, upper fence) of the method, in yuan."""
    x = yuan("total_cost")
    if params.method == "iqr":
        q1, q3 = pl.col("q1"), pl.col("q3")
        kl, ku = float(params.iqr_lower_k), float(params.iqr_upper_k)
        aggs = [x.quantile(0.25, "linear").alias("q1"), x.quantile(0.75, "linear").alias("q3")]
        return aggs, q1 - kl * (q3 - q1), q3 + ku * (q3 - q1)
    if params.method == "log_sd":
        # sorted before summing, so the statistics do not depend on the row order
        ln = x.clip(lower_bound=0.01).log().sort()
        m, s, k = pl.col("mean_log"), pl.col("sd_log"), float(params.sd_k)
        aggs = [ln.mean().alias("mean_log"), ln.std(ddof=1).alias("sd_log")]
        return aggs, (m - k * s).exp(), (m + k * s).exp()
    if params.method == "percentile":
        lo, hi = float(params.lower_percentile) / 100, float(params.upper_percentile) / 100
        aggs = [x.quantile(lo, "linear").alias("p_low"), x.quantile(hi, "linear").alias("p_high")]
        return aggs, pl.col("p_low"), pl.col("p_high")
    none = pl.lit(None, dtype=pl.Float64)
    return [], none, none


def trim_outliers(cases: pl.DataFrame, params: TrimParams | None = None) -> TrimResult:
    """Trim cost outliers per DRG × year with the method of ``params``.

    A case is trimmed when its cost is strictly below the lower fence or strictly
    above the upper fence of its DRG and year (equal values are kept).  Default:
    Q1 − 0.5·IQR / Q3 + 1.5·IQR, the best method of the study S2 [S]; ``log_sd``
    and ``percentile`` are the other common methods [M].  Quantiles interpolate
    linearly between order statistics, so fences depend only on the set of costs.

    >>> kept, trimmed, fences = trim_outliers(base, TrimParams(method="iqr"))  # doctest: +SKIP
    """
    params = params or TrimParams()
    require(cases, ("drg", "year", "total_cost"), "trim_outliers")
    aggs, lower, upper = _statistics(params)
    applied = pl.col("cases") >= params.min_cases
    fences = (
        cases.group_by(_KEYS)
        .agg(pl.len().cast(pl.Int64).alias("cases"), *aggs)
        .with_columns(applied.alias("applied"))
        .with_columns(
            pl.when(applied).then(lower).alias("lower"),
            pl.when(applied).then(upper).alias("upper"),
        )
    )
    x = yuan("total_cost")
    side = (
        pl.when(x < pl.col("lower"))
        .then(pl.lit("low"))
        .when(x > pl.col("upper"))
        .then(pl.lit("high"))
        .otherwise(pl.lit(None, dtype=pl.String))
    )
    tagged = cases.join(
        fences.select(*_KEYS, "lower", "upper"), on=_KEYS, how="left", maintain_order="left"
    ).with_columns(side.alias("trim_side"))
    is_kept = pl.col("trim_side").is_null()
    kept = tagged.filter(is_kept).select(cases.columns)
    trimmed = tagged.filter(~is_kept)
    counts = trimmed.group_by(_KEYS).agg(
        (pl.col("trim_side") == "low").sum().cast(pl.Int64).alias("below"),
        (pl.col("trim_side") == "high").sum().cast(pl.Int64).alias("above"),
    )
    fences = (
        fences.join(counts, on=_KEYS, how="left")
        .with_columns(pl.col("below", "above").fill_null(0))
        .with_columns((pl.col("cases") - pl.col("below") - pl.col("above")).alias("kept"))
        .sort(_KEYS)
    )
    return TrimResult(kept, trimmed, fences)
