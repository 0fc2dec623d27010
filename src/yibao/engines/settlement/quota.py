"""Special-case review (特例单议) quota and eligibility, domain.md §1.6.

Per hospital and period: quota = ``rate`` × DRG cases (5 ‰ [M]; Zhejiang ≤ 5 ‰ [L] S8),
rounded per :class:`QuotaParams` (``floor`` + at least ``min_quota`` by default).  Each
application is checked in this order, and gets the first reason that applies:

1. ``NOT_FOUND`` — the case is not among the DRG cases of the period;
2. ``WRONG_HOSPITAL`` — the case belongs to another hospital;
3. ``DUPLICATE`` — the hospital already applied for the case (the earliest
   ``applied_at`` is kept);
4. ``NOT_ELIGIBLE`` — the eligibility criteria fail (cost multiple, LOS, new technology);
5. ``OVER_QUOTA`` — eligible, but ranked after the hospital's quota is used up;
6. ``ACCEPTED`` — admitted to expert review (the approval itself is the experts').
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from fractions import Fraction
from typing import Final

import polars as pl

from yibao.engines.caseframe import MONEY
from yibao.engines.settlement.frames import E4, fen, require, to_money
from yibao.engines.settlement.params import QuotaParams

DECISIONS: Final[dict[str, str]] = {
    "ACCEPTED": "受理，进入专家评审",
    "DUPLICATE": "重复申请",
    "NOT_FOUND": "病例不在本院本期 DRG 结算病例中",
    "WRONG_HOSPITAL": "病例不属于申请医院",
    "NOT_ELIGIBLE": "不符合特例单议条件",
    "OVER_QUOTA": "超出本院本期特例单议名额",
}


@dataclass(frozen=True, slots=True)
class QuotaResult:
    """``decisions``: one row per application (``setl_id``, ``hospital_code``,
    ``accepted``, ``reason_code``, ``reason`` (Chinese), ``rank`` among the hospital's
    eligible applications, ``eligible``, ``total_cost``, ``payment_standard``,
    ``los_days``, ``new_tech``), sorted by hospital, ``setl_id``, reason code.
    ``quotas``: per hospital ``drg_cases``, ``quota``, ``applications``, ``eligible``,
    ``accepted``, ``refused``, sorted by hospital."""

    decisions: pl.DataFrame
    quotas: pl.DataFrame


def quota_for(cases: int, params: QuotaParams) -> int:
    """The number of special-case slots for ``cases`` DRG cases.

    >>> quota_for(1_000, QuotaParams()), quota_for(250, QuotaParams())
    (5, 1)
    >>> quota_for(1_001, QuotaParams(rounding="ceil")), quota_for(0, QuotaParams())
    (6, 0)
    """
    if cases <= 0:
        return 0
    exact = Fraction(params.rate) * cases
    if params.rounding == "floor":
        slots = math.floor(exact)
    elif params.rounding == "ceil":
        slots = math.ceil(exact)
    else:
        slots = math.floor(exact + Fraction(1, 2))
    return max(slots, params.min_quota)


def _quotas(cases: pl.DataFrame, params: QuotaParams) -> pl.DataFrame:
    counted = cases
    if params.count_classes is not None and "payment_class" in cases.columns:
        counted = cases.filter(pl.col("payment_class").is_in(params.count_classes))
    per = counted.group_by("hospital_code").agg(pl.len().cast(pl.Int64).alias("drg_cases"))
    every = cases.select("hospital_code").unique()
    per = every.join(per, on="hospital_code", how="left").with_columns(
        pl.col("drg_cases").fill_null(0)
    )
    per = per.sort("hospital_code")
    slots = [quota_for(int(n), params) for n in per["drg_cases"].to_list()]
    return per.with_columns(pl.Series("quota", slots, dtype=pl.Int64))


def _criteria(params: QuotaParams) -> tuple[pl.Expr, pl.Expr]:
    """(eligible, Chinese text of the failed criteria)."""
    checks: list[tuple[pl.Expr, pl.Expr]] = []
    if params.min_cost_multiple is not None:
        k = params.min_cost_multiple
        ok = pl.col("std_fen").is_not_null() & (
            pl.col("cost_fen") * E4 >= int(k * E4) * pl.col("std_fen")
        )
        why = (
            pl.when(pl.col("std_fen").is_null())
            .then(pl.lit("无支付标准，不能按费用倍数判断"))
            .otherwise(
                pl.format(
                    "费用 {} 元未达到支付标准 {} 元的 {} 倍",
                    to_money(pl.col("cost_fen")).cast(pl.String),
                    to_money(pl.col("std_fen")).cast(pl.String),
                    pl.lit(f"{k.normalize():f}"),
                )
            )
        )
        checks.append((ok, why))
    if params.min_los_days is not None:
        n = params.min_los_days
        ok = pl.col("los_days").fill_null(0) >= n
        why = pl.format(
            "住院 {} 天未达到 {} 天", pl.col("los_days").cast(pl.String).fill_null("？"), pl.lit(n)
        )
        checks.append((ok, why))
    if params.new_tech:
        checks.append((pl.col("new_tech"), pl.lit("未使用新药品、新耗材或新技术")))
    oks = [ok for ok, _ in checks]
    eligible = pl.any_horizontal(oks) if params.combine == "any" else pl.all_horizontal(oks)
    failed = pl.concat_list([pl.when(~ok).then(why) for ok, why in checks]).list.drop_nulls()
    return eligible, failed.list.join("；")


def _optional(frame: pl.DataFrame, column: str, default: object) -> pl.Expr:
    return pl.col(column) if column in frame.columns else pl.lit(default)


def _joined(cases: pl.DataFrame, applications: pl.DataFrame, params: QuotaParams) -> pl.DataFrame:
    """Applications joined with their cases: ``valid`` (case found, same hospital),
    ``first`` (not a duplicate), ``eligible_`` and the ``failed`` criteria text."""
    case_cols = cases.select(
        "setl_id",
        pl.col("hospital_code").alias("case_hospital"),
        fen("total_cost").alias("cost_fen"),
        _optional(cases, "payment_standard", None).cast(MONEY).to_physical().alias("std_fen"),
        _optional(cases, "los_days", None).cast(pl.Int32).alias("los_days"),
        _optional(cases, "new_tech", False).cast(pl.Boolean).fill_null(False).alias("case_tech"),
    ).with_columns(pl.col("std_fen").cast(pl.Int64))
    apps = applications.select(
        "setl_id",
        "hospital_code",
        _optional(applications, "applied_at", None).cast(pl.String).alias("applied_at"),
        _optional(applications, "new_tech", False)
        .cast(pl.Boolean)
        .fill_null(False)
        .alias("app_tech"),
    ).sort("setl_id", "applied_at", "hospital_code", nulls_last=True)
    eligible, failed = _criteria(params)
    found = pl.col("case_hospital").is_not_null()
    return (
        apps.join(case_cols, on="setl_id", how="left", maintain_order="left")
        .with_columns((pl.col("case_tech") | pl.col("app_tech")).alias("new_tech"))
        .with_columns(
            eligible.fill_null(False).alias("eligible_"),
            failed.alias("failed"),
            found.alias("found"),
            (found & (pl.col("case_hospital") == pl.col("hospital_code"))).alias("valid"),
        )
        .with_columns(
            pl.when("valid")
            .then(pl.col("setl_id").is_first_distinct().over("valid"))
            .otherwise(pl.lit(True))
            .alias("first")
        )
        .with_columns((pl.col("first") & pl.col("valid") & pl.col("eligible_")).alias("candidate"))
    )


def special_case_quota(
    cases: pl.DataFrame, applications: pl.DataFrame, params: QuotaParams | None = None
) -> QuotaResult:
    """Accept or refuse special-case applications against quota and eligibility.

    ``cases``: the period's DRG cases (e.g. :func:`price_batch` output, filtered to the
    period) with ``setl_id``, ``hospital_code``, ``total_cost`` and, as the criteria
    need, ``payment_standard``, ``los_days``, ``new_tech`` (and ``payment_class`` for
    ``count_classes``).  ``applications``: ``setl_id``, ``hospital_code`` and
    optionally ``applied_at`` and ``new_tech`` (or-ed with the case's flag).
    Rules: module docstring and :class:`QuotaParams`.
    """
    params = params or QuotaParams()
    require(cases, ("setl_id", "hospital_code", "total_cost"), "special_case_quota(cases)")
    require(applications, ("setl_id", "hospital_code"), "special_case_quota(applications)")
    quotas = _quotas(cases, params)
    frame = _joined(cases, applications, params)
    ranked = _rank(frame.filter("candidate"), params)
    frame = frame.join(ranked, on="setl_id", how="left", maintain_order="left").join(
        quotas.select("hospital_code", "quota"), on="hospital_code", how="left"
    )
    code = (
        pl.when(~pl.col("found"))
        .then(pl.lit("NOT_FOUND"))
        .when(~pl.col("valid"))
        .then(pl.lit("WRONG_HOSPITAL"))
        .when(~pl.col("first"))
        .then(pl.lit("DUPLICATE"))
        .when(~pl.col("eligible_"))
        .then(pl.lit("NOT_ELIGIBLE"))
        .when(pl.col("rank") > pl.col("quota").fill_null(0))
        .then(pl.lit("OVER_QUOTA"))
        .otherwise(pl.lit("ACCEPTED"))
    )
    decisions = (
        frame.with_columns(code.alias("reason_code"))
        .select(
            "setl_id",
            "hospital_code",
            (pl.col("reason_code") == "ACCEPTED").alias("accepted"),
            "reason_code",
            _reason_text().alias("reason"),
            "rank",
            pl.col("candidate").alias("eligible"),
            to_money(pl.col("cost_fen")).alias("total_cost"),
            to_money(pl.col("std_fen")).alias("payment_standard"),
            "los_days",
            "new_tech",
        )
        .sort("hospital_code", "setl_id", "reason_code")
    )
    return QuotaResult(decisions, _summary(quotas, decisions))


def _rank(candidates: pl.DataFrame, params: QuotaParams) -> pl.DataFrame:
    """Rank of each eligible application within its hospital (1 = first served)."""
    if params.order == "excess_cost":
        key = (pl.col("cost_fen") - pl.col("std_fen")).fill_null(0)
        ordered = candidates.sort("hospital_code", key, "setl_id", descending=[False, True, False])
    else:
        ordered = candidates.sort("hospital_code", "applied_at", "setl_id", nulls_last=True)
    return ordered.select(
        "setl_id",
        pl.int_range(pl.len()).over("hospital_code").add(1).cast(pl.Int64).alias("rank"),
    )


def _reason_text() -> pl.Expr:
    code = pl.col("reason_code")
    base = code.replace_strict(DECISIONS, return_dtype=pl.String)
    return (
        pl.when(code == "NOT_ELIGIBLE")
        .then(pl.format("{}：{}", base, pl.col("failed")))
        .when(code == "WRONG_HOSPITAL")
        .then(pl.format("{}（病例属于 {}）", base, pl.col("case_hospital")))
        .when(code.is_in(("OVER_QUOTA", "ACCEPTED")))
        .then(pl.format("{}（名额 {}，排序第 {}）", base, pl.col("quota"), pl.col("rank")))
        .otherwise(base)
    )


def _summary(quotas: pl.DataFrame, decisions: pl.DataFrame) -> pl.DataFrame:
    per = decisions.group_by("hospital_code").agg(
        pl.len().cast(pl.Int64).alias("applications"),
        pl.col("eligible").sum().cast(pl.Int64).alias("eligible"),
        pl.col("accepted").sum().cast(pl.Int64).alias("accepted"),
    )
    return (
        quotas.join(per, on="hospital_code", how="full", coalesce=True)
        .with_columns(
            pl.col("drg_cases", "quota", "applications", "eligible", "accepted").fill_null(0)
        )
        .with_columns((pl.col("applications") - pl.col("accepted")).alias("refused"))
        .sort("hospital_code")
    )
