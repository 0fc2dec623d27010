"""Solve the rate that meets a budget exactly.

Let x be the base rate (or, for separate level rates, a common scale factor); case
i's unrounded standard is s_i·x with s_i = RW_g × m_level (m = 1, the level
coefficient, or the level rate).  Its payment is piecewise linear in x:

    x < a_i = c_i ÷ (k_i·s_i)            high    → c_i (items)  or c_i − (k_i − 1)·s_i·x (excess)
    a_i ≤ x ≤ b_i = c_i ÷ (low·s_i)      normal  → s_i·x
    x > b_i                              low     → c_i

and constant (c_i) for QY, ungroupable and unweighted cases.  The total P(x) is
therefore piecewise linear with breakpoints a_i, b_i, but **not monotone**: when a
case turns from high to normal its payment drops from c_i to c_i ÷ k_i, and from
normal to low it drops from c_i ÷ low to c_i.  Bisection is therefore unsafe; instead
the breakpoints are sorted once and the intercept and slope of every segment are
cumulative sums (NumPy, O(n log n)).  Every segment whose line meets the budget
inside the segment with a positive slope gives an exact root; when there are several
(saw-teeth near the solution) the one nearest the current rate is taken.  The root is
then recomputed with exact rational arithmetic on the classification it implies
(integer fen, 4-decimal weights), re-checked, and returned with 10 decimals.

The budget is met with unrounded standards; payment standards rounded to the fen
(or yuan) move the simulated total by up to half a fen (yuan) per case, plus the
rare case whose class flips at a threshold.  Cases of a level without a rate are
paid by items (as in :func:`~yibao.engines.measure.simulate`).
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from fractions import Fraction
from typing import Final, Literal

import numpy as np
import numpy.typing as npt
import polars as pl

from yibao.engines.measure.errors import MeasureError
from yibao.engines.measure.frames import OK, QY, fen, require, round_half_up, rw_units
from yibao.engines.measure.params import LEVELS, SimulationParams
from yibao.engines.measure.rates import RatePlan
from yibao.engines.measure.simulate import multipliers

F64 = npt.NDArray[np.float64]
I64 = npt.NDArray[np.int64]
Bools = npt.NDArray[np.bool_]
RATE_PLACES: Final = 10


@dataclass(frozen=True, slots=True)
class RateSolution:
    """Output of :func:`solve_rate_for_budget`.

    ``rates``: the rate plan with the solved rate(s) (10 decimals);
    ``solved``: what was solved (``{"base": rate}``, ``{"scale": λ}`` or one rate
    per level); ``total``: the payment (or fund) total at the solution with unrounded
    standards; ``gap`` = total − budget; ``roots``: how many rates meet the budget
    exactly (the nearest to the previous rate was chosen); ``counts``: cases per
    class at the solution.
    """

    rates: RatePlan
    solved: dict[str, Decimal]
    budget: Decimal
    total: Decimal
    gap: Decimal
    target: str
    roots: int
    counts: dict[str, int]


@dataclass(frozen=True, slots=True)
class _Cases:
    """Weighted cases as arrays, plus the constant part."""

    cost_fen: I64
    rw_e4: I64
    level: I64  # index into LEVELS
    share: F64  # 1 for the payment target, fund ratio for the fund target
    k_e4: I64  # high multiplier of each case (level or weight band), 1/10,000
    low_e4: I64  # low multiplier of each case, 1/10,000
    const_fen: int
    const_value: float  # Σ share × cost of constant cases (yuan)
    const_levels: tuple[tuple[int, float], ...] = ()  # (fen, value) per level index


def _arrays(
    cases: pl.DataFrame, weights: pl.DataFrame, params: SimulationParams, target: str
) -> _Cases:
    require(cases, ("status", "drg", "hospital_level", "total_cost"), "solve_rate_for_budget")
    rules = params.rules
    if rules.high_share_cap is not None:
        raise MeasureError(
            "solve_rate_for_budget：设置了高倍率病例比例上限（rules.high_share_cap）时不能求解"
            "费率（上限使支付额不再是费率的分段线性函数）；请先不设上限求解，再模拟",
            field="rules.high_share_cap",
        )
    if target == "fund" and params.fund_share == "actual":
        require(cases, ("fund_payment",), "solve_rate_for_budget")
    if rules.long_stay_days is not None:
        require(cases, ("los_days",), "solve_rate_for_budget（超长住院按床日付费需要住院天数）")
    share = _share(params, target)
    level = pl.col("hospital_level").replace_strict(
        {lv: i for i, lv in enumerate(LEVELS)}, default=None, return_dtype=pl.Int64
    )
    days = rules.long_stay_days
    frame = cases.select(
        "drg",
        "hospital_level",
        (pl.col("status") == OK).alias("ok"),
        (pl.col("status") == QY).alias("qy"),
        (pl.col("los_days") > days if days is not None else pl.lit(False)).alias("long"),
        (pl.col("los_days") if days is not None else pl.lit(0)).cast(pl.Int64).alias("los"),
        level.alias("level"),
        fen("total_cost").alias("cost_fen"),
        share.alias("share"),
    ).join(weights.select("drg", rw_units().alias("rw_e4")), on="drg", how="left")
    high, low = multipliers(params)
    frame = frame.with_columns(high.alias("k_e4"), low.alias("low_e4"))
    active = (pl.col("ok") & pl.col("rw_e4").is_not_null() & pl.col("level").is_not_null()) & (
        ~pl.col("long").fill_null(False) & pl.col("k_e4").is_not_null()
    )
    const = frame.filter(~active.fill_null(False)).with_columns(_fixed(params).alias("pay_fen"))
    const = const.with_columns(
        (pl.col("pay_fen").cast(pl.Float64) / 100 * pl.col("share")).alias("value")
    )
    live = frame.filter(active.fill_null(False))
    per_level = [const.filter(pl.col("level") == i) for i in range(len(LEVELS))]
    return _Cases(
        cost_fen=live["cost_fen"].to_numpy(),
        rw_e4=live["rw_e4"].to_numpy(),
        level=live["level"].to_numpy(),
        share=live["share"].to_numpy().astype(np.float64),
        k_e4=live["k_e4"].to_numpy(),
        low_e4=live["low_e4"].to_numpy(),
        const_fen=int(const["pay_fen"].sum()),
        const_value=float(const["value"].sum()),
        const_levels=tuple((int(p["pay_fen"].sum()), float(p["value"].sum())) for p in per_level),
    )


def _share(params: SimulationParams, target: str) -> pl.Expr:
    """The share of each payment counted: 1 (payment target), or the fund's share."""
    if target != "fund":
        return pl.lit(1.0)
    if params.fund_share != "actual":
        return pl.lit(float(params.fixed_fund_share))
    ratio = fen("fund_payment").cast(pl.Float64) / fen("total_cost").cast(pl.Float64)
    return pl.when(fen("total_cost") > 0).then(ratio).otherwise(0.0)


def _fixed(params: SimulationParams) -> pl.Expr:
    """What a case outside the weighted set is paid (fen): per bed-day for a long stay,
    the QY share of its cost, else its cost (simulate's rules)."""
    rules = params.rules
    q = int(rules.qy_fraction * 10_000)
    per_diem = pl.col("hospital_level").replace_strict(
        {lv: int(v * 100) for lv, v in rules.per_diem.items()}, default=None, return_dtype=pl.Int64
    )
    return (
        pl.when(pl.col("long").fill_null(False))
        .then(pl.col("los") * per_diem)
        .when(pl.col("qy"))
        .then((2 * pl.col("cost_fen") * q + 10_000) // 20_000)
        .otherwise(pl.col("cost_fen"))
    )


def _sweep(
    cost: F64, s: F64, k: F64, low: F64, f: F64, const: float, excess: bool
) -> tuple[F64, F64, F64, F64]:
    """(lo, hi, intercept, slope) of every segment of P(x) = intercept + slope·x."""
    with np.errstate(divide="ignore", invalid="ignore"):
        # s = 0 (a level without a rate): the case never leaves "high", i.e. items
        a = np.nan_to_num(cost / (k * s), nan=np.inf, posinf=np.inf)
        b = np.nan_to_num(np.where(low > 0, cost / (low * s), np.inf), nan=np.inf, posinf=np.inf)
    slope_a = f * s + (f * (k - 1) * s if excess else 0.0)
    fin = np.isfinite(b)  # a case without a low multiplier never turns low
    ff = np.broadcast_to(f, cost.shape)
    pos, d_i, d_s = [a, b[fin]], [-f * cost, (ff * cost)[fin]], [slope_a, (-ff * s)[fin]]
    all_pos = np.concatenate(pos)
    order = np.argsort(all_pos, kind="stable")
    start_i = const + float(np.sum(f * cost))
    start_s = -float(np.sum(f * (k - 1) * s)) if excess else 0.0
    inter = np.concatenate(([start_i], start_i + np.cumsum(np.concatenate(d_i)[order])))
    slope = np.concatenate(([start_s], start_s + np.cumsum(np.concatenate(d_s)[order])))
    edges = all_pos[order]
    lo = np.concatenate(([0.0], edges))
    hi = np.concatenate((edges, [np.inf]))
    return lo, hi, inter, slope


def _roots(seg: tuple[F64, F64, F64, F64], budget: float) -> F64:
    lo, hi, inter, slope = seg
    with np.errstate(divide="ignore", invalid="ignore"):
        root = (budget - inter) / slope
    ok = (slope > 0) & (root >= lo) & (root <= hi)
    return np.asarray(root[ok], dtype=np.float64)


class _Model:
    """Slopes, multipliers and exact per-(weight, level) units of one case set."""

    def __init__(self, data: _Cases, mult: dict[int, Fraction], params: SimulationParams) -> None:
        self.data = data
        m = np.array([float(mult.get(i, 0)) for i in range(len(LEVELS))])
        self.s: F64 = data.rw_e4 / 10_000 * m[data.level]
        self.k: F64 = data.k_e4 / 10_000
        self.low: F64 = data.low_e4 / 10_000
        self.excess = params.high_payment == "excess"
        keys, first, self.inverse = np.unique(
            data.rw_e4 * 4 + data.level, return_index=True, return_inverse=True
        )
        self.unit = [
            Fraction(int(q) // 4, 10_000) * mult.get(int(q) % 4, Fraction(0)) for q in keys
        ]
        # the multiplier follows the weight and the level, so one case per key gives it
        self.k_minus = [Fraction(int(data.k_e4[i]), 10_000) - 1 for i in first]

    def classes(self, x: float) -> tuple[Bools, Bools]:
        """(normal, high) masks at x; the normal band is inclusive, as in simulate."""
        cost = self.data.cost_fen / 100.0
        std = self.s * x
        high = cost > self.k * std
        return ~high & ~(cost < self.low * std), high

    def line(self, normal: Bools, high: Bools) -> tuple[Fraction, Fraction]:
        """Exact (intercept, slope) of the payment total for a classification."""
        data = self.data
        intercept = Fraction(data.const_fen + int(data.cost_fen[~normal].sum()), 100)
        size = len(self.unit)
        counts = np.bincount(self.inverse[normal], minlength=size)
        slope = sum((int(n) * u for n, u in zip(counts, self.unit, strict=True) if n), Fraction(0))
        if self.excess:
            highs = np.bincount(self.inverse[high], minlength=size)
            pairs = zip(highs, self.unit, self.k_minus, strict=True)
            slope -= sum((int(n) * u * km for n, u, km in pairs if n), Fraction(0))
        return intercept, slope

    def fund_total(self, x: float) -> float:
        """Σ share × payment at x (float, fund target)."""
        normal, high = self.classes(x)
        cost = self.data.cost_fen / 100.0
        pay = np.where(normal, self.s * x, cost)
        if self.excess:
            pay = np.where(high, cost - (self.k - 1) * self.s * x, pay)
        return self.data.const_value + float(np.sum(self.data.share * pay))


def _exact_root(model: _Model, budget: Fraction, x: float) -> Fraction:
    """Exact root for the classification at x (payment target), re-checked."""
    for _ in range(5):
        normal, high = model.classes(x)
        intercept, slope = model.line(normal, high)
        if slope <= 0:
            break
        root = (budget - intercept) / slope
        again = model.classes(float(root))
        if np.array_equal(again[0], normal) and np.array_equal(again[1], high):
            return root
        x = float(root)
    raise MeasureError(
        "solve_rate_for_budget：无法精确求解费率（病例分类在解附近不稳定）", field="budget"
    )


def _solve_one(model: _Model, budget: Fraction, ref: float, target: str) -> tuple[Decimal, int]:
    """(root with 10 decimals, number of roots) for one set of cases."""
    data = model.data
    if data.cost_fen.size == 0:
        raise MeasureError("solve_rate_for_budget：没有可按 DRG 支付的病例", field="cases")
    cost = data.cost_fen / 100.0
    seg = _sweep(cost, model.s, model.k, model.low, data.share, data.const_value, model.excess)
    roots = _roots(seg, float(budget))
    if roots.size == 0:
        lo, hi, inter, slope = seg
        values = np.concatenate((inter + slope * lo, inter[:-1] + slope[:-1] * hi[:-1]))
        raise MeasureError(
            f"solve_rate_for_budget：预算 {float(budget):,.2f} 元无法精确达到"
            f"（支付总额可取 {values.min():,.2f} – {values.max():,.2f} 元）",
            field="budget",
        )
    x = float(roots[np.argmin(np.abs(roots - ref))])
    root = _exact_root(model, budget, x) if target == "payment" else Fraction(x)
    return round_half_up(root, RATE_PLACES), int(roots.size)


def _total(model: _Model, x: Decimal, target: str) -> tuple[Fraction, dict[str, int]]:
    """Total at x (exact for payments) and the class counts."""
    normal, high = model.classes(float(x))
    counts = {
        "normal": int(normal.sum()),
        "high": int(high.sum()),
        "low": int((~normal & ~high).sum()),
    }
    if target == "fund":
        return Fraction(model.fund_total(float(x))), counts
    intercept, slope = model.line(normal, high)
    return intercept + slope * Fraction(x), counts


def solve_rate_for_budget(
    cases: pl.DataFrame,
    weights: pl.DataFrame,
    rates: RatePlan,
    params: SimulationParams | None = None,
    *,
    budget: Decimal | None = None,
    target: Literal["payment", "fund"] = "payment",
) -> RateSolution:
    """The rate at which the simulated DRG payment (or fund estimate) equals the budget.

    Method and exactness: module docstring.  ``rates`` gives the structure: a
    ``single`` or ``level_coefficients`` plan → the base rate is solved (levels keep
    their coefficients); a ``per_level`` plan with ``level_budgets`` and no
    ``budget`` argument → each level's rate is solved against its own budget;
    otherwise all level rates are scaled by one factor.  ``budget`` defaults to
    ``rates.budget``.  ``target="fund"`` solves the fund estimate instead (float
    arithmetic, fund share as in :class:`SimulationParams`).
    """
    params = params or SimulationParams()
    require(weights, ("drg", "relative_weight"), "solve_rate_for_budget")
    data = _arrays(cases, weights, params, target)
    if rates.mode == "per_level" and budget is None and rates.level_budgets:
        return _solve_levels(data, rates, params, target)
    goal = budget if budget is not None else rates.budget
    if goal is None:
        raise MeasureError("solve_rate_for_budget：没有预算（budget）可求解", field="budget")
    return _solve_common(data, rates, params, Fraction(goal), target)


def _solve_common(
    data: _Cases, rates: RatePlan, params: SimulationParams, goal: Fraction, target: str
) -> RateSolution:
    """Solve the base rate (single / coefficients) or one scale factor for all levels."""
    by_base = rates.mode != "per_level" and rates.base_rate is not None
    base = Fraction(rates.base_rate) if by_base and rates.base_rate is not None else Fraction(1)
    mult = {
        i: Fraction(rates.level_rates[lv]) / base
        for i, lv in enumerate(LEVELS)
        if lv in rates.level_rates
    }
    model = _Model(data, mult, params)
    x, n_roots = _solve_one(model, goal, float(base), target)
    new_rates = {LEVELS[i]: round_half_up(Fraction(x) * m, RATE_PLACES) for i, m in mult.items()}
    update: dict[str, object] = {"level_rates": new_rates, "budget": round_half_up(goal, 2)}
    if by_base:
        update["base_rate"] = x
    total, counts = _total(model, x, target)
    solved = {"base" if by_base else "scale": x}
    return _solution(rates.model_copy(update=update), solved, goal, total, target, n_roots, counts)


def _solve_levels(
    data: _Cases, rates: RatePlan, params: SimulationParams, target: str
) -> RateSolution:
    """Each level's rate against its own budget."""
    budgets = rates.level_budgets or {}
    solved: dict[str, Decimal] = {}
    total = Fraction(0)
    counts: dict[str, int] = {}
    n_roots = 0
    for i, lv in enumerate(LEVELS):
        if lv not in budgets or lv not in rates.level_rates:
            continue
        mask = data.level == i
        part = _Cases(
            cost_fen=data.cost_fen[mask],
            rw_e4=data.rw_e4[mask],
            level=data.level[mask],
            share=data.share[mask],
            k_e4=data.k_e4[mask],
            low_e4=data.low_e4[mask],
            const_fen=data.const_levels[i][0],
            const_value=data.const_levels[i][1],
        )
        model = _Model(part, {i: Fraction(1)}, params)
        x, roots = _solve_one(model, Fraction(budgets[lv]), float(rates.level_rates[lv]), target)
        solved[lv] = x
        level_total, level_counts = _total(model, x, target)
        total += level_total
        n_roots = max(n_roots, roots)
        for key, value in level_counts.items():
            counts[key] = counts.get(key, 0) + value
    goal = sum((Fraction(budgets[lv]) for lv in solved), Fraction(0))
    plan = rates.model_copy(update={"level_rates": {**rates.level_rates, **solved}})
    return _solution(plan, solved, goal, total, target, n_roots, counts)


def _solution(
    plan: RatePlan,
    solved: dict[str, Decimal],
    goal: Fraction,
    total: Fraction,
    target: str,
    roots: int,
    counts: dict[str, int],
) -> RateSolution:
    return RateSolution(
        rates=plan,
        solved=solved,
        budget=round_half_up(goal, 4),
        total=round_half_up(total, 4),
        gap=round_half_up(total - goal, 4),
        target=target,
        roots=roots,
        counts=counts,
    )
