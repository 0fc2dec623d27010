"""Relative weights (RW) from historical costs, with year weights and fallbacks.

RW(DRG) = DRG average cost ÷ all-case average cost (domain.md §1.2, S1), each
average being the year-weighted mean of the yearly average costs:

    M_g = Σ_y w_y · S_gy / n_gy  ÷  Σ_y w_y        (years y in which g has cases)
    M   = Σ_y w_y · S_y  / n_y   ÷  Σ_y w_y        (all cases of the base)
    RW_g = M_g ÷ M, rounded half up to 4 decimals

with S in integer fen and the year weights w as exact decimals, so the published
RW is computed with exact rational arithmetic (``fractions.Fraction``) and does not
depend on row order, thread count or float summation.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from decimal import Decimal
from fractions import Fraction
from typing import Final

import polars as pl

from yibao.engines.caseframe import MONEY
from yibao.engines.measure.base import ExclusionResult, grouping_rate
from yibao.engines.measure.errors import MeasureError
from yibao.engines.measure.frames import fen, require, round_half_up, weight_dtype, yuan
from yibao.engines.measure.params import WeightParams

Key = tuple[str, ...]
#: per group: {year: (cases, cost in fen)}
YearSums = dict[int, tuple[int, int]]

SOURCE_DRG: Final = "drg"
SOURCE_ADRG: Final = "adrg"
SOURCE_FEW: Final = "drg_few"
SOURCE_NONE: Final = "none"
SOURCE_MANUAL: Final = "manual"


def weighted_mean(sums: YearSums, weights: Mapping[int, Fraction]) -> Fraction | None:
    """Σ w_y · S_y / n_y ÷ Σ w_y over years with cases (fen); ``None`` without cases."""
    num, den = Fraction(0), Fraction(0)
    for year, (n, s) in sums.items():
        if n > 0:
            num += weights[year] * Fraction(s, n)
            den += weights[year]
    return num / den if den else None


def year_sums(stats: pl.DataFrame, keys: list[str]) -> dict[Key, YearSums]:
    """Group keys → {year: (cases, fen)} from the per-year statistics."""
    out: dict[Key, YearSums] = {}
    grouped = stats.group_by([*keys, "year"]).agg(pl.col("n").sum(), pl.col("fen").sum())
    for row in grouped.sort([*keys, "year"]).iter_rows(named=True):
        key = tuple(str(row[k]) for k in keys)
        out.setdefault(key, {})[int(row["year"])] = (int(row["n"]), int(row["fen"]))
    return out


def _years(cases: pl.DataFrame, params: WeightParams) -> list[int]:
    if params.years is not None:
        return list(params.years)
    years = sorted(int(y) for y in cases["year"].drop_nulls().unique().to_list())
    if len(years) != len(params.year_weights):
        raise MeasureError(
            f"WeightParams.year_weights：病例有 {len(years)} 个年度"
            f"（{'、'.join(map(str, years))}），"
            f"年度权重有 {len(params.year_weights)} 个，须一一对应（或用 years 指定年度）",
            field="year_weights",
        )
    return years


def _year_stats(cases: pl.DataFrame) -> pl.DataFrame:
    """Per mdc × adrg × drg × year: n, fen (exact sum), mean and variance (yuan)."""
    x = yuan("total_cost")
    return (
        cases.group_by("mdc", "adrg", "drg", "year")
        .agg(
            pl.len().cast(pl.Int64).alias("n"),
            fen("total_cost").sum().alias("fen"),
            x.var(ddof=1).alias("var"),
        )
        .sort("drg", "year")
    )


def _cv(stats: pl.DataFrame) -> pl.DataFrame:
    """Pooled CV (SD ÷ mean over all years, ddof 1) per DRG from yearly (n, sum, var)."""
    mean_y = pl.col("fen") / pl.col("n") / 100.0
    pooled = (
        stats.with_columns(mean_y.alias("m_y"))
        .with_columns(
            (pl.col("fen").sum().over("drg") / pl.col("n").sum().over("drg") / 100.0).alias("m")
        )
        .with_columns(
            (
                (pl.col("n") - 1) * pl.col("var").fill_null(0.0)
                + pl.col("n") * (pl.col("m_y") - pl.col("m")) ** 2
            ).alias("ss")
        )
        .group_by("drg")
        .agg(pl.col("ss").sum(), pl.col("n").sum(), pl.col("m").first())
    )
    sd = (pl.col("ss") / (pl.col("n") - 1)).sqrt()
    return pooled.select(
        "drg", pl.when(pl.col("n") > 1).then(sd / pl.col("m")).round(4).alias("cv")
    )


def _choose(
    drg_sums: YearSums,
    adrg_sums: YearSums | None,
    params: WeightParams,
    adrg: str,
) -> tuple[YearSums | None, str, str]:
    """(sums to use, rw_source, Chinese note) for one DRG."""
    n = sum(c for c, _ in drg_sums.values())
    if n >= params.min_cases:
        return drg_sums, SOURCE_DRG, ""
    why = f"病例数 {n} < {params.min_cases}"
    if params.fallback == "adrg" and adrg_sums is not None:
        n_adrg = sum(c for c, _ in adrg_sums.values())
        if n_adrg >= params.min_cases:
            return adrg_sums, SOURCE_ADRG, f"{why}，采用 ADRG {adrg}（{n_adrg} 例）的权重"
        why += f"，ADRG {adrg} 也只有 {n_adrg} 例"
    if n == 0:
        return None, SOURCE_NONE, f"{why}，无历史数据，须人工设定"
    return drg_sums, SOURCE_FEW, f"{why}，按本组少量病例计算，须人工复核"


def relative_weights(
    cases: pl.DataFrame,
    params: WeightParams | None = None,
    *,
    catalogue: pl.DataFrame | None = None,
) -> pl.DataFrame:
    """Relative weight per DRG from a (trimmed) case base.

    Formula and exactness: see the module docstring (domain.md §1.2; year weights
    1:2:7 of S15 reused for DRG [M]).  ``catalogue`` (``mdc``, ``adrg``, ``drg``) adds
    the plan's DRGs without cases, which then fall back to their ADRG or are
    flagged.  Cases of years not in ``params.years`` are ignored.

    Returns one row per DRG sorted by ``drg``: ``mdc``, ``adrg``, ``drg``, ``cases``,
    ``n_<year>`` per year (oldest first), ``volume`` (cases of the newest year: the
    reference volume for budget neutrality), ``mean_cost`` (year-weighted mean of the
    DRG's own cases, ``Decimal(18, 2)``), ``cv`` (pooled SD ÷ mean, 4 decimals),
    ``relative_weight`` (``Decimal(18, 4)``, null when nothing to compute it from),
    ``rw_source`` (``drg`` / ``adrg`` / ``drg_few`` / ``none``), ``needs_review``,
    ``note`` (Chinese).
    """
    params = params or WeightParams()
    require(cases, ("mdc", "adrg", "drg", "year", "total_cost"), "relative_weights")
    years = _years(cases, params)
    base = cases.filter(pl.col("year").is_in(years))
    if base.height == 0:
        raise MeasureError("relative_weights：所选年度没有病例，无法计算权重", field="years")
    stats = _year_stats(base)
    schema = _schema(years)
    rows = _weight_rows(stats, years, params, _catalogue_keys(catalogue))
    frame = pl.DataFrame(rows, schema={k: v for k, v in schema.items() if k != "cv"}, orient="row")
    return frame.join(_cv(stats), on="drg", how="left", maintain_order="left").select(list(schema))


def _schema(years: list[int]) -> dict[str, pl.DataType | type[pl.DataType]]:
    """Columns of the weights frame, in order."""
    return {
        "mdc": pl.String,
        "adrg": pl.String,
        "drg": pl.String,
        **dict.fromkeys((f"n_{y}" for y in years), pl.Int64),
        "cases": pl.Int64,
        "volume": pl.Int64,
        "mean_cost": MONEY,
        "cv": pl.Float64,
        "relative_weight": weight_dtype(),
        "rw_source": pl.String,
        "needs_review": pl.Boolean,
        "note": pl.String,
    }


def _weight_rows(
    stats: pl.DataFrame,
    years: list[int],
    params: WeightParams,
    catalogue: Iterable[tuple[str, str, str]],
) -> list[dict[str, object]]:
    """One dict per DRG (sorted) with the exact RW, its source and counts."""
    w = {y: Fraction(wy) for y, wy in zip(years, params.year_weights, strict=True)}
    overall = weighted_mean(year_sums(stats, [])[()], w)
    assert overall is not None and overall > 0, "the case base has cost"
    drgs = year_sums(stats, ["mdc", "adrg", "drg"])
    adrgs = year_sums(stats, ["mdc", "adrg"])
    for key in catalogue:
        drgs.setdefault(key, {})
    rows: list[dict[str, object]] = []
    for (mdc, adrg, drg), sums in sorted(drgs.items(), key=lambda kv: (kv[0][2], kv[0])):
        chosen, source, note = _choose(sums, adrgs.get((mdc, adrg)), params, adrg)
        mean = weighted_mean(chosen, w) if chosen else None
        own = weighted_mean(sums, w)
        rows.append(
            {
                "mdc": mdc,
                "adrg": adrg,
                "drg": drg,
                **{f"n_{y}": sums.get(y, (0, 0))[0] for y in years},
                "cases": sum(c for c, _ in sums.values()),
                "volume": sums.get(years[-1], (0, 0))[0],
                "mean_cost": round_half_up(own / 100, 2) if own is not None else None,
                "relative_weight": round_half_up(mean / overall, 4) if mean is not None else None,
                "rw_source": source,
                "needs_review": source in (SOURCE_FEW, SOURCE_NONE),
                "note": note,
            }
        )
    return rows


def _catalogue_keys(catalogue: pl.DataFrame | None) -> Iterable[tuple[str, str, str]]:
    if catalogue is None:
        return []
    require(catalogue, ("mdc", "adrg", "drg"), "relative_weights(catalogue)")
    return [
        (str(m), str(a), str(d)) for m, a, d in catalogue.select("mdc", "adrg", "drg").iter_rows()
    ]


@dataclass(frozen=True, slots=True)
class QualityReport:
    """Grouping-quality figures shown next to the weights.

    ``riv``: reduction in variance of cost explained by the DRGs, 1 − SSW ÷ SST
    (all cases of the base pooled); ``drgs_cv_below_1``: DRGs whose CV < 1;
    ``mean_rw``: Σ cases × RW ÷ Σ cases (≈ 1); ``grouping_rate`` (入组率) =
    ``grouped`` ÷ ``eligible`` when the exclusion result is given (S14 [S]).
    """

    cases: int
    drgs: int
    riv: float | None
    drgs_cv_below_1: int
    flagged_drgs: int
    mean_rw: Decimal | None
    grouped: int | None = None
    eligible: int | None = None
    grouping_rate: Decimal | None = None


def _riv(cases: pl.DataFrame) -> float | None:
    """1 − within-DRG SS ÷ total SS (yuan), from per-DRG n, mean and variance."""
    x = yuan("total_cost")
    per = (
        cases.group_by("drg")
        .agg(pl.len().alias("n"), x.mean().alias("m"), x.var(ddof=0).alias("v"))
        .sort("drg")
    )
    if per.height == 0:
        return None
    n = per["n"].cast(pl.Float64)
    total_n = float(n.sum())
    grand = float((n * per["m"]).sum()) / total_n
    within = float((n * per["v"]).sum())
    between = float((n * (per["m"] - grand) ** 2).sum())
    total = within + between
    return round(between / total, 4) if total > 0 else None


def quality(
    cases: pl.DataFrame, weights: pl.DataFrame, exclusions: ExclusionResult | None = None
) -> QualityReport:
    """Grouping quality of a case base and its weights (RIV, CV, 入组率, mean RW).

    ``cases``: the base the weights were computed from (trimmed); ``weights``:
    :func:`relative_weights` output; ``exclusions``: the
    :func:`~yibao.engines.measure.apply_exclusions` result, for 入组率.
    """
    require(cases, ("drg", "total_cost"), "quality")
    with_rw = weights.filter(pl.col("relative_weight").is_not_null() & (pl.col("cases") > 0))
    total = int(with_rw["cases"].sum())
    weighted = sum(
        (
            Fraction(int(n)) * Fraction(rw)
            for n, rw in with_rw.select("cases", "relative_weight").iter_rows()
        ),
        Fraction(0),
    )
    grouped = eligible = None
    rate = None
    if exclusions is not None:
        grouped, eligible = grouping_rate(exclusions)
        rate = round_half_up(Fraction(grouped, eligible), 4) if eligible else None
    return QualityReport(
        cases=cases.height,
        drgs=int((weights["cases"] > 0).sum()),
        riv=_riv(cases),
        drgs_cv_below_1=int((weights["cv"] < 1).sum()),
        flagged_drgs=int(weights["needs_review"].sum()),
        mean_rw=round_half_up(weighted / total, 4) if total else None,
        grouped=grouped,
        eligible=eligible,
        grouping_rate=rate,
    )
