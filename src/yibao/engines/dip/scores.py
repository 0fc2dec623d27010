"""病种分值, 偏差病例 and 点值 (domain.md §2.3–2.4), in exact arithmetic.

Scores: each group's year-weighted mean cost over the history's cases, after trimming
each group and year like the DRG weights (:func:`~yibao.engines.measure.trim.trim_outliers`)::

    M_g   = Σ_y w_y · S_gy / n_gy ÷ Σ_y w_y      (years in which g has cases)
    M     = the same over every case (each once)
    score = M_g ÷ M × scale, rounded half up

Money in integer fen, weights as exact decimals (``Fraction``), so a score does not
depend on row order.  The chapter pools of the catalogue (a case counted a second
time) get scores but do not enter ``M``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal
from fractions import Fraction
from typing import Any

import polars as pl

from yibao.engines.caseframe import MONEY
from yibao.engines.dip.params import DeviationParams, ScoreParams
from yibao.engines.measure.errors import MeasureError
from yibao.engines.measure.frames import fen, require, round_half_up
from yibao.engines.measure.trim import trim_outliers
from yibao.engines.measure.weights import weighted_mean, year_sums

#: decimals of a point value (元/分) [M]
POINT_PLACES = 4


@dataclass(frozen=True)
class ScoreResult:
    """``scores``: one row per group (``code``, ``cases``, ``kept``, ``mean_cost``
    yuan, ``score``); ``overall_mean`` (yuan, M); ``years`` and their weights;
    ``trimmed``: the cases left out of the means, with their side and fences."""

    scores: pl.DataFrame
    overall_mean: Decimal
    years: tuple[int, ...]
    trimmed: pl.DataFrame


def _years(members: pl.DataFrame, params: ScoreParams) -> tuple[int, ...]:
    if params.years is not None:
        return params.years
    years = tuple(sorted(int(y) for y in members["year"].drop_nulls().unique().to_list()))
    if len(years) != len(params.year_weights):
        raise MeasureError(
            f"year_weights：病例有 {len(years)} 个年度（{'、'.join(map(str, years))}），"
            f"年度权重有 {len(params.year_weights)} 个，须一一对应（或用 years 指定年度）",
            field="year_weights",
        )
    return years


def group_scores(members: pl.DataFrame, params: ScoreParams | None = None) -> ScoreResult:
    """Scores of the groups of ``members`` (``setl_id``, ``code``, ``primary``,
    ``year``, ``total_cost``: the catalogue's members with their cases' year and
    cost).  Cases of years outside ``params.years`` are not counted."""
    params = params or ScoreParams()
    require(members, ("setl_id", "code", "primary", "year", "total_cost"), "group_scores")
    years = _years(members, params)
    weights = {y: Fraction(w) for y, w in zip(years, params.year_weights, strict=True)}
    base = members.filter(pl.col("year").is_in(list(years)) & pl.col("code").is_not_null())
    if base.height == 0:
        raise MeasureError(f"年度 {'、'.join(map(str, years))} 没有病例，无法计算分值")
    trimmed = trim_outliers(base.rename({"code": "drg"}), params.trim)
    kept = trimmed.kept.rename({"drg": "code"})
    stats = kept.group_by("code", "year").agg(
        pl.len().alias("n"), fen("total_cost").sum().alias("fen")
    )
    primary = (
        kept.filter(pl.col("primary"))
        .group_by("year")
        .agg(pl.len().alias("n"), fen("total_cost").sum().alias("fen"))
    )
    overall = weighted_mean(year_sums(primary, []).get((), {}), weights)
    if not overall:
        raise MeasureError("全部病例的平均费用为 0，无法计算分值", field="total_cost")
    counts = dict(base.group_by("code").len().iter_rows())
    rows = []
    for (code,), sums in sorted(year_sums(stats, ["code"]).items()):
        mean = weighted_mean(sums, weights)
        rows.append(
            {
                "code": code,
                "cases": int(counts.get(code, 0)),
                "kept": sum(n for n, _ in sums.values()),
                "mean_cost": None if mean is None else round_half_up(mean / 100, 2),
                "score": None
                if mean is None
                else round_half_up(mean / overall * Fraction(params.scale), params.places),
            }
        )
    scores = pl.DataFrame(
        rows,
        schema={
            "code": pl.String,
            "cases": pl.Int64,
            "kept": pl.Int64,
            "mean_cost": MONEY,
            "score": pl.Decimal(18, params.places),
        },
    )
    trimmed_cases = trimmed.trimmed.rename({"drg": "code"})
    return ScoreResult(scores, round_half_up(overall / 100, 2), years, trimmed_cases)


def level_standards(members: pl.DataFrame, levels: pl.DataFrame, year: int) -> pl.DataFrame:
    """The deviation standard of each group at each hospital level (domain.md §2.4: the
    same level's average cost of the year before): ``code``, ``hospital_level``,
    ``standard_cost`` — the mean cost of the group's ``members`` of ``year`` in
    hospitals of that level (``levels``: ``setl_id``, ``hospital_level``), exact in
    fen, half up to the fen."""
    require(members, ("setl_id", "code", "year", "total_cost"), "level_standards")
    require(levels, ("setl_id", "hospital_level"), "level_standards(levels)")
    frame = (
        members.filter(pl.col("year") == year)
        .join(levels.select("setl_id", "hospital_level"), on="setl_id", how="inner")
        .group_by("code", "hospital_level")
        .agg(pl.len().alias("n"), fen("total_cost").sum().alias("fen"))
        .sort("code", "hospital_level")
    )
    rows = [
        (code, level, round_half_up(Fraction(total, n) / 100, 2))
        for code, level, n, total in frame.iter_rows()
    ]
    return pl.DataFrame(
        rows,
        schema={"code": pl.String, "hospital_level": pl.String, "standard_cost": MONEY},
        orient="row",
    )


def score_places(dtype: pl.DataType | type[pl.DataType]) -> int:
    """The decimals of a score column: a Decimal's own scale (0 included), else 2."""
    scale = getattr(dtype, "scale", None)
    return 2 if scale is None else int(scale)


def half_up(num: int, den: int) -> int:
    """``num ÷ den`` rounded half up (away from zero at .5), ``den`` > 0: integers only."""
    whole = (2 * abs(num) + den) // (2 * den)
    return whole if num >= 0 else -whole


def _ratio(value: Decimal) -> tuple[int, int]:
    f = Fraction(value)
    return f.numerator, f.denominator


def adjust_scores(cases: pl.DataFrame, params: DeviationParams | None = None) -> pl.DataFrame:
    """偏差病例: ``cases`` (``total_cost``, ``score``, ``standard_cost`` — the group's
    standard for the case's hospital level) with ``ratio`` (cost ÷ standard, 4
    decimals, shown), ``deviation`` (``low`` / ``normal`` / ``high``; null without a
    score or standard), ``extreme`` (above ``params.extreme``: expert review) and
    ``adjusted_score``: score × ratio when low, score × (ratio − 1) when high, the
    score otherwise — computed with the exact ratio, rounded like the score.

    Exact integer arithmetic on fen and hundredths of a point (a case costs a few
    microseconds; a million cases a few seconds)."""
    params = params or DeviationParams()
    require(cases, ("total_cost", "score", "standard_cost"), "adjust_scores")
    (ln, ld), (hn, hd), (en, ed) = (_ratio(params.low), _ratio(params.high), _ratio(params.extreme))
    score_type = cases.schema["score"]
    places = score_places(score_type)  # the score's own decimals
    ints = cases.select(
        fen("total_cost").alias("c"),
        pl.col("score").cast(pl.Decimal(38, places)).to_physical().alias("s"),
        fen("standard_cost").alias("t"),
    )
    ratios: list[Decimal | None] = []
    kinds: list[str | None] = []
    flags: list[bool] = []
    adjusted: list[Decimal | None] = []
    for c, s, t in ints.iter_rows():
        if s is None or not t or c is None:
            ratios.append(None)
            kinds.append(None)
            flags.append(False)
            adjusted.append(None if s is None else Decimal(s).scaleb(-places))
            continue
        if t < 0:  # a standard below zero has no meaning: compare as given, keep the score
            c, t = -c, -t
        if c * ld < ln * t:
            kind, value = "low", half_up(s * c, t)
        elif c * hd > hn * t:
            kind, value = "high", half_up(s * (c - t), t)
        else:
            kind, value = "normal", s
        ratios.append(Decimal(half_up(c * 10_000, t)).scaleb(-4))
        kinds.append(kind)
        flags.append(c * ed > en * t)
        adjusted.append(Decimal(value).scaleb(-places))
    return cases.with_columns(
        pl.Series("ratio", ratios, dtype=pl.Decimal(18, 4)),
        pl.Series("deviation", kinds, dtype=pl.String),
        pl.Series("extreme", flags, dtype=pl.Boolean),
        pl.Series("adjusted_score", adjusted, dtype=score_type),
    )


def budget_point_value(
    costs: Mapping[int, Decimal],
    scores: Mapping[int, Decimal],
    year_weights: Mapping[int, Decimal],
    places: int = POINT_PLACES,
) -> Decimal:
    """预算点值 (元/分): the year-weighted annual total cost ÷ the year-weighted annual
    total score (Σ score × cases), over the years of ``year_weights`` (1:2:7)."""
    missing = [y for y in year_weights if y not in costs or y not in scores]
    if missing:
        raise MeasureError(
            f"年度 {'、'.join(map(str, missing))} 缺少总费用或总分值，无法计算预算点值",
            field="years",
        )
    num = sum((Fraction(w) * Fraction(costs[y]) for y, w in year_weights.items()), Fraction(0))
    den = sum((Fraction(w) * Fraction(scores[y]) for y, w in year_weights.items()), Fraction(0))
    if den <= 0:
        raise MeasureError("总分值为 0，无法计算预算点值", field="scores")
    return round_half_up(num / den, places)


def settlement_point_value(
    fund: Decimal, reimbursement_ratio: Decimal, total_score: Decimal, places: int = POINT_PLACES
) -> Decimal:
    """结算点值 (元/分) = (fund available for DIP ÷ reimbursement ratio) ÷ the year's
    total score."""
    if not 0 < reimbursement_ratio <= 1:
        raise MeasureError(
            f"reimbursement_ratio：医保报销比例须大于 0 且不超过 1（收到 {reimbursement_ratio}）",
            field="reimbursement_ratio",
        )
    if total_score <= 0:
        raise MeasureError("total_score：年度总分值须大于 0", field="total_score")
    if fund < 0:
        raise MeasureError(f"fund：可用基金不能为负（收到 {fund}）", field="fund")
    value = Fraction(fund) / Fraction(reimbursement_ratio) / Fraction(total_score)
    return round_half_up(value, places)


def budget_point_value_of(
    members: pl.DataFrame, scored: ScoreResult, params: ScoreParams
) -> dict[str, Any]:
    """预算点值 (domain.md §2.3): the year-weighted total cost ÷ the year-weighted total
    score (Σ the score of each scored case's group) of the history years, with each
    year's figures; ``None`` when a year has no scored case."""
    scored_cases = (
        members.filter(pl.col("primary"))
        .join(scored.scores.select("code", "score"), on="code", how="inner")
        .filter(pl.col("score").is_not_null())
    )
    sums = scored_cases.group_by("year").agg(
        pl.col("total_cost").cast(MONEY).sum().alias("cost"),
        pl.col("score").cast(pl.Decimal(38, 2)).sum().alias("score"),
    )
    costs = {int(y): Decimal(c) for y, c, _ in sums.iter_rows()}
    scores = {int(y): Decimal(v) for y, _, v in sums.iter_rows()}
    weights = dict(zip(scored.years, params.year_weights, strict=True))
    try:
        value: Decimal | None = budget_point_value(costs, scores, weights)
    except MeasureError:
        value = None
    return {
        "budget_point_value": None if value is None else str(value),
        "point_value_years": {
            str(y): {"cost": str(costs.get(y, 0)), "score": str(scores.get(y, 0)), "weight": str(w)}
            for y, w in weights.items()
        },
    }
