"""Case base: exclusions with reason codes and counts (domain.md §1.2)."""

from __future__ import annotations

import math
from typing import Final, NamedTuple

import polars as pl

from yibao.engines.measure.frames import OK, QY, fen, money, require
from yibao.engines.measure.params import ExclusionRules

#: Stable reason codes in priority order (a case gets the first that applies).
REASONS: Final[tuple[str, ...]] = (
    "missing",
    "out_of_years",
    "los_out_of_range",
    "cost_below_floor",
    "ungroupable",
    "ambiguous_qy",
)
#: Reasons that are data problems: left out of the 入组率 denominator (S14).
DATA_REASONS: Final[frozenset[str]] = frozenset(REASONS[:4])

SUMMARY_SCHEMA: Final[dict[str, pl.DataType | type[pl.DataType]]] = {
    "reason_code": pl.String,
    "reason": pl.String,
    "cases": pl.Int64,
    "total_cost": pl.Decimal(18, 2),
}


class ExclusionResult(NamedTuple):
    """Output of :func:`apply_exclusions`.

    ``kept``: the case base (input columns).  ``excluded``: the other cases with
    ``reason_code``.  ``summary``: one row per active reason, in priority order,
    zero counts included: ``reason_code``, ``reason`` (Chinese, with the limits),
    ``cases``, ``total_cost``.
    """

    kept: pl.DataFrame
    excluded: pl.DataFrame
    summary: pl.DataFrame


def _reason_texts(rules: ExclusionRules) -> dict[str, str]:
    """Active reasons → Chinese text with the configured limits."""
    texts: dict[str, str] = {}
    if rules.required:
        texts["missing"] = f"缺少必填字段（{'、'.join(rules.required)}）"
    if rules.years is not None:
        texts["out_of_years"] = f"不在所选年度（{'、'.join(str(y) for y in rules.years)}）"
    lo, hi = rules.los_min_days, rules.los_max_days
    if lo is not None or hi is not None:
        parts = ([f"< {lo} 天"] if lo is not None else []) + (
            [f"> {hi} 天"] if hi is not None else []
        )
        texts["los_out_of_range"] = f"住院天数 {' 或 '.join(parts)}"
    if rules.cost_floor is not None:
        texts["cost_below_floor"] = f"总费用低于 {rules.cost_floor} 元"
    if rules.exclude_ungroupable:
        texts["ungroupable"] = "无法入组（0000、校验不通过或编码不能转换）"
    if rules.exclude_qy:
        texts["ambiguous_qy"] = "歧义组（QY）"
    return texts


def _reason_expr(rules: ExclusionRules, active: dict[str, str]) -> pl.Expr:
    """The first applicable reason code per case (null = kept)."""
    conditions: list[tuple[str, pl.Expr]] = []
    if "missing" in active:
        conditions.append(
            ("missing", pl.any_horizontal(pl.col(c).is_null() for c in rules.required))
        )
    if rules.years is not None:
        conditions.append(("out_of_years", ~pl.col("year").is_in(list(rules.years))))
    los = pl.col("los_days")
    if rules.los_min_days is not None and rules.los_max_days is not None:
        conditions.append(
            ("los_out_of_range", ~los.is_between(rules.los_min_days, rules.los_max_days))
        )
    elif rules.los_min_days is not None:
        conditions.append(("los_out_of_range", los < rules.los_min_days))
    elif rules.los_max_days is not None:
        conditions.append(("los_out_of_range", los > rules.los_max_days))
    if rules.cost_floor is not None:
        floor_fen = math.ceil(rules.cost_floor * 100)  # cost_fen < ceil(floor × 100) ⇔ cost < floor
        conditions.append(("cost_below_floor", fen("total_cost") < floor_fen))
    status = pl.col("status")
    if rules.exclude_ungroupable:
        conditions.append(("ungroupable", ~status.is_in([OK, QY])))
    if rules.exclude_qy:
        conditions.append(("ambiguous_qy", status == QY))
    result = pl.lit(None, dtype=pl.String)
    for code, cond in reversed(conditions):  # the first condition ends up outermost
        result = pl.when(cond.fill_null(False)).then(pl.lit(code)).otherwise(result)
    return result


def apply_exclusions(cases: pl.DataFrame, rules: ExclusionRules | None = None) -> ExclusionResult:
    """Split cases into the case base and the excluded cases, with reasons and counts.

    Rules and their order: :class:`~yibao.engines.measure.params.ExclusionRules`
    (domain.md §1.2: LOS window and cost floor as in S14 [S], QY / 0000 cases kept
    out of the weight base).  Row order of ``kept`` and ``excluded`` follows the
    input.

    >>> result = apply_exclusions(frame, ExclusionRules(los_max_days=60))  # doctest: +SKIP
    >>> result.summary.select("reason_code", "cases").rows()  # doctest: +SKIP
    [('missing', 0), ('los_out_of_range', 12), ...]
    """
    rules = rules or ExclusionRules()
    needed = {"status", "los_days", "total_cost", *rules.required}
    if rules.years is not None:
        needed.add("year")
    require(cases, sorted(needed), "apply_exclusions")
    active = _reason_texts(rules)
    tagged = cases.with_columns(_reason_expr(rules, active).alias("reason_code"))
    is_kept = pl.col("reason_code").is_null()
    kept = tagged.filter(is_kept).drop("reason_code")
    excluded = tagged.filter(~is_kept)
    counts = excluded.group_by("reason_code").agg(
        pl.len().cast(pl.Int64).alias("cases"), fen("total_cost").sum().alias("fen")
    )
    order = pl.DataFrame(
        {"reason_code": list(active), "reason": list(active.values())},
        schema={"reason_code": pl.String, "reason": pl.String},
    )
    summary = order.join(counts, on="reason_code", how="left", maintain_order="left").select(
        "reason_code",
        "reason",
        pl.col("cases").fill_null(0).cast(pl.Int64),
        money(pl.col("fen").fill_null(0)).alias("total_cost"),
    )
    return ExclusionResult(kept, excluded, summary)


def grouping_rate(result: ExclusionResult) -> tuple[int, int]:
    """(grouped, eligible) for 入组率 = grouped ÷ (all cases − data exclusions) (S14).

    Data exclusions are ``missing``, ``out_of_years``, ``los_out_of_range`` and
    ``cost_below_floor``; grouped means status ``ok`` (QY and 0000 are not grouped).
    """
    eligible_excluded = result.excluded.filter(~pl.col("reason_code").is_in(list(DATA_REASONS)))
    eligible = result.kept.height + eligible_excluded.height
    grouped = int((result.kept["status"] == OK).sum()) + int(
        (eligible_excluded["status"] == OK).sum()
    )
    return grouped, eligible
