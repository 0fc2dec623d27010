"""The benefit split under an insured place's policy, one case or a whole frame.

Generic computation, domain.md §4.4 [M] (and the national DRG formula of §1.7 [P] S3
when the amount is the payment standard):

    in-scope  = amount − 全自费 − 先自付
    deductible = max(0, 起付线 − deductible already paid this year)
    fund       = Σ_bands ratio_b × |[deductible, in-scope] ∩ band_b|      (≥ 0)
    fund       = min(fund, annual cap − fund already paid this year)

With a single band this is max(0, (amount − 全自费 − 先自付 − 起付线) × ratio).  The
product is exact in integers (fen × ratio in 1/10,000) and rounded half up to the fen
once per case; the cap is applied after rounding.  The big-illness / large-amount
layers and medical aid that sit on top (§4.4) are not computed.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Final

import polars as pl

from yibao.engines.measure.params import LEVEL_NAMES, LEVELS
from yibao.engines.settlement.errors import SettlementError
from yibao.engines.settlement.frames import E4, SettlementCase, fen, half_up_div
from yibao.engines.settlement.policy import (
    SCOPE_NAMES,
    SCOPES,
    Benefit,
    BenefitPolicy,
    PolicySet,
    pooling_region,
    scope_of,
)
from yibao.kit.money import fen_to_yuan

#: Columns of the long policy table joined onto cases (plus lo/hi/r per segment).
POLICY_KEYS: Final = ("pool", "insutype", "hospital_level", "scope")


@dataclass(frozen=True, slots=True)
class FundTerms:
    """The terms of one fund computation, integers in fen (ratio in 1/10,000)."""

    amount_fen: int
    self_pay_full_fen: int
    self_pay_first_fen: int
    in_scope_fen: int
    deductible_fen: int
    base_fen: int
    ratio_e4: int
    fund_fen: int
    capped: bool


def fund_terms(
    amount_fen: int,
    self_pay_full_fen: int,
    self_pay_first_fen: int,
    benefit: Benefit,
    *,
    deductible_paid_fen: int = 0,
    cap_remaining_fen: int | None = None,
) -> FundTerms:
    """Fund part of ``amount_fen`` under ``benefit`` (module docstring formula).

    ``ratio_e4`` is the flat ratio, or with several bands the effective ratio
    fund ÷ base rounded half up (the ratio of the deductible's band when base is 0).
    """
    in_scope = amount_fen - self_pay_full_fen - self_pay_first_fen
    deductible = max(0, benefit.deductible_fen - deductible_paid_fen)
    base = max(0, in_scope - deductible)
    e4 = 0
    for seg in benefit.segments:
        top = in_scope if seg.upper is None else min(seg.upper, in_scope)
        e4 += seg.ratio_e4 * max(0, top - max(seg.lower, deductible))
    fund = (2 * e4 + E4) // (2 * E4)
    capped = cap_remaining_fen is not None and fund > max(0, cap_remaining_fen)
    if capped and cap_remaining_fen is not None:
        fund = max(0, cap_remaining_fen)
    if len(benefit.segments) == 1:
        ratio = benefit.segments[0].ratio_e4
    elif base > 0:
        ratio = (2 * e4 + base) // (2 * base)
    else:
        inside = [s for s in benefit.segments if s.upper is None or deductible < s.upper]
        ratio = inside[0].ratio_e4
    return FundTerms(
        amount_fen,
        self_pay_full_fen,
        self_pay_first_fen,
        in_scope,
        deductible,
        base,
        ratio,
        fund,
        capped,
    )


@dataclass(frozen=True, slots=True)
class BenefitSplit:
    """A case's cost split under the insured place's policy (yuan, exact to the fen).

    ``personal`` = ``total_cost`` − ``fund`` (what the person and other funds bear).
    """

    policy_key: str
    scope: str
    hospital_level: str
    total_cost: Decimal
    self_pay_full: Decimal
    self_pay_first: Decimal
    in_scope: Decimal
    deductible: Decimal
    base: Decimal
    ratio: Decimal
    fund: Decimal
    personal: Decimal
    capped: bool
    explanation: str


def _fen(value: Decimal) -> int:
    return int(value * 100)


def resolve_policy(
    case: SettlementCase, policies: BenefitPolicy | PolicySet, *, include_drafts: bool = False
) -> BenefitPolicy:
    """The insured place's policy for ``case`` (a given policy is used as is)."""
    if isinstance(policies, BenefitPolicy):
        return policies
    insured = case.insured_region_code or case.region_code
    if insured is None or case.insutype is None or case.discharge_date is None:
        raise SettlementError(
            f"病例 {case.setl_id}：确定参保地待遇政策需要参保地（insured_region_code）、"
            "险种类型（insutype）和出院日期（discharge_date）",
            field="insured_region_code",
        )
    found = policies.find(
        insured, case.insutype, case.discharge_date, include_drafts=include_drafts
    )
    if found is None:
        raise SettlementError(
            f"病例 {case.setl_id}：没有参保地 {pooling_region(insured)} 险种 {case.insutype} "
            f"在 {case.discharge_date} 有效的待遇政策",
            field="policies",
        )
    return found


# long: the benefit rules (deductible, ratios by band, caps) in the order the policy applies them
def benefit_split(
    case: SettlementCase,
    policies: BenefitPolicy | PolicySet,
    *,
    include_drafts: bool = False,
) -> BenefitSplit:
    """Split one case's total cost under the insured place's benefit policy (§4.4).

    The deductible and ratio are those of the treating hospital's level and, for a
    patient treated outside the insured pooling region, the policy's cross-region
    rule.  ``case.deductible_paid`` and ``case.fund_paid_ytd`` carry the person's
    year-to-date amounts (5206 人员累计信息); they default to 0 (first stay of the year).

    >>> from datetime import date
    >>> from yibao.engines.settlement import demo_policies
    >>> c = SettlementCase(setl_id="S1", hospital_level="3", insured_region_code="990102",
    ...     region_code="990102", insutype="310", discharge_date=date(2024, 5, 1),
    ...     total_cost=Decimal("10000"), self_pay_full=Decimal("500"))
    >>> benefit_split(c, demo_policies()).fund
    Decimal('6960.00')
    """
    if case.hospital_level is None:
        raise SettlementError(
            f"病例 {case.setl_id}：缺少医院等级，无法确定起付线和支付比例", field="hospital_level"
        )
    policy = resolve_policy(case, policies, include_drafts=include_drafts)
    insured = case.insured_region_code or case.region_code or policy.region_code
    scope = scope_of(insured, case.region_code)
    benefit = policy.benefit(case.hospital_level, scope)
    terms = fund_terms(
        _fen(case.total_cost),
        _fen(case.self_pay_full),
        _fen(case.self_pay_first),
        benefit,
        deductible_paid_fen=0 if policy.deductible_per == "stay" else _fen(case.deductible_paid),
        cap_remaining_fen=benefit.cap_fen - _fen(case.fund_paid_ytd),
    )
    ratio = Decimal(terms.ratio_e4) / E4
    fund = fen_to_yuan(terms.fund_fen)
    text = (
        f"{policy.label}，{LEVEL_NAMES[case.hospital_level]}医院，{SCOPE_NAMES[scope]}："
        f"统筹基金 = ({fen_to_yuan(terms.amount_fen)} − 全自费 {case.self_pay_full} − "
        f"先自付 {case.self_pay_first} − 起付线 {fen_to_yuan(terms.deductible_fen)}) × "
        f"{_percent(terms.ratio_e4)}{'（分段）' if len(benefit.segments) > 1 else ''} = {fund} 元"
        + ("，已达年度封顶线" if terms.capped else "")
    )
    return BenefitSplit(
        policy_key=policy.key,
        scope=scope,
        hospital_level=case.hospital_level,
        total_cost=case.total_cost,
        self_pay_full=case.self_pay_full,
        self_pay_first=case.self_pay_first,
        in_scope=fen_to_yuan(terms.in_scope_fen),
        deductible=fen_to_yuan(terms.deductible_fen),
        base=fen_to_yuan(terms.base_fen),
        ratio=ratio,
        fund=fund,
        personal=case.total_cost - fund,
        capped=terms.capped,
        explanation=text,
    )


def _percent(ratio_e4: int) -> str:
    return f"{(Decimal(ratio_e4) / 100).normalize():f}%"


# ---------------------------------------------------------------- vectorised form


def policy_table(policies: PolicySet, *, include_drafts: bool = False) -> tuple[pl.DataFrame, int]:
    """A long table, one row per policy × hospital level × scope, and its number of
    segments K: ``policy_key, policy_label, pool, insutype, valid_from, valid_to,
    hospital_level, scope, ded_fen, cap_fen, lo{b}, hi{b}, r{b}`` (b < K; unused
    segments have ratio 0)."""
    rows: list[dict[str, object]] = []
    resolved: list[tuple[BenefitPolicy, Benefit]] = [
        (p, p.benefit(level, scope))
        for p in policies.usable(include_drafts)
        for level in LEVELS
        for scope in SCOPES
    ]
    k = max((len(b.segments) for _, b in resolved), default=1)
    for policy, b in resolved:
        row: dict[str, object] = {
            "policy_key": policy.key,
            "policy_label": policy.label,
            "pool": policy.region_code,
            "insutype": policy.insutype,
            "valid_from": policy.valid_from,
            "valid_to": policy.valid_to,
            "hospital_level": b.level,
            "scope": b.scope,
            "ded_fen": b.deductible_fen,
            "ded_per_stay": policy.deductible_per == "stay",
            "cap_fen": b.cap_fen,
            "_draft": policy.status == "draft",
            "_version": policy.version,
        }
        for i in range(k):
            seg = b.segments[i] if i < len(b.segments) else None
            row[f"lo{i}"] = seg.lower if seg else 0
            row[f"hi{i}"] = seg.upper if seg else 0
            row[f"r{i}"] = seg.ratio_e4 if seg else 0
        rows.append(row)
    schema: dict[str, pl.DataType | type[pl.DataType]] = {
        "policy_key": pl.String,
        "policy_label": pl.String,
        "pool": pl.String,
        "insutype": pl.String,
        "valid_from": pl.Date,
        "valid_to": pl.Date,
        "hospital_level": pl.String,
        "scope": pl.String,
        "ded_fen": pl.Int64,
        "ded_per_stay": pl.Boolean,
        "cap_fen": pl.Int64,
        "_draft": pl.Boolean,
        "_version": pl.Int64,
    }
    for i in range(k):
        schema |= {f"lo{i}": pl.Int64, f"hi{i}": pl.Int64, f"r{i}": pl.Int64}
    return pl.DataFrame(rows, schema=schema, orient="row"), k


def fund_columns(amount: pl.Expr, k: int, prefix: str, *, cap: bool) -> list[pl.Expr]:
    """Expressions adding ``<prefix>in_scope``, ``<prefix>ded``, ``<prefix>base``,
    ``<prefix>raw`` (before the cap), ``<prefix>fund`` (fen), ``<prefix>capped`` and
    ``<prefix>ratio`` (1/10,000) to a
    frame that holds ``sf_fen``, ``sp_fen``, ``ded_paid_fen``, ``ytd_fen`` and the
    policy columns of :func:`policy_table` (the vectorised :func:`fund_terms`; null
    where the case has no policy)."""
    in_scope = amount - pl.col("sf_fen") - pl.col("sp_fen")
    # a per-stay deductible (ADR 0017) is paid in full whatever the year paid before
    paid = pl.when(pl.col("ded_per_stay")).then(0).otherwise(pl.col("ded_paid_fen"))
    ded = pl.max_horizontal(pl.lit(0), pl.col("ded_fen") - paid)
    base = pl.max_horizontal(pl.lit(0), in_scope - ded)
    parts = [
        pl.col(f"r{i}")
        * pl.max_horizontal(
            pl.lit(0),
            pl.min_horizontal(pl.col(f"hi{i}").fill_null(in_scope), in_scope)
            - pl.max_horizontal(pl.col(f"lo{i}"), ded),
        )
        for i in range(k)
    ]
    e4 = pl.sum_horizontal(parts)
    fund = (2 * e4 + E4) // (2 * E4)
    room = pl.max_horizontal(pl.lit(0), pl.col("cap_fen") - pl.col("ytd_fen"))
    raw = fund
    capped = (fund > room) if cap else pl.lit(False)
    if cap:
        fund = pl.min_horizontal(fund, room)
    if k == 1:
        ratio = pl.col("r0")
    else:
        inside = [
            pl.when(pl.col(f"hi{i}").is_null() | (ded < pl.col(f"hi{i}"))).then(pl.col(f"r{i}"))
            for i in range(k)
        ]
        ratio = pl.when(base > 0).then((2 * e4 + base) // (2 * base)).otherwise(pl.coalesce(inside))
    has = pl.col("policy_key").is_not_null()
    return [
        pl.when(has).then(in_scope).alias(f"{prefix}in_scope"),
        pl.when(has).then(ded).alias(f"{prefix}ded"),
        pl.when(has).then(base).alias(f"{prefix}base"),
        pl.when(has).then(raw).alias(f"{prefix}raw"),
        pl.when(has).then(fund).alias(f"{prefix}fund"),
        (has & capped).alias(f"{prefix}capped"),
        pl.when(has).then(ratio).alias(f"{prefix}ratio"),
    ]


def scope_expr() -> pl.Expr:
    """``local`` / ``in_province`` / ``out_of_province`` from ``insured_region_code``
    and ``region_code`` (a missing code counts as local), as :func:`scope_of`."""
    insured = pl.coalesce("insured_region_code", "region_code")
    treating = pl.coalesce("region_code", "insured_region_code")
    return (
        pl.when(insured.is_null() | (insured.str.slice(0, 4) == treating.str.slice(0, 4)))
        .then(pl.lit("local"))
        .when(insured.str.slice(0, 2) == treating.str.slice(0, 2))
        .then(pl.lit("in_province"))
        .otherwise(pl.lit("out_of_province"))
        .alias("scope")
    )


def attach_policies(
    frame: pl.DataFrame,
    policies: PolicySet,
    *,
    fallback_treating: bool,
    include_drafts: bool = False,
) -> tuple[pl.DataFrame, int]:
    """Join each case (``_i`` row index, ``insured_region_code``, ``region_code``,
    ``insutype``, ``hospital_level``, ``discharge_date``) with the policy columns of
    its insured place valid on the discharge date, for the case's ``scope``
    (:func:`scope_expr`).  Adds ``policy_fallback`` (the treating place's policy was
    used).  Returns the frame and the number of segments."""
    table, k = policy_table(policies, include_drafts=include_drafts)
    insured = pl.coalesce("insured_region_code", "region_code")
    treating = pl.coalesce("region_code", "insured_region_code")
    keyed = frame.select(
        "_i",
        "insutype",
        "hospital_level",
        "discharge_date",
        (insured.str.slice(0, 4) + "00").alias("pool"),
        (treating.str.slice(0, 4) + "00").alias("treating_pool"),
        scope_expr(),
    )
    columns = [c for c in table.columns if c not in POLICY_KEYS]

    def match(pool: str) -> pl.DataFrame:
        joined = keyed.join(
            table, left_on=[pool, "insutype", "hospital_level", "scope"], right_on=POLICY_KEYS
        )
        ok = (pl.col("valid_from") <= pl.col("discharge_date")) & (
            pl.col("valid_to").is_null() | (pl.col("discharge_date") <= pl.col("valid_to"))
        )
        # one policy per case: with drafts (simulation) a draft overlapping the
        # published version wins, then the highest version (as PolicySet.find)
        return (
            joined.filter(ok)
            .sort(["_i", "_draft", "_version"], descending=[False, True, True])
            .unique("_i", keep="first", maintain_order=True)
            .select("_i", *columns)
            .drop("_draft", "_version")
        )

    found = match("pool").with_columns(pl.lit(False).alias("policy_fallback"))
    if fallback_treating:
        rest = keyed.join(found.select("_i"), on="_i", how="anti").select("_i")
        other = match("treating_pool").join(rest, on="_i", how="semi")
        found = pl.concat([found, other.with_columns(pl.lit(True).alias("policy_fallback"))])
    out = frame.join(found, on="_i", how="left", maintain_order="left")
    return out.with_columns(pl.col("policy_fallback").fill_null(False)), k


def policy_fund_fen(frame: pl.DataFrame, policies: PolicySet) -> pl.Series:
    """The fund part (fen) of each case's ``pay_fen`` under its insured place's policy
    valid on the discharge date: the national formula of §1.7 on the payment, limited
    by the annual cap (ADR 0013), for a simulation (``fund_share="policy"``).

    ``frame``: the measurement engine's classified cases (``pay_fen``, ``cost_fen``,
    ``fund_fen``, ``hospital_level`` and the policy inputs ``discharge_date``,
    ``insured_region_code``, ``region_code``, ``insutype``, ``self_pay_full``,
    ``self_pay_first``).  A case without a policy keeps its actual fund ratio
    (payment × fund ÷ cost, half up), as pricing's ``missing_policy="actual"`` does.
    """
    needed = ("discharge_date", "insured_region_code", "insutype", "pay_fen", "cost_fen")
    missing = [c for c in needed if c not in frame.columns]
    if missing:
        raise SettlementError(
            f"按待遇政策估算基金支付缺少病例字段：{'、'.join(missing)}", field="fund_share"
        )
    zero = pl.lit(0, pl.Int64)

    def money_fen(column: str) -> pl.Expr:
        return fen(column).fill_null(0) if column in frame.columns else zero

    region = pl.col("region_code") if "region_code" in frame.columns else pl.lit(None, pl.String)
    cases = frame.with_row_index("_i").with_columns(
        money_fen("self_pay_full").alias("sf_fen"),
        money_fen("self_pay_first").alias("sp_fen"),
        zero.alias("ded_paid_fen"),
        zero.alias("ytd_fen"),
        region.alias("region_code"),
    )
    joined, k = attach_policies(cases, policies, fallback_treating=False)
    pay, cost = pl.col("pay_fen"), pl.col("cost_fen")
    wide = pay.cast(pl.Int128) * pl.col("fund_fen").fill_null(0).cast(pl.Int128)
    actual = (
        pl.when(cost > 0).then(half_up_div(wide, cost.cast(pl.Int128)).cast(pl.Int64)).otherwise(0)
    )
    out = joined.with_columns(*fund_columns(pay, k, "n_", cap=True)).sort("_i")
    return out.select(
        pl.when(pl.col("policy_key").is_not_null()).then(pl.col("n_fund")).otherwise(actual)
    ).to_series()
