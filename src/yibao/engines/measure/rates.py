"""Rate plans (费率) and payment standards (支付标准), domain.md §1.3.

All money here is exact: expected weights are Σ cases × RW on 4-decimal integers,
budgets and rates are ``Decimal`` quantised half up to the fen, payment standards
RW × rate quantised half up to the yuan or the fen.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping
from decimal import Decimal
from fractions import Fraction
from typing import Final, Literal

import polars as pl
from pydantic import BaseModel, ConfigDict, field_validator

from yibao.engines.caseframe import MONEY
from yibao.engines.measure.errors import MeasureError
from yibao.engines.measure.frames import fen, money, require, round_half_up, rw_units
from yibao.engines.measure.params import LEVELS, RateParams, check_levels, rule

STANDARDS_SCHEMA: Final[dict[str, pl.DataType | type[pl.DataType]]] = {
    "drg": pl.String,
    "hospital_level": pl.String,
    "relative_weight": pl.Decimal(18, 4),
    "base_rate": pl.Decimal(28, 10),
    "payment_standard": MONEY,
}


class RatePlan(BaseModel):
    """A rate plan: the effective rate per hospital level and how it was obtained.

    ``level_rates`` is what payment standards use (standard = RW × rate of the
    level).  ``base_rate`` is the single rate (``single``) or the base before level
    coefficients (``level_coefficients``); ``expected_weight`` / ``level_weights``
    are Σ cases × RW of the volume; ``notes`` explain skipped levels.  Build one by
    hand with :meth:`single` or :meth:`per_level` to try a rate.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    mode: Literal["single", "per_level", "level_coefficients"]
    level_rates: dict[str, Decimal]
    base_rate: Decimal | None = None
    coefficients: dict[str, Decimal] | None = None
    budget: Decimal | None = None
    level_budgets: dict[str, Decimal] | None = None
    expected_weight: Decimal | None = None
    level_weights: dict[str, Decimal] | None = None
    rounding: Literal["yuan", "fen"] = "fen"
    notes: tuple[str, ...] = ()

    @field_validator("level_rates")
    @classmethod
    def _rates(cls, v: dict[str, Decimal]) -> dict[str, Decimal]:
        check_levels(v)
        for level, rate in v.items():
            if rate <= 0 or rate != rate.quantize(Decimal("1e-10")):
                raise rule(f"level_rates.{level}：费率必须大于 0 且最多 10 位小数（收到 {rate}）")
        return v

    @classmethod
    def single(cls, rate: Decimal, rounding: Literal["yuan", "fen"] = "fen") -> RatePlan:
        """One rate for every level."""
        return cls(
            mode="single",
            base_rate=rate,
            level_rates=dict.fromkeys(LEVELS, rate),
            rounding=rounding,
        )

    @classmethod
    def per_level(
        cls, rates: Mapping[str, Decimal], rounding: Literal["yuan", "fen"] = "fen"
    ) -> RatePlan:
        """Separate rates per level."""
        return cls(mode="per_level", level_rates=dict(rates), rounding=rounding)


def expected_volume(cases: pl.DataFrame) -> pl.DataFrame:
    """Cases and total cost per DRG × hospital level, sorted: the predicted volume
    n_gL of domain.md §1.3 (by default last year's cases, untrimmed)."""
    require(cases, ("drg", "hospital_level", "total_cost"), "expected_volume")
    return (
        cases.group_by("drg", "hospital_level")
        .agg(pl.len().cast(pl.Int64).alias("cases"), fen("total_cost").sum().alias("fen"))
        .select("drg", "hospital_level", "cases", money(pl.col("fen")).alias("total_cost"))
        .sort("drg", "hospital_level")
    )


def _level_sums(
    weights: pl.DataFrame, volume: pl.DataFrame
) -> tuple[dict[str, tuple[Fraction, int]], int, list[str]]:
    """{level: (Σ n × RW, Σ cost fen)}, cost of unweighted cases, their DRGs."""
    joined = volume.join(weights.select("drg", "relative_weight"), on="drg", how="left")
    weighted = joined.filter(pl.col("relative_weight").is_not_null())
    sums = (
        weighted.group_by("hospital_level")
        .agg((pl.col("cases") * rw_units()).sum().alias("w"), fen("total_cost").sum().alias("fen"))
        .sort("hospital_level")
    )
    out = {str(lv): (Fraction(int(w), 10_000), int(f)) for lv, w, f in sums.rows()}
    missing = joined.filter(pl.col("relative_weight").is_null())
    return (
        out,
        int(missing.select(fen("total_cost").sum()).item() or 0),
        sorted(set(missing["drg"].to_list())),
    )


def _budget(params: RateParams, total_fen: int) -> Fraction:
    if params.budget is not None:
        return Fraction(params.budget)
    last = (
        Fraction(params.last_total) if params.last_total is not None else Fraction(total_fen, 100)
    )
    return last * (1 + Fraction(params.growth))


def _coefficients(weights: pl.DataFrame, volume: pl.DataFrame) -> dict[str, Decimal]:
    """Level cost index c_L = Σ_g cost_gL ÷ Σ_g n_gL · mean_g (domain.md §1.2 调整系数)."""
    joined = volume.join(weights.select("drg", "relative_weight"), on="drg").filter(
        pl.col("relative_weight").is_not_null()
    )
    per_drg = joined.group_by("drg").agg(
        pl.col("cases").sum().alias("n_g"), fen("total_cost").sum().alias("c_g")
    )
    rows = (
        joined.join(per_drg, on="drg")
        .select("hospital_level", "cases", fen("total_cost").alias("c"), "n_g", "c_g")
        .sort("hospital_level")
        .rows()
    )
    cost: dict[str, Fraction] = {}
    expected: dict[str, Fraction] = {}
    for level, n, c, n_g, c_g in rows:
        cost[level] = cost.get(level, Fraction(0)) + c
        expected[level] = expected.get(level, Fraction(0)) + Fraction(n * c_g, n_g)
    return {
        lv: round_half_up(cost[lv] / expected[lv], 4) for lv in sorted(cost) if expected[lv] > 0
    }


def compute_rates(
    weights: pl.DataFrame, volume: pl.DataFrame, params: RateParams | None = None
) -> RatePlan:
    """Budget and rates from weights and an expected volume (domain.md §1.3).

    budget = ``params.budget`` or last total × (1 + growth), last total defaulting to
    the volume's total cost; expected weight W_L = Σ_g n_gL × RW_g.

    * ``single``: rate = budget ÷ Σ_L W_L;
    * ``per_level``: rate_L = budget_L ÷ W_L, budget_L given or the level's share of
      the (weighted cases') cost times the budget;
    * ``level_coefficients``: base = budget ÷ Σ_L c_L·W_L, rate_L = base × c_L.

    Rates and the base are quantised half up to the fen; coefficient rates are
    base × c_L, exact.  Volume rows whose DRG has no weight stay out of W (noted).
    """
    params = params or RateParams()
    require(weights, ("drg", "relative_weight"), "compute_rates")
    require(volume, ("drg", "hospital_level", "cases", "total_cost"), "compute_rates(volume)")
    levels = set(volume["hospital_level"].unique().to_list())
    if not levels <= set(LEVELS):
        unknown = "、".join(sorted(str(lv) for lv in levels - set(LEVELS)))
        raise MeasureError(
            f"compute_rates(volume)：医院等级须为 1、2、3（发现 {unknown}）", field="hospital_level"
        )
    sums, missing_fen, missing = _level_sums(weights, volume)
    budget = _budget(params, sum(f for _, f in sums.values()) + missing_fen)
    weight = sum((w for w, _ in sums.values()), Fraction(0))
    if weight <= 0:
        raise MeasureError(
            "compute_rates：预计总权重为 0（没有带权重的病例），无法计算费率", field="volume"
        )
    notes = [f"{len(missing)} 个 DRG 无权重，未计入预计总权重：{'、'.join(missing[:10])}"]
    plan = RatePlan(
        mode=params.mode,
        level_rates={},
        budget=round_half_up(budget, 2),
        expected_weight=round_half_up(weight, 4),
        level_weights={lv: round_half_up(w, 4) for lv, (w, _) in sums.items()},
        rounding=params.rounding,
        notes=tuple(notes if missing else ()),
    )
    if params.mode == "single":
        rate = round_half_up(budget / weight, 2)
        return plan.model_copy(
            update={"base_rate": rate, "level_rates": dict.fromkeys(LEVELS, rate)}
        )
    if params.mode == "per_level":
        return _per_level(plan, params, sums, budget)
    coefficients = params.coefficients or _coefficients(weights, volume)
    return _with_coefficients(plan, coefficients, sums, budget)


def _with_coefficients(
    plan: RatePlan,
    coefficients: dict[str, Decimal],
    sums: dict[str, tuple[Fraction, int]],
    budget: Fraction,
) -> RatePlan:
    """base = budget ÷ Σ_L c_L·W_L; rate_L = base × c_L."""
    denominator = sum(
        (Fraction(c) * sums[lv][0] for lv, c in coefficients.items() if lv in sums), Fraction(0)
    )
    if denominator <= 0:
        raise MeasureError(
            "compute_rates：等级系数对应的级别没有病例，无法计算基础费率", field="coefficients"
        )
    base = round_half_up(budget / denominator, 2)
    return plan.model_copy(
        update={
            "base_rate": base,
            "coefficients": dict(coefficients),
            "level_rates": {lv: base * c for lv, c in coefficients.items()},
        }
    )


def _per_level(
    plan: RatePlan, params: RateParams, sums: dict[str, tuple[Fraction, int]], budget: Fraction
) -> RatePlan:
    """rate_L = budget_L ÷ W_L for every level with weight."""
    given = params.level_budgets
    if given is not None:
        problems = [
            f"RateParams.level_budgets：缺少 {lv} 级的预算（该级有病例）"
            for lv in sums
            if lv not in given
        ]
        problems += [
            f"RateParams.level_budgets：{lv} 级没有带权重的病例" for lv in given if lv not in sums
        ]
        if problems:
            raise MeasureError("；".join(problems), field="level_budgets", problems=problems)
        budgets = {lv: Fraction(b) for lv, b in given.items()}
    else:
        cost = sum(f for _, f in sums.values())
        budgets = {lv: budget * f / cost for lv, (_, f) in sums.items()}
    rates = {lv: round_half_up(budgets[lv] / sums[lv][0], 2) for lv in sorted(sums)}
    skipped = [lv for lv in LEVELS if lv not in rates]
    notes = plan.notes + ((f"{'、'.join(skipped)} 级没有病例，未计算费率",) if skipped else ())
    return plan.model_copy(
        update={
            "level_rates": rates,
            "level_budgets": {lv: round_half_up(b, 2) for lv, b in budgets.items()},
            "budget": round_half_up(sum(budgets.values(), Fraction(0)), 2),
            "notes": notes,
        }
    )


def payment_standards(
    weights: pl.DataFrame, rates: RatePlan, *, skip_missing: bool = False
) -> pl.DataFrame:
    """The payment standard table: standard = RW × rate of the level (domain.md §1.3, S3).

    One row per DRG × level of ``rates.level_rates``, sorted by ``drg`` then
    ``hospital_level``: ``drg``, ``hospital_level``, ``relative_weight``,
    ``base_rate`` (the level's rate), ``payment_standard`` (``Decimal(18, 2)``,
    quantised half up to the yuan or the fen per ``rates.rounding``).  Exact decimal
    arithmetic and fixed order: the same weights and rates give a byte-identical
    table in CSV or Parquet, whatever the input row order.  DRGs without a weight
    raise :class:`MeasureError` unless ``skip_missing``.
    """
    require(weights, ("drg", "relative_weight"), "payment_standards")
    pairs = sorted(weights.select("drg", "relative_weight").rows(), key=lambda r: str(r[0]))
    missing = [str(d) for d, rw in pairs if rw is None]
    if missing and not skip_missing:
        raise MeasureError(
            f"payment_standards：{len(missing)} 个 DRG 没有权重，须先人工设定："
            f"{'、'.join(missing[:20])}",
            field="relative_weight",
        )
    duplicated = sorted(d for d, n in Counter(d for d, _ in pairs).items() if n > 1)
    if duplicated:
        raise MeasureError(
            f"payment_standards：权重表中 DRG 重复：{'、'.join(duplicated[:20])}", field="drg"
        )
    places = 0 if rates.rounding == "yuan" else 2
    rows = [
        (drg, level, rw, rate, _standard(rw, rate, places))
        for drg, rw in pairs
        if rw is not None
        for level, rate in sorted(rates.level_rates.items())
    ]
    return pl.DataFrame(rows, schema=STANDARDS_SCHEMA, orient="row")


def _standard(rw: Decimal, rate: Decimal, places: int) -> Decimal:
    """RW × rate, exact, quantised half up to ``places`` decimals, shown with 2."""
    return round_half_up(Fraction(rw) * Fraction(rate), places).quantize(Decimal("0.01"))
