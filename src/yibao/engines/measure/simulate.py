"""Simulated DRG payment of real cases under a payment standard table.

Classification (domain.md §1.5) is exact integer arithmetic on fen: with cost c,
standard s (fen) and multipliers scaled to 1/10,000 (k′ = 10,000·k):

    high   ⇔ 10,000·c > k′_level · s        (费用极高, default 三级 3×, 二级/一级 2×)
    low    ⇔ 10,000·c < low′ · s            (费用极低, default 0.3×)

QY (``ambiguous_qy``) and ungroupable cases (any other status), and cases whose
DRG × level has no standard, are paid by items; so are high cases unless
``high_payment="excess"`` (standard + cost − k·standard) and low cases.  Sums are
integer fen; summaries are ``Decimal(18, 2)``, sorted, so results are reproducible.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from fractions import Fraction
from typing import Final

import polars as pl

from yibao.engines.caseframe import MONEY
from yibao.engines.measure.errors import MeasureError
from yibao.engines.measure.frames import OK, QY, fen, money, require, rw_units
from yibao.engines.measure.params import SimulationParams

CLASSES: Final[tuple[str, ...]] = (
    "normal",
    "high",
    "low",
    "qy",
    "ungroupable",
    "no_standard",
    "long_stay",
    "high_capped",
)
CLASS_NAMES: Final[dict[str, str]] = {
    "normal": "正常病例",
    "high": "高倍率病例",
    "low": "低倍率病例",
    "qy": "歧义组病例",
    "ungroupable": "无法入组病例",
    "no_standard": "无支付标准病例",
    "long_stay": "超长住院病例（按床日付费）",
    "high_capped": "超出高倍率比例上限（按标准付费）",
}
_E4: Final = 10_000


def _e4(value: Decimal) -> int:
    """A multiplier with at most 4 decimals as an integer of 1/10,000."""
    return int(value * _E4)


@dataclass(frozen=True, slots=True)
class SimulationResult:
    """Output of :func:`simulate`.

    ``cases``: one row per case (``setl_id``, ``hospital_code``, ``hospital_level``,
    ``drg``, ``status``, ``payment_class``, ``total_cost``, ``payment_standard``,
    ``cost_ratio`` (cost ÷ standard, 4 decimals), ``drg_payment``,
    ``fund_estimate``, ``balance`` = payment − cost), input order.
    ``totals`` (one row), ``by_hospital``, ``by_level``, ``by_drg``, ``by_class``:
    ``cases``, counts per class, ``total_cost``, ``drg_payment``, ``balance``,
    ``payment_ratio`` (payment ÷ cost), ``fund_estimate``, ``fund_actual``;
    ``totals`` adds ``budget`` and ``budget_gap`` (payment − budget).
    ``distribution``: cases per cost ÷ standard band (``ratio_bins``).
    """

    cases: pl.DataFrame
    totals: pl.DataFrame
    by_hospital: pl.DataFrame
    by_level: pl.DataFrame
    by_drg: pl.DataFrame
    by_class: pl.DataFrame
    distribution: pl.DataFrame


def multipliers(params: SimulationParams) -> tuple[pl.Expr, pl.Expr]:
    """(high, low) multiplier of each case in 1/10,000: by the DRG's weight band
    (``rules.rw_bands``, on ``rw_e4``) or by the hospital level; null: no multiplier."""
    bands = params.rules.rw_bands
    if not bands:
        high = pl.col("hospital_level").replace_strict(
            {lv: _e4(k) for lv, k in params.high_multipliers.items()},
            default=None,
            return_dtype=pl.Int64,
        )
        return high, pl.lit(_e4(params.low_multiplier), pl.Int64)
    rw = pl.col("rw_e4")
    high, low = pl.lit(None, pl.Int64), pl.lit(None, pl.Int64)
    for band in reversed(bands):  # the first band whose bound holds wins
        inside = rw.is_not_null() if band.max_rw is None else rw <= _e4(band.max_rw)
        floor = band.low if band.low is not None else params.low_multiplier
        high = pl.when(inside).then(pl.lit(_e4(band.high), pl.Int64)).otherwise(high)
        low = pl.when(inside).then(pl.lit(_e4(floor), pl.Int64)).otherwise(low)
    return high, low


def _classify(params: SimulationParams) -> pl.Expr:
    c, s = pl.col("cost_fen") * _E4, pl.col("std_fen")
    high, low = pl.col("k_e4"), pl.col("low_e4")
    days = params.rules.long_stay_days
    start = (
        pl.when(pl.col("los_days") > days).then(pl.lit("long_stay"))
        if days is not None
        else pl.when(pl.lit(False)).then(pl.lit(None, pl.String))
    )
    return (
        start.when(pl.col("status") == QY)
        .then(pl.lit("qy"))
        .when(pl.col("status") != OK)
        .then(pl.lit("ungroupable"))
        .when(s.is_null() | high.is_null())
        .then(pl.lit("no_standard"))
        .when(c > high * s)
        .then(pl.lit("high"))
        .when(c < low * s)
        .then(pl.lit("low"))
        .otherwise(pl.lit("normal"))
    )


def _ratio_4(cost_fen: pl.Expr, std_fen: pl.Expr) -> pl.Expr:
    """cost ÷ standard to four places, half up on the exact integers (as pricing's
    ``cost_ratio``), shown as a float; null without a positive standard."""
    up = (2 * cost_fen.abs().cast(pl.Int64) * _E4 + std_fen) // (2 * std_fen)
    signed = pl.when(cost_fen < 0).then(up * -1).otherwise(up)
    return pl.when(std_fen > 0).then((signed.cast(pl.Float64) / _E4).round(4))  # float noise


def _cap_high(frame: pl.DataFrame, cap: Decimal) -> pl.DataFrame:
    """At most ⌊cap × n⌋ high cases per hospital (n: its normal, high and low cases);
    the others, smallest cost − standard first (domain.md §1.5; ties: the higher cost
    ratio stays, then settlement id), become ``high_capped`` (ADR 0043)."""
    num, den = Fraction(cap).numerator, Fraction(cap).denominator
    cls = pl.col("payment_class")
    ranked = (
        frame.filter(cls == "high")
        .with_columns(
            (pl.col("cost_fen") - pl.col("std_fen")).alias("_excess"),
            (pl.col("cost_fen").cast(pl.Int128) * 10**12 // pl.col("std_fen")).alias("_key"),
        )
        .sort(
            ["hospital_code", "_excess", "_key", "setl_id"],
            descending=[False, True, True, False],
        )
        .with_columns(pl.int_range(pl.len()).over("hospital_code").alias("_rank"))
        .select("setl_id", "hospital_code", "_rank")
    )
    counted = frame.filter(cls.is_in(["normal", "high", "low"])).group_by("hospital_code").len()
    allowed = counted.select(
        "hospital_code", ((pl.col("len").cast(pl.Int64) * num) // den).alias("_allowed")
    )
    over = ranked.join(allowed, on="hospital_code").filter(pl.col("_rank") >= pl.col("_allowed"))
    return frame.with_columns(
        pl.when(pl.col("setl_id").is_in(over["setl_id"].implode()) & (cls == "high"))
        .then(pl.lit("high_capped"))
        .otherwise(cls)
        .alias("payment_class")
    )


def _payment(params: SimulationParams) -> pl.Expr:
    """DRG payment in fen per class."""
    cls, cost, std = pl.col("payment_class"), pl.col("cost_fen"), pl.col("std_fen")
    rules = params.rules
    qy = _e4(rules.qy_fraction)
    per_diem = pl.col("hospital_level").replace_strict(
        {lv: int(v * 100) for lv, v in rules.per_diem.items()}, default=None, return_dtype=pl.Int64
    )
    out = (
        pl.when(cls.is_in(["normal", "high_capped"]))
        .then(std)
        .when(cls == "qy")
        .then((2 * cost * qy + _E4) // (2 * _E4))  # half up to the fen
        .when(cls == "long_stay")
        .then(pl.col("los_days").cast(pl.Int64) * per_diem)
    )
    if params.high_payment == "excess":
        # standard + (cost − k·standard) = cost − (k − 1)·standard, rounded half up to the fen
        extra = pl.col("k_e4") - _E4
        excess = cost - (2 * extra * std + _E4) // (2 * _E4)
        out = out.when(cls == "high").then(excess)
    return out.otherwise(cost)


def _fund(params: SimulationParams, has_fund: bool) -> pl.Expr:
    """Estimated fund part of the payment (fen): payment × actual fund ratio (the
    case's fund ÷ cost), or × a fixed share; half away from zero per case, on the
    exact integers (as pricing rounds)."""
    pay = pl.col("pay_fen").cast(pl.Int128)
    if params.fund_share == "actual" and has_fund:
        cost = pl.col("cost_fen").cast(pl.Int128)
        est = pl.when(cost > 0).then(_half_up(pay * pl.col("fund_fen").cast(pl.Int128), cost))
        return est.otherwise(0).cast(pl.Int64)
    share = Fraction(params.fixed_fund_share)
    return _half_up(pay * share.numerator, pl.lit(share.denominator, pl.Int128)).cast(pl.Int64)


def _half_up(num: pl.Expr, den: pl.Expr) -> pl.Expr:
    """num ÷ den (den > 0) rounded half away from zero, in integers."""
    up = (2 * num.abs() + den) // (2 * den)
    return pl.when(num < 0).then(up * -1).otherwise(up)


#: case columns a policy-based fund estimate reads (kept through the classification)
POLICY_INPUTS: Final = (
    "discharge_date",
    "insured_region_code",
    "region_code",
    "insutype",
    "self_pay_full",
    "self_pay_first",
)
#: computes each case's fund part (fen, Int64) from the classified frame
FundEstimate = Callable[[pl.DataFrame], pl.Series]


def classify_cases(
    cases: pl.DataFrame,
    standards: pl.DataFrame,
    params: SimulationParams,
    fund: FundEstimate | None = None,
) -> pl.DataFrame:
    """Cases with ``cost_fen``, ``std_fen``, ``payment_class``, ``pay_fen``,
    ``fund_fen`` (actual, when ``fund_payment`` is given) and ``est_fen``.

    With ``fund_share="policy"``, ``fund`` computes ``est_fen`` from that frame (which
    keeps the :data:`POLICY_INPUTS` columns the cases have)."""
    require(
        cases,
        ("setl_id", "hospital_code", "hospital_level", "status", "drg", "total_cost"),
        "simulate",
    )
    require(standards, ("drg", "hospital_level", "payment_standard"), "simulate(standards)")
    has_fund = "fund_payment" in cases.columns
    rules = params.rules
    if rules.long_stay_days is not None:
        require(cases, ("los_days",), "simulate（超长住院按床日付费需要住院天数）")
    if rules.rw_bands:
        require(standards, ("relative_weight",), "simulate(standards)（按权重分段需要相对权重）")
    std = standards.select(
        "drg",
        "hospital_level",
        fen("payment_standard").alias("std_fen"),
        (rw_units() if rules.rw_bands else pl.lit(None, pl.Int64)).alias("rw_e4"),
    )
    keep = ["setl_id", "hospital_code", "hospital_level", "status", "drg"]
    keep += [c for c in (*POLICY_INPUTS, "los_days") if c in cases.columns]
    frame = cases.select(
        *keep,
        fen("total_cost").alias("cost_fen"),
        fen("fund_payment").alias("fund_fen")
        if has_fund
        else pl.lit(None, dtype=pl.Int64).alias("fund_fen"),
    ).join(std, on=["drg", "hospital_level"], how="left", maintain_order="left")
    if "los_days" not in frame.columns:
        frame = frame.with_columns(pl.lit(None, pl.Int32).alias("los_days"))
    high, low = multipliers(params)
    frame = frame.with_columns(high.alias("k_e4"), low.alias("low_e4"))
    frame = frame.with_columns(_classify(params).alias("payment_class"))
    if rules.high_share_cap is not None:
        frame = _cap_high(frame, rules.high_share_cap)
    frame = frame.with_columns(_payment(params).alias("pay_fen"))
    if params.fund_share != "policy":
        return frame.with_columns(_fund(params, has_fund).alias("est_fen"))
    if fund is None:
        raise MeasureError(
            "fund_share：按待遇政策估算基金支付需要参保地的待遇政策（由测算服务提供）",
            field="fund_share",
        )
    return frame.with_columns(fund(frame).cast(pl.Int64).alias("est_fen"))


def _summary(frame: pl.DataFrame, keys: Sequence[str]) -> pl.DataFrame:
    cls = pl.col("payment_class")
    aggs = [
        pl.len().cast(pl.Int64).alias("cases"),
        *((cls == c).sum().cast(pl.Int64).alias(c) for c in CLASSES),
        pl.col("cost_fen").sum().alias("c"),
        pl.col("pay_fen").sum().alias("p"),
        pl.col("est_fen").sum().alias("f"),
        pl.col("fund_fen").sum().alias("a"),
    ]
    grouped = frame.group_by(list(keys)).agg(aggs).sort(list(keys)) if keys else frame.select(aggs)
    ratio = _ratio_4(pl.col("p"), pl.col("c"))
    return grouped.select(
        *keys,
        "cases",
        *CLASSES,
        money(pl.col("c")).alias("total_cost"),
        money(pl.col("p")).alias("drg_payment"),
        money(pl.col("p") - pl.col("c")).alias("balance"),
        ratio.alias("payment_ratio"),
        money(pl.col("f")).alias("fund_estimate"),
        money(pl.col("a")).alias("fund_actual"),
    )


def _distribution(frame: pl.DataFrame, bins: Sequence[Decimal]) -> pl.DataFrame:
    """Cases, cost and payment per band of cost ÷ standard (exact integer bands)."""
    edges = [_e4(b) for b in bins]
    labels = [f"< {bins[0]}", *(f"{a}–{b}" for a, b in itertools.pairwise(bins)), f"≥ {bins[-1]}"]
    c = pl.col("cost_fen") * _E4
    band = pl.sum_horizontal([(c >= e * pl.col("std_fen")).cast(pl.Int32) for e in edges])
    counted = (
        frame.filter(
            pl.col("std_fen").is_not_null()
            & pl.col("payment_class").is_in(["normal", "high", "low"])
        )
        .group_by(band.alias("band"))
        .agg(
            pl.len().cast(pl.Int64).alias("cases"),
            pl.col("cost_fen").sum().alias("c"),
            pl.col("pay_fen").sum().alias("p"),
        )
    )
    order = pl.DataFrame(
        {"band": list(range(len(labels))), "ratio_band": labels},
        schema={"band": pl.Int32, "ratio_band": pl.String},
    )
    return order.join(counted, on="band", how="left", maintain_order="left").select(
        "ratio_band",
        pl.col("cases").fill_null(0),
        money(pl.col("c").fill_null(0)).alias("total_cost"),
        money(pl.col("p").fill_null(0)).alias("drg_payment"),
    )


def simulate(
    cases: pl.DataFrame,
    standards: pl.DataFrame,
    params: SimulationParams | None = None,
    *,
    budget: Decimal | None = None,
    fund: FundEstimate | None = None,
) -> SimulationResult:
    """Classify each case and compute its simulated DRG payment (domain.md §1.5, §1.7).

    ``cases``: one year's cases (measurement frame; keep QY / ungroupable cases in,
    they are paid by items; drop cases with missing fields first).  ``standards``:
    :func:`~yibao.engines.measure.payment_standards` output.  ``budget``: shown in
    ``totals`` against the DRG payment.  Classification and payment rules: module
    docstring; fund estimate: :class:`SimulationParams` (actual fund ratio by default).
    """
    params = params or SimulationParams()
    frame = classify_cases(cases, standards, params, fund)
    target = pl.lit(budget, dtype=MONEY)
    totals = _summary(frame, ()).with_columns(
        target.alias("budget"), (pl.col("drg_payment") - target).cast(MONEY).alias("budget_gap")
    )
    by_class = _summary(frame, ("payment_class",))
    order = pl.DataFrame(
        {"payment_class": list(CLASSES), "class_name": [CLASS_NAMES[c] for c in CLASSES]}
    )
    by_class = order.join(by_class, on="payment_class", how="inner", maintain_order="left")
    out = frame.select(
        "setl_id",
        "hospital_code",
        "hospital_level",
        "drg",
        "status",
        "payment_class",
        money(pl.col("cost_fen")).alias("total_cost"),
        money(pl.col("std_fen")).alias("payment_standard"),
        _ratio_4(pl.col("cost_fen"), pl.col("std_fen")).alias("cost_ratio"),
        money(pl.col("pay_fen")).alias("drg_payment"),
        money(pl.col("est_fen")).alias("fund_estimate"),
        money(pl.col("pay_fen") - pl.col("cost_fen")).alias("balance"),
    )
    return SimulationResult(
        cases=out,
        totals=totals,
        by_hospital=_summary(frame, ("hospital_code", "hospital_level")),
        by_level=_summary(frame, ("hospital_level",)),
        by_drg=_summary(frame, ("drg",)),
        by_class=by_class,
        distribution=_distribution(frame, params.ratio_bins),
    )


@dataclass(frozen=True, slots=True)
class ScenarioComparison:
    """Scenarios side by side: ``totals`` (one row per scenario), ``by_level`` and
    ``by_hospital`` (long form, ``scenario`` first), in the order given."""

    totals: pl.DataFrame
    by_level: pl.DataFrame
    by_hospital: pl.DataFrame


def compare_scenarios(scenarios: Mapping[str, SimulationResult]) -> ScenarioComparison:
    """Stack the summaries of several simulations under their scenario names."""

    def stack(part: str) -> pl.DataFrame:
        frames = [
            getattr(result, part).select(pl.lit(name).alias("scenario"), pl.all())
            for name, result in scenarios.items()
        ]
        return pl.concat(frames, how="vertical") if frames else pl.DataFrame()

    return ScenarioComparison(stack("totals"), stack("by_level"), stack("by_hospital"))
