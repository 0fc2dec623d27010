"""DIP case payment and its simulation (domain.md §2.3–2.6), exact to the fen.

    payment = adjusted score × hospital coefficient × point value

The adjusted score is the group's score after the deviation rule
(:func:`~.scores.adjust_scores`: pro rata below the low bound, score × (ratio − 1)
above the high bound); a case in the blank group (no group) is paid by items — its
cost — and counted apart.  The hospital coefficient is a base per hospital level
plus the hospital's own add-ons (e.g. the Xiamen scheme of §2.6), given by the
caller.  :func:`solve_point_value` finds the point value that spends a budget
exactly (payments are linear in it)."""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal
from fractions import Fraction

import polars as pl

from yibao.engines.caseframe import MONEY
from yibao.engines.dip.params import LEVEL_COEFFICIENTS, DeviationParams
from yibao.engines.dip.scores import POINT_PLACES, adjust_scores, half_up, score_places
from yibao.engines.measure.errors import MeasureError
from yibao.engines.measure.frames import fen, require, round_half_up


def coefficients(
    hospitals: pl.DataFrame,
    base: Mapping[str, Decimal] | None = None,
    add_ons: Mapping[str, Decimal] | None = None,
) -> dict[str, Decimal]:
    """Hospital code → coefficient: the base of its level plus its add-on (0 without
    one).  ``hospitals`` has ``code`` and ``level``; a level without a base is refused,
    and so is an add-on that leaves the coefficient at or below zero (it would pay a
    case nothing or a negative amount)."""
    require(hospitals, ("code", "level"), "coefficients")
    base = base or LEVEL_COEFFICIENTS
    add_ons = add_ons or {}
    out: dict[str, Decimal] = {}
    for code, level in hospitals.select("code", pl.col("level").cast(pl.String)).iter_rows():
        if level not in base:
            raise MeasureError(
                f"医院 {code} 的等级 {level} 没有基础系数（已设置：{'、'.join(sorted(base))}）",
                field="coefficients",
            )
        add_on = add_ons.get(code, Decimal(0))
        out[code] = base[level] + add_on
        if out[code] <= 0:
            raise MeasureError(
                f"add_ons.{code}：医院 {code} 的医疗机构系数 = 等级基础系数 {base[level]} "
                f"+ 加成 {add_on} = {out[code]}，须大于 0",
                field=f"add_ons.{code}",
            )
    return out


def case_payments(
    cases: pl.DataFrame,
    hospital_coefficients: Mapping[str, Decimal],
    point_value: Decimal,
    deviation: DeviationParams | None = None,
) -> pl.DataFrame:
    """Each case of ``cases`` (``hospital_code``, ``total_cost``, ``dip_code``, ``score``,
    ``standard_cost``) with ``ratio``, ``deviation``, ``extreme``, ``adjusted_score``,
    ``coefficient`` and ``payment`` (yuan, half up to the fen); ``by_items`` marks a
    case without a group, paid its cost."""
    require(
        cases,
        ("hospital_code", "total_cost", "dip_code", "score", "standard_cost"),
        "case_payments",
    )
    if point_value <= 0:
        raise MeasureError(
            f"point_value：点值必须大于 0（收到 {point_value}）", field="point_value"
        )
    missing = set(cases["hospital_code"].unique().to_list()) - set(hospital_coefficients)
    if missing:
        raise MeasureError(
            f"医院 {'、'.join(sorted(map(str, missing)))} 没有医疗机构系数", field="coefficients"
        )
    adjusted = adjust_scores(cases, deviation)
    places = score_places(adjusted.schema["adjusted_score"])
    pn, pd = Fraction(point_value).numerator, Fraction(point_value).denominator
    fractions = {h: Fraction(c) for h, c in hospital_coefficients.items()}
    payments: list[Decimal] = []
    coefs: list[Decimal] = []
    ints = adjusted.select(
        "hospital_code",
        fen("total_cost").alias("c"),
        "dip_code",
        pl.col("adjusted_score").cast(pl.Decimal(38, places)).to_physical().alias("s"),
    )
    scale = 10**places
    for hospital, cost, code, score in ints.iter_rows():
        coefs.append(hospital_coefficients[hospital])
        if code is None or score is None:
            payments.append(Decimal(cost).scaleb(-2))
            continue
        f = fractions[hospital]  # fen = score/10^p × coefficient × point value × 100
        num = score * f.numerator * pn * 100
        payments.append(Decimal(half_up(num, scale * f.denominator * pd)).scaleb(-2))
    return adjusted.with_columns(
        pl.Series("coefficient", coefs, dtype=pl.Decimal(18, 4)),
        pl.Series("payment", payments, dtype=MONEY),
        (pl.col("dip_code").is_null() | pl.col("adjusted_score").is_null()).alias("by_items"),
    )


def hospital_summary(payments: pl.DataFrame) -> pl.DataFrame:
    """Per hospital: cases, by-items cases, low / high / extreme deviation cases, total
    cost, total adjusted score, payment and payment − cost (盈亏), sorted by code."""
    require(payments, ("hospital_code", "total_cost", "payment", "deviation"), "hospital_summary")
    totals = (
        payments.group_by("hospital_code")
        .agg(
            pl.len().alias("cases"),
            pl.col("by_items").sum().alias("by_items"),
            (pl.col("deviation") == "low").sum().alias("low"),
            (pl.col("deviation") == "high").sum().alias("high"),
            pl.col("extreme").sum().alias("extreme"),
            fen("total_cost").sum().alias("_cost"),
            pl.col("adjusted_score").cast(pl.Decimal(18, 4)).sum().alias("total_score"),
            fen("payment").sum().alias("_pay"),
        )
        .sort("hospital_code")
    )

    def yuan(values: list[int]) -> pl.Series:  # exact: integer fen → Decimal yuan
        return pl.Series([Decimal(int(v)).scaleb(-2) for v in values], dtype=MONEY)

    cost, pay = totals["_cost"].to_list(), totals["_pay"].to_list()
    return totals.drop("_cost", "_pay").with_columns(
        yuan(cost).alias("total_cost"),
        yuan(pay).alias("payment"),
        yuan([p - c for p, c in zip(pay, cost, strict=True)]).alias("balance"),
    )


def solve_point_value(
    payments: pl.DataFrame, budget: Decimal, places: int = POINT_PLACES
) -> Decimal:
    """The point value that spends ``budget`` on the cases of ``payments``: (budget −
    what the by-items cases cost) ÷ Σ adjusted score × coefficient."""
    require(payments, ("adjusted_score", "coefficient", "by_items", "total_cost"), "solve")
    digits = score_places(payments.schema["adjusted_score"])
    sums = (
        payments.filter(~pl.col("by_items"))
        .group_by("coefficient")
        .agg(pl.col("adjusted_score").cast(pl.Decimal(38, digits)).to_physical().sum())
    )
    weight = sum(
        (Fraction(c) * Fraction(int(s), 10**digits) for c, s in sums.iter_rows()), Fraction(0)
    )
    by_items = Fraction(
        int(payments.filter(pl.col("by_items")).select(fen("total_cost").sum()).item() or 0), 100
    )
    left = Fraction(budget) - by_items
    if weight <= 0 or left <= 0:
        raise MeasureError(
            f"budget：预算 {budget} 元不足以支付按项目结算的病例或没有可分值付费的病例",
            field="budget",
        )
    return round_half_up(left / weight, places)
