"""Hospital / department indices: CMI, cost and time consumption, low-risk mortality.

Definitions (domain.md §1.3–§1.4):

* CMI = Σ(RW × cases) ÷ cases (S1), exact on 4-decimal weights, rounded half up;
* cost consumption index = Σ_g k_g·n_g ÷ Σ_g n_g with k_g = the unit's average cost
  in DRG g ÷ the regional average cost in g (S14 / [M]); ``time_index`` the same
  with length of stay; both over the DRGs whose regional mean is positive (else
  k_g = 0 ÷ 0), null for a unit without such a DRG;
* low-risk-group mortality: per DRG mortality m_g; over the DRGs with deaths, μ and
  σ (ddof 1) of ln m_g; ln m_g < μ − σ is 低风险 (level 1), [μ − σ, μ) 中低 (2),
  [μ, μ + σ) 中高 (3), ≥ μ + σ 高 (4), no deaths = level 0 ([M], S38).  Low-risk
  mortality = deaths ÷ cases in level-1 DRGs (optionally level 0 too).

The regional references are the cases passed in (all units together); only cases
whose DRG has a weight count.
"""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal
from typing import Final

import polars as pl

from yibao.engines.measure.frames import DEATH, fen, require, rw_units

RISK_NAMES: Final[dict[int, str]] = {
    0: "无死亡",
    1: "低风险",
    2: "中低风险",
    3: "中高风险",
    4: "高风险",
}


def mortality_risk(cases: pl.DataFrame) -> pl.DataFrame:
    """Mortality risk level per DRG, sorted by ``drg``: ``cases``, ``deaths``,
    ``mortality``, ``ln_mortality``, ``risk_level`` (0–4) and ``risk_name``."""
    require(cases, ("drg", "discharge_way"), "mortality_risk")
    per = (
        cases.group_by("drg")
        .agg(
            pl.len().cast(pl.Int64).alias("cases"),
            (pl.col("discharge_way") == DEATH).sum().cast(pl.Int64).alias("deaths"),
        )
        .sort("drg")
        .with_columns((pl.col("deaths") / pl.col("cases")).alias("mortality"))
        .with_columns(
            pl.when(pl.col("deaths") > 0).then(pl.col("mortality").log()).alias("ln_mortality")
        )
    )
    ln = per["ln_mortality"].drop_nulls()
    mu = float(ln.mean()) if ln.len() else 0.0  # type: ignore[arg-type]
    sigma = float(ln.std(ddof=1) or 0.0) if ln.len() > 1 else 0.0  # type: ignore[arg-type]
    x = pl.col("ln_mortality")
    # a group exactly on a bound (ln m = μ − σ in exact arithmetic) belongs to the upper
    # interval; floating point can put it a few ulps below, so compare with a margin
    eps = 1e-9 * max(1.0, abs(mu) + sigma)
    level = (
        pl.when(x.is_null())
        .then(0)
        .when(x < mu - sigma - eps)
        .then(1)
        .when(x < mu - eps)
        .then(2)
        .when(x < mu + sigma - eps)
        .then(3)
        .otherwise(4)
    )
    return per.with_columns(level.cast(pl.Int8).alias("risk_level")).with_columns(
        pl.col("risk_level").replace_strict(RISK_NAMES, return_dtype=pl.String).alias("risk_name")
    )


def hospital_indices(
    cases: pl.DataFrame,
    weights: pl.DataFrame,
    *,
    by: Sequence[str] = ("hospital_code",),
    low_risk_levels: Sequence[int] = (1,),
) -> pl.DataFrame:
    """CMI, cost / time consumption indices and low-risk mortality per unit.

    ``by``: the unit columns, e.g. ``("hospital_code",)`` or
    ``("hospital_code", "discharge_dept")`` for departments.  ``low_risk_levels``:
    the risk levels counted as low risk (``(0, 1)`` to include DRGs without deaths).
    Definitions: module docstring.  One row per unit, sorted by ``by``: ``cases``,
    ``total_weight`` and ``cmi`` (``Decimal(18, 4)``), ``cost_index``,
    ``time_index`` (4 decimals), ``low_risk_cases``, ``low_risk_deaths``,
    ``low_risk_mortality``.
    """
    keys = list(by)
    require(cases, (*keys, "drg", "total_cost", "los_days", "discharge_way"), "hospital_indices")
    require(weights, ("drg", "relative_weight"), "hospital_indices(weights)")
    rw = weights.filter(pl.col("relative_weight").is_not_null()).select(
        "drg", rw_units().alias("rw_e4")
    )
    base = cases.join(rw, on="drg", how="inner")
    risk = mortality_risk(base).select(
        "drg", pl.col("risk_level").is_in(list(low_risk_levels)).alias("low_risk")
    )
    region = base.group_by("drg").agg(
        pl.len().alias("n_g"),
        fen("total_cost").sum().cast(pl.Float64).alias("cost_g"),
        pl.col("los_days").sum().cast(pl.Float64).alias("los_g"),
    )
    cells = (
        base.group_by(*keys, "drg")
        .agg(
            pl.len().cast(pl.Int64).alias("n"),
            fen("total_cost").sum().cast(pl.Float64).alias("cost"),
            pl.col("los_days").sum().cast(pl.Float64).alias("los"),
            (pl.col("discharge_way") == DEATH).sum().cast(pl.Int64).alias("deaths"),
            pl.col("rw_e4").first(),
        )
        .join(region, on="drg")
        .join(risk, on="drg")
        .sort(*keys, "drg")  # fixed order before the float sums
    )
    return _unit_indices(cells, keys)


def _unit_indices(cells: pl.DataFrame, keys: list[str]) -> pl.DataFrame:
    """Aggregate the unit × DRG cells: k_g·n_g = S_ug·n_g ÷ S_g (cost), likewise LOS.

    A DRG whose regional total cost (LOS) is 0 has no k_g (0 ÷ 0): it is left out of
    that index's numerator *and* denominator, and a unit with no other DRG gets null.
    Indices and the mortality are rounded half up (四舍五入); the mortality exactly,
    on the integer counts."""
    k_cost = pl.col("cost") * pl.col("n_g") / pl.col("cost_g")
    k_time = pl.col("los") * pl.col("n_g") / pl.col("los_g")
    low = pl.col("low_risk")
    per = cells.group_by(keys, maintain_order=True).agg(
        pl.col("n").sum().alias("cases"),
        (pl.col("n") * pl.col("rw_e4")).sum().alias("w_e4"),
        pl.when(pl.col("cost_g") > 0).then(k_cost).sum().alias("k_cost"),
        pl.when(pl.col("cost_g") > 0).then(pl.col("n")).sum().alias("n_cost"),
        pl.when(pl.col("los_g") > 0).then(k_time).sum().alias("k_time"),
        pl.when(pl.col("los_g") > 0).then(pl.col("n")).sum().alias("n_time"),
        pl.when(low).then(pl.col("n")).sum().alias("low_risk_cases"),
        pl.when(low).then(pl.col("deaths")).sum().alias("low_risk_deaths"),
    )
    unit = pl.lit(Decimal("0.0001"))
    cmi_e4 = (2 * pl.col("w_e4") + pl.col("cases")) // (2 * pl.col("cases"))
    lr_n, lr_d = pl.col("low_risk_cases"), pl.col("low_risk_deaths")
    mortality_e4 = (2 * 10_000 * lr_d + lr_n) // (2 * lr_n)
    return per.select(
        *keys,
        "cases",
        (pl.col("w_e4").cast(pl.Decimal(38, 0)) * unit)
        .cast(pl.Decimal(18, 4))
        .alias("total_weight"),
        (cmi_e4.cast(pl.Decimal(38, 0)) * unit).cast(pl.Decimal(18, 4)).alias("cmi"),
        _index("k_cost", "n_cost").alias("cost_index"),
        _index("k_time", "n_time").alias("time_index"),
        lr_n.cast(pl.Int64),
        lr_d.cast(pl.Int64),
        pl.when(lr_n > 0).then((mortality_e4 / 10_000).round(4)).alias("low_risk_mortality"),
    ).sort(keys)


def _index(weighted: str, cases: str) -> pl.Expr:
    """Σ k_g·n_g ÷ Σ n_g over the DRGs with a k_g, 4 decimals half up; null without one."""
    ratio = (pl.col(weighted) / pl.col(cases)).round(4, mode="half_away_from_zero")
    return pl.when(pl.col(cases) > 0).then(ratio)
