"""Year-end clearing (年终清算): final rate or point value, re-pricing, deposit release.

Domain.md §1.3 (rate = budget ÷ total weight [P] S1; point value = budget ÷ total
points, "总额预算、月度预拨、点数计算、年终清算" [L/S] S5, S6), §1.7 (settlement = points ×
final 点值 − monthly prepayments − patient/other-fund amounts ± evaluation [S] S6 / [M];
deposit 10 % released at the annual assessment [S] S3) and §2.3 (fund budget ÷
reimbursement ratio [S] S15)::

    distributable = payment budget − item-paid amounts          (budget_covers="all")
    final value   = distributable ÷ Σ_i RW_i · c_level · scale   (half up, value_places)
    final payment = RW_i · c_level · scale · final value + fixed part   (per case, fen)

    DIP (``method="dip"``, ADR 0030): points_i = adjusted score_i × the hospital's
    coefficient (from the pricing); the final value is the 结算点值 (§2.3: fund ÷
    reimbursement ratio ÷ Σ points, with ``fund_ratio``) and replaces the budget point
    value the months were advanced with.

    per hospital:
    fund due      = Σ final payment − Σ patient and other-fund amounts      (fund_basis="total")
                  = Σ priced fund + Σ (final − provisional payment)     (fund_basis="priced")
    final fund    = fund due − deductions of the year (monthly statements: review
                    and intelligent-audit deductions, net of the review additions 调增)
    deposit       = max(0, final fund) × deposit_rate;  released = deposit × share(score)
    clearing      = final fund − (deposit − released) − paid during the year

"Paid during the year" is Σ (advances + net payable) of the monthly statements, so
the withheld monthly deposits and any held-back share are settled here.  Positive
clearing: the fund pays the hospital; negative: it recovers.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from fractions import Fraction
from typing import Final

import polars as pl

from yibao.engines.caseframe import MONEY
from yibao.engines.measure.frames import round_half_up
from yibao.engines.settlement.errors import SettlementError
from yibao.engines.settlement.frames import fen, require, to_money
from yibao.engines.settlement.params import ClearingParams

POINTS: Final = pl.Decimal(28, 8)
_UNITS: Final = 10**8  # weight units: RW (1/10,000) × coefficient (1/10,000)
STATEMENT_KEYS: Final = (
    "hospital_code",
    "deductions",
    "advances",
    "net_payable",
    "deposit_withheld",
)
_CASE_KEYS: Final = (
    "setl_id",
    "hospital_code",
    "hospital_level",
    "payment_class",
    "payment_basis",
    "relative_weight",
    "drg_payment",
    "items_part",
    "patient_other",
    "fund_amount",
)


@dataclass(frozen=True, slots=True)
class ClearingResult:
    """Output of :func:`year_end_clearing`.

    ``payment_budget``: the budget in payment terms (÷ ``fund_ratio`` when given);
    ``fixed_total``: item-paid amounts (taken off first with ``budget_covers="all"``);
    ``total_points``: Σ weights (rate method) or Σ points; ``final_value``: the final
    rate / point value; ``level_values``: per level (× coefficient); ``residual``:
    payment budget − Σ final payments (rounding).  ``cases``: one row per case, sorted
    by ``setl_id``: ``points``, ``provisional_payment``, ``final_payment``,
    ``difference``.  ``hospitals``: one row per hospital, sorted, with the clearing
    figures (module docstring).  ``months`` / ``missing_months``: the year's months
    confirmed and not yet confirmed (a clearing of part of a year divides a whole year's
    budget among part of its cases).
    """

    method: str
    payment_budget: Decimal
    fixed_total: Decimal
    total_points: Decimal
    final_value: Decimal
    level_values: dict[str, Decimal]
    residual: Decimal
    cases: pl.DataFrame
    hospitals: pl.DataFrame
    #: the year's months whose settlement confirmation is done, and those still open
    #: (set by the service, which knows the periods; the engine sees only cases)
    months: tuple[str, ...] = ()
    missing_months: tuple[str, ...] = ()


def _mixed(frame: pl.DataFrame, method: str) -> None:
    """Refuse a year whose cases were paid under the other method (DRG vs DIP)."""
    dip = method == "dip"
    other = ("standard", "excess") if dip else ("score",)
    bad = frame.filter(pl.col("payment_basis").is_in(other))
    if bad.height:
        kind, right = ("DRG 支付标准", "rate / point") if dip else ("DIP 病种分值", "dip")
        raise SettlementError(
            f"year_end_clearing：{bad.height} 条病例按{kind}结算"
            f"（如 {'、'.join(bad['setl_id'].head(5).to_list())}），"
            f"不能用此清算方法；请按 method={right} 清算",
            field="method",
        )


def _dip_weighted(year_cases: pl.DataFrame) -> pl.DataFrame:
    """DIP: ``units`` = adjusted score × the hospital's coefficient in 1/10⁸ (the case's
    points, ``relative_weight`` holds the adjusted score); 0 for item-paid cases."""
    require(year_cases, ("adjusted_score", "coefficient"), "year_end_clearing(year_cases)")
    scored = pl.col("payment_basis") == "score"
    e4 = pl.Decimal(18, 4)
    score = pl.col("adjusted_score").cast(e4).to_physical().cast(pl.Int64)
    coef = pl.col("coefficient").cast(e4).to_physical().cast(pl.Int64)
    frame = year_cases.with_columns(
        pl.col("adjusted_score").cast(e4).alias("relative_weight"),
        pl.when(scored).then(score * coef).otherwise(pl.lit(0)).alias("units"),
        scored.alias("weighted"),
        fen("items_part").alias("fixed_fen"),
    ).select(*_CASE_KEYS, "units", "weighted", "fixed_fen")
    bad = frame.filter(pl.col("weighted") & pl.col("units").is_null())
    if bad.height:
        raise SettlementError(
            f"year_end_clearing：{bad.height} 条按病种分值支付的病例缺少分值或医疗机构系数"
            f"（如 {'、'.join(bad['setl_id'].head(5).to_list())}）",
            field="adjusted_score",
        )
    return frame


def cap_high_cases(year_cases: pl.DataFrame, cap: Decimal) -> pl.DataFrame:
    """The cap on high-multiplier cases (ADR 0031, 0043): per hospital at most
    ⌊cap × n⌋ of its ``n`` normal, high and low cases stay high; the others, smallest
    ``total_cost − payment_standard`` first (domain.md §1.5; ties: the higher
    ``cost_ratio`` stays, then settlement id), become ``high_capped`` and are paid by
    weight (basis ``standard``, no item-paid part).  A case whose cost is unknown
    ranks by its ratio × standard."""
    require(
        year_cases,
        ("cost_ratio", "total_cost", "payment_standard"),
        "year_end_clearing(year_cases)（高倍率比例上限）",
    )
    num, den = Fraction(cap).numerator, Fraction(cap).denominator
    cls = pl.col("payment_class")
    counted = year_cases.filter(cls.is_in(["normal", "high", "low"])).group_by("hospital_code")
    allowed = counted.len().select(
        "hospital_code", ((pl.col("len").cast(pl.Int64) * num) // den).alias("_allowed")
    )
    wide = pl.Decimal(38, 6)
    standard = pl.col("payment_standard").cast(wide)
    cost = pl.col("total_cost").cast(wide).fill_null((pl.col("cost_ratio") * standard).cast(wide))
    cost_fen, standard_fen = ((e * 100).cast(pl.Int128) for e in (cost, standard))
    over = (
        year_cases.filter(cls == "high")
        .with_columns(
            (cost - standard).alias("_excess"),
            # the exact ratio (not the stored four places), as the simulation ranks
            pl.when(standard_fen > 0).then(cost_fen * 10**12 // standard_fen).alias("_ratio"),
        )
        .sort(
            ["hospital_code", "_excess", "_ratio", "setl_id"],
            descending=[False, True, True, False],
            nulls_last=True,
        )
        .with_columns(pl.int_range(pl.len()).over("hospital_code").alias("_rank"))
        .join(allowed, on="hospital_code")
        .filter(pl.col("_rank") >= pl.col("_allowed"))["setl_id"]
    )
    capped = pl.col("setl_id").is_in(over.implode()) & (cls == "high")
    return year_cases.with_columns(
        pl.when(capped).then(pl.lit("high_capped")).otherwise(cls).alias("payment_class"),
        pl.when(capped)
        .then(pl.lit("standard"))
        .otherwise(pl.col("payment_basis"))
        .alias("payment_basis"),
        pl.when(capped)
        .then(pl.lit(Decimal("0.00")))
        .otherwise(pl.col("items_part"))
        .cast(MONEY)
        .alias("items_part"),
    )


def _weighted(year_cases: pl.DataFrame, params: ClearingParams) -> pl.DataFrame:
    """``units``: RW × level coefficient × scale in 1/10⁸ (0 for item-paid cases); for
    DIP the case's points (:func:`_dip_weighted`)."""
    _mixed(year_cases, params.method)
    if params.method == "dip":
        return _dip_weighted(year_cases)
    coef = {lv: int(c * 10_000) for lv, c in (params.level_coefficients or {}).items()}
    scale = int(params.point_scale) if params.method == "point" else 1
    weighted = pl.col("payment_basis").is_in(("standard", "excess"))
    rw = pl.col("relative_weight").cast(pl.Decimal(18, 4)).to_physical().cast(pl.Int64)
    c = pl.col("hospital_level").replace_strict(coef, default=10_000, return_dtype=pl.Int64)
    frame = year_cases.select(_CASE_KEYS).with_columns(
        pl.when(weighted).then(rw * c * scale).otherwise(pl.lit(0)).alias("units"),
        weighted.alias("weighted"),
        fen("items_part").alias("fixed_fen"),
    )
    bad = frame.filter(pl.col("weighted") & pl.col("units").is_null())
    if bad.height:
        raise SettlementError(
            f"year_end_clearing：{bad.height} 条按病组支付的病例缺少相对权重 relative_weight"
            f"（如 {'、'.join(bad['setl_id'].head(5).to_list())}），无法按权重重新计价",
            field="relative_weight",
        )
    return frame


def _final_value(
    budget: Decimal, fixed_fen: int, units: int, params: ClearingParams
) -> tuple[Fraction, Fraction]:
    """(payment budget, value per weight / point) as exact fractions."""
    total = Fraction(budget)
    if params.fund_ratio is not None:
        total /= Fraction(params.fund_ratio)
    fixed = Fraction(fixed_fen, 100) if params.budget_covers == "all" else Fraction(0)
    if units <= 0:
        raise SettlementError(
            "year_end_clearing：全年没有按病组（病种分值）支付的病例，总权重为 0",
            field="year_cases",
        )
    if total - fixed <= 0:
        raise SettlementError(
            f"year_end_clearing：预算 {round_half_up(total, 2)} 元不足以支付按项目病例 "
            f"{round_half_up(fixed, 2)} 元，没有可按权重分配的金额",
            field="budget",
        )
    value = (total - fixed) / Fraction(units, _UNITS)
    if params.value_places is not None:
        value = Fraction(round_half_up(value, params.value_places))
    return total, value


def _release_share(score: Decimal, params: ClearingParams) -> Decimal:
    """Share of the deposit released for an assessment score."""
    if params.release == "linear":
        return min(Decimal(1), max(Decimal(0), score / 100))
    for band in params.release_bands:
        if score >= band.min_score:
            return band.share
    return Decimal(0)


def _monthly_sums(
    statements: pl.DataFrame | Sequence[pl.DataFrame],
) -> dict[str, tuple[Decimal, Decimal, Decimal]]:
    """{hospital: (deductions net of additions, paid during the year, deposits withheld)}."""
    frames = [statements] if isinstance(statements, pl.DataFrame) else list(statements)
    for frame in frames:
        require(frame, STATEMENT_KEYS, "year_end_clearing(monthly_statements)")
    if not frames:
        return {}

    def net(frame: pl.DataFrame) -> pl.DataFrame:
        # intelligent-audit deductions count as deductions of the year; review
        # additions (调增) net against the deductions here
        if "audit_deductions" in frame.columns:
            frame = frame.with_columns(
                (pl.col("deductions").cast(MONEY) + pl.col("audit_deductions").cast(MONEY))
                .cast(MONEY)
                .alias("deductions")
            )
        if "additions" not in frame.columns:
            return frame
        return frame.with_columns(
            (pl.col("deductions").cast(MONEY) - pl.col("additions").cast(MONEY)).cast(MONEY)
        )

    stacked = pl.concat(
        [
            net(f).select(
                pl.col(k).cast(MONEY) if k != "hospital_code" else k for k in STATEMENT_KEYS
            )
            for f in frames
        ]
    )
    sums = stacked.group_by("hospital_code").agg(
        fen("deductions").sum().alias("d"),
        (fen("advances") + fen("net_payable")).sum().alias("p"),
        fen("deposit_withheld").sum().alias("w"),
    )
    return {
        str(h): (Decimal(int(d)) / 100, Decimal(int(p)) / 100, Decimal(int(w)) / 100)
        for h, d, p, w in sums.select("hospital_code", "d", "p", "w").rows()
    }


def _reprice(frame: pl.DataFrame, value: Fraction) -> pl.DataFrame:
    """Final payment per case: units × value rounded half up to the fen + fixed part
    (computed once per distinct weight, exact)."""
    distinct = frame.select(pl.col("units").unique().sort()).to_series().to_list()
    pay = [int(round_half_up(Fraction(u, _UNITS) * value, 2) * 100) for u in distinct]
    lookup = pl.DataFrame(
        {"units": distinct, "weight_fen": pay}, schema={"units": pl.Int64, "weight_fen": pl.Int64}
    )
    return frame.join(lookup, on="units", how="left", maintain_order="left").with_columns(
        (pl.col("weight_fen") + pl.col("fixed_fen")).alias("final_fen")
    )


def year_end_clearing(
    year_cases: pl.DataFrame,
    budget: Decimal,
    monthly_statements: pl.DataFrame | Sequence[pl.DataFrame],
    assessment_scores: Mapping[str, Decimal | int],
    params: ClearingParams | None = None,
) -> ClearingResult:
    """Clear the year: final rate / point value, re-priced cases, hospital settlement.

    ``year_cases``: :func:`price_batch` output for the whole year (``payment_basis``,
    ``relative_weight``, ``drg_payment``, ``items_part``, ``patient_other`` …).
    ``budget``: the year's budget (payment terms, or fund terms with
    ``params.fund_ratio``).  ``monthly_statements``: the year's
    :func:`monthly_statement` frames (one frame or several).  ``assessment_scores``:
    hospital → annual assessment score (0–100).  Formulas: module docstring.
    """
    params = params or ClearingParams()
    require(year_cases, _CASE_KEYS, "year_end_clearing(year_cases)")
    if params.high_share_cap is not None and params.method != "dip":
        year_cases = cap_high_cases(year_cases, params.high_share_cap)
    frame = _weighted(year_cases, params)
    units = int(frame["units"].sum())
    fixed_fen = int(frame["fixed_fen"].sum())
    total, value = _final_value(budget, fixed_fen, units, params)
    frame = _reprice(frame, value)
    cases = frame.select(
        "setl_id",
        "hospital_code",
        "hospital_level",
        "payment_class",
        "payment_basis",
        "relative_weight",
        (pl.col("units").cast(pl.Decimal(38, 0)) * pl.lit(Decimal(1) / _UNITS))
        .cast(POINTS)
        .alias("points"),
        pl.col("drg_payment").alias("provisional_payment"),
        to_money(pl.col("final_fen")).alias("final_payment"),
        to_money(pl.col("final_fen") - fen("drg_payment")).alias("difference"),
    ).sort("setl_id")
    hospitals = _hospitals(frame, monthly_statements, assessment_scores, params)
    paid_fen = int(frame["final_fen"].sum())
    coef = params.level_coefficients or {}
    final_value = _decimal(value, params.value_places)
    return ClearingResult(
        method=params.method,
        payment_budget=round_half_up(total, 2),
        fixed_total=Decimal(fixed_fen) / 100,
        total_points=Decimal(units) / _UNITS,
        final_value=final_value,
        level_values={lv: final_value * coef.get(lv, Decimal(1)) for lv in ("1", "2", "3")},
        residual=round_half_up(total - Fraction(paid_fen, 100), 2),
        cases=cases,
        hospitals=hospitals,
    )


def _decimal(value: Fraction, places: int | None) -> Decimal:
    return round_half_up(value, places if places is not None else 10)


def _hospitals(
    frame: pl.DataFrame,
    statements: pl.DataFrame | Sequence[pl.DataFrame],
    scores: Mapping[str, Decimal | int],
    params: ClearingParams,
) -> pl.DataFrame:
    sums = frame.group_by("hospital_code").agg(
        pl.len().cast(pl.Int64).alias("cases"),
        pl.col("units").sum(),
        fen("drg_payment").sum().alias("provisional"),
        pl.col("final_fen").sum().alias("final"),
        fen("patient_other").sum().alias("patient_other"),
        fen("fund_amount").sum().alias("fund_priced"),
    )
    per_case = {str(r["hospital_code"]): r for r in sums.iter_rows(named=True)}
    monthly = _monthly_sums(statements)
    hospitals = sorted(set(per_case) | set(monthly))
    missing = [h for h in hospitals if h not in scores]
    if missing and params.missing_score is None:
        raise SettlementError(
            f"assessment_scores：缺少 {len(missing)} 家医院的年度考核得分："
            f"{'、'.join(missing[:10])}（或设置 missing_score）",
            field="assessment_scores",
        )
    zero = (Decimal(0), Decimal(0), Decimal(0))
    rows = [
        _hospital_row(h, per_case.get(h, {}), monthly.get(h, zero), scores, params)
        for h in hospitals
    ]
    return pl.DataFrame(rows, schema=HOSPITAL_SCHEMA, orient="row")


def _hospital_row(
    h: str,
    got: Mapping[str, object],
    monthly: tuple[Decimal, Decimal, Decimal],
    scores: Mapping[str, Decimal | int],
    params: ClearingParams,
) -> dict[str, object]:
    """One hospital's clearing figures (module docstring formulas)."""

    def yuan(key: str) -> Decimal:
        return Decimal(int(str(got.get(key) or 0))) / 100

    final, provisional, patient_other = yuan("final"), yuan("provisional"), yuan("patient_other")
    if params.fund_basis == "priced":
        patient_other = final - (yuan("fund_priced") + final - provisional)
    deductions, paid, withheld = monthly
    final_fund = final - patient_other - deductions
    deposit = round_half_up(max(Decimal(0), final_fund) * params.deposit_rate, 2)
    score = Decimal(scores[h]) if h in scores else Decimal(params.missing_score or 0)
    share = _release_share(score, params)
    released = round_half_up(deposit * share, 2)
    return {
        "hospital_code": h,
        "cases": int(str(got.get("cases") or 0)),
        "points": Decimal(int(str(got.get("units") or 0))) / _UNITS,
        "provisional_payment": provisional,
        "final_payment": final,
        "patient_other": patient_other,
        "fund_due": final - patient_other,
        "deductions": deductions,
        "final_fund": final_fund,
        "deposit": deposit,
        "score": score,
        "release_share": share,
        "deposit_released": released,
        "deposit_forfeited": deposit - released,
        "deposit_withheld_monthly": withheld,
        "paid_during_year": paid,
        "clearing_amount": final_fund - (deposit - released) - paid,
    }


HOSPITAL_SCHEMA: Final[dict[str, pl.DataType | type[pl.DataType]]] = {
    "hospital_code": pl.String,
    "cases": pl.Int64,
    "points": POINTS,
    "provisional_payment": MONEY,
    "final_payment": MONEY,
    "patient_other": MONEY,
    "fund_due": MONEY,
    "deductions": MONEY,
    "final_fund": MONEY,
    "deposit": MONEY,
    "score": pl.Decimal(18, 4),
    "release_share": pl.Decimal(18, 4),
    "deposit_released": MONEY,
    "deposit_forfeited": MONEY,
    "deposit_withheld_monthly": MONEY,
    "paid_during_year": MONEY,
    "clearing_amount": MONEY,
}
