"""Case pricing: DRG payment to the hospital and the fund amount, with an explanation.

Per case (domain.md §1.5, §1.6, §1.7, §4.4):

1. **Class** — reused from the measurement engine
   (:func:`yibao.engines.measure.simulate.classify_cases`): ``qy`` (status
   ``ambiguous_qy``), ``ungroupable`` (any other status but ``ok``), ``no_standard``
   (no standard for the DRG × level), ``high`` (cost > k_level × standard), ``low``
   (cost < low × standard), else ``normal``.  An approved special case
   (``special_case = "approved"``) becomes ``special``.
2. **DRG payment** — normal: the standard; high: items, or standard + (cost − k ×
   standard) with ``high_payment="excess"``; low, ungroupable, no standard: items; QY:
   items × ``qy_fraction`` (half up); special: ``special_payment`` when given (the
   adjusted standard), else items.
3. **Fund amount** — standard-paid cases (normal, high-excess, special with an
   amount; the amount A is the DRG payment):
   ``national``: max(0, (A − 全自费 − 先自付 − 起付线) × ratio) with the deductible
   and ratio (or bands) of the insured place's policy for the treating hospital's
   level and the cross-region scope [P] S3 / [L] S7; ``local``: A − patient payment −
   other-fund payments, possibly negative [S] S4.  Item-paid cases: the case's actual
   pooled fund (``fund_payment − other_fund_payment``) or the insured place's benefit
   split (``items_fund="policy"``), × payment ÷ cost when the hospital gets less than
   the item fees.

Everything is integer fen; outputs are ``Decimal(18, 2)`` (ratios ``Decimal(18, 4)``),
sorted by ``setl_id`` so that the same cases in any order give an identical frame.
"""

from __future__ import annotations

from typing import Final

import polars as pl

from yibao.engines.caseframe import MONEY
from yibao.engines.measure.simulate import classify_cases
from yibao.engines.settlement.benefit import attach_policies, fund_columns, scope_expr
from yibao.engines.settlement.errors import SettlementError
from yibao.engines.settlement.explain import CLASS_NAMES, explanation, with_reason_codes
from yibao.engines.settlement.frames import (
    E4,
    RATIO,
    check_standards,
    e4_to_decimal,
    fen,
    half_up_div,
    normalise,
    to_money,
)
from yibao.engines.settlement.params import PricingParams
from yibao.engines.settlement.policy import PolicySet

#: Output columns of :func:`price_batch` and their types.
PRICED: Final[dict[str, pl.DataType | type[pl.DataType]]] = {
    "setl_id": pl.String,
    "hospital_code": pl.String,
    "hospital_level": pl.String,
    "discharge_date": pl.Date,
    "drg": pl.String,
    "status": pl.String,
    "payment_class": pl.String,
    "class_name": pl.String,
    "special_case": pl.String,
    "new_tech": pl.Boolean,
    "los_days": pl.Int32,
    "insured_region_code": pl.String,
    "insutype": pl.String,
    "scope": pl.String,
    "policy_key": pl.String,
    "total_cost": MONEY,
    "relative_weight": pl.Decimal(18, 4),
    "base_rate": pl.Decimal(28, 10),
    "payment_standard": MONEY,
    "cost_ratio": RATIO,
    "high_threshold": MONEY,
    "low_threshold": MONEY,
    "payment_basis": pl.String,
    "drg_payment": MONEY,
    "standard_part": MONEY,
    "items_part": MONEY,
    "fund_formula": pl.String,
    "term_standard": MONEY,
    "term_self_pay_full": MONEY,
    "term_self_pay_first": MONEY,
    "term_deductible": MONEY,
    "term_ratio": RATIO,
    "term_patient_payment": MONEY,
    "term_other_funds": MONEY,
    "fund_actual": MONEY,
    "patient_other": MONEY,
    "fund_amount": MONEY,
    "balance": MONEY,
    "reason_codes": pl.List(pl.String),
    "explanation": pl.String,
}
#: bases paid from the standard (DRG) or the points (DIP ``score``): the fund formula
#: applies to the payment, and statements count them apart from item-paid cases
STANDARD_BASES: Final = ("standard", "excess", "special_standard", "score")


def _classify(frame: pl.DataFrame, standards: pl.DataFrame, params: PricingParams) -> pl.DataFrame:
    """Class and payment from the measurement engine, plus thresholds and weights."""
    keys = ("setl_id", "hospital_code", "hospital_level", "status", "drg", "total_cost")
    weighted = [c for c in ("relative_weight",) if c in standards.columns]
    done = classify_cases(
        frame.select(*keys, "fund_payment", "los_days"),
        standards.select("drg", "hospital_level", "payment_standard", *weighted),
        params.classification,
    )
    if done.height != frame.height:  # pragma: no cover - guarded by check_standards
        raise SettlementError("分类结果行数与病例数不一致", field="standards")
    extra = standards.select(
        "drg",
        "hospital_level",
        (pl.col("relative_weight") if "relative_weight" in standards.columns else pl.lit(None))
        .cast(PRICED["relative_weight"])
        .alias("relative_weight"),
        (pl.col("base_rate") if "base_rate" in standards.columns else pl.lit(None))
        .cast(PRICED["base_rate"])
        .alias("base_rate"),
    )
    std = pl.col("std_fen")
    return (
        frame.with_columns(
            done["cost_fen"],
            done["std_fen"],
            done["payment_class"].alias("cls0"),
            done["pay_fen"].alias("pay0"),
            done["k_e4"],
            done["low_e4"],
        )
        .join(extra, on=["drg", "hospital_level"], how="left", maintain_order="left")
        .with_columns(
            half_up_div(pl.col("k_e4") * std, E4).alias("hi_fen"),
            half_up_div(pl.col("low_e4") * std, E4).alias("lo_fen"),
            pl.when(std > 0).then(half_up_div(pl.col("cost_fen") * E4, std)).alias("ratio_e4"),
            _e4_text("k_e4").fill_null("?").alias("high_text"),
            _e4_text("low_e4").fill_null("?").alias("low_text"),
            pl.lit(params.classification.rules.long_stay_days).alias("long_stay_days"),
        )
    )


def _e4_text(column: str) -> pl.Expr:
    """A multiplier in 1/10,000 as its shortest decimal text: 30000 → "3", 3000 → "0.3"."""
    r = pl.col(column)
    frac = (r % E4).cast(pl.String).str.zfill(4).str.strip_chars_end("0")
    whole = (r // E4).cast(pl.String)
    return pl.when(r % E4 == 0).then(whole).otherwise(pl.format("{}.{}", whole, frac))


def _payment(frame: pl.DataFrame, params: PricingParams) -> pl.DataFrame:
    """Final class, DRG payment (fen) and payment basis."""
    # the settlement's QY share, or else the standard set's rules (1: by items)
    qy = params.qy_fraction if params.qy_fraction != 1 else params.classification.rules.qy_fraction
    qy_e4 = int(qy * E4)
    excess = params.classification.high_payment == "excess"
    special = (pl.col("special_case") == "approved").fill_null(False)
    amount = fen("special_payment")
    cls0, cost = pl.col("cls0"), pl.col("cost_fen")
    basis = (
        pl.when(special & amount.is_not_null())
        .then(pl.lit("special_standard"))
        .when(special)
        .then(pl.lit("items"))
        .when(cls0.is_in(("normal", "high_capped")))
        .then(pl.lit("standard"))
        .when(cls0 == "long_stay")
        .then(pl.lit("per_diem"))
        .when((cls0 == "high") & pl.lit(excess))
        .then(pl.lit("excess"))
        .when((cls0 == "qy") & pl.lit(qy_e4 < E4))
        .then(pl.lit("items_fraction"))
        .otherwise(pl.lit("items"))
    )
    pay = (
        pl.when(special)
        .then(pl.coalesce(amount, cost))
        .when(cls0 == "qy")
        .then(half_up_div(cost * qy_e4, E4))
        .otherwise(pl.col("pay0"))
    )
    return frame.with_columns(
        pl.when(special).then(pl.lit("special")).otherwise(cls0).alias("cls"),
        pay.alias("pay_fen"),
        basis.alias("basis"),
        pl.lit(qy_e4).alias("qy_e4"),
    ).with_columns(
        pl.col("basis").is_in(STANDARD_BASES).alias("std_based"),
        pl.when(pl.col("basis").is_in(("standard", "excess")))
        .then(pl.col("std_fen"))
        .otherwise(pl.lit(0))
        .alias("standard_fen"),
    )


def _money_columns(frame: pl.DataFrame) -> pl.DataFrame:
    fund_payment = fen("fund_payment")
    pooled = fund_payment - fen("other_fund_payment")
    patient = (
        pl.when(pl.col("account_payment").is_not_null() & pl.col("cash_payment").is_not_null())
        .then(fen("account_payment") + fen("cash_payment"))
        .otherwise(pl.col("cost_fen") - fund_payment)
    )
    return frame.with_columns(
        fen("self_pay_full").alias("sf_fen"),
        fen("self_pay_first").alias("sp_fen"),
        fen("other_fund_payment").alias("other_fen"),
        fen("deductible_paid").alias("ded_paid_fen"),
        fen("fund_paid_ytd").alias("ytd_fen"),
        pooled.alias("pooled_fen"),
        patient.alias("patient_fen"),
        pl.when(pl.col("std_based")).then(pl.col("pay_fen")).alias("a_fen"),
        scope_expr(),
    ).with_columns(
        pl.coalesce(
            pl.col("cost_fen") - pl.col("pooled_fen"), pl.col("patient_fen") + pl.col("other_fen")
        ).alias("patient_other_fen")
    )


def _with_policies(
    frame: pl.DataFrame, policies: PolicySet | None, params: PricingParams
) -> pl.DataFrame:
    """Attach the insured place's policy and compute both policy fund amounts: ``n_``
    on the DRG amount, ``s_`` on the total cost (benefit split)."""
    needed = params.fund_formula == "national" or params.items_fund == "policy"
    if not needed:
        return frame.with_columns(
            pl.lit(None, pl.String).alias("policy_key"),
            pl.lit(None, pl.String).alias("policy_label"),
            pl.lit(False).alias("policy_fallback"),
            *(
                pl.lit(None, pl.Int64).alias(f"{p}{name}")
                for p in ("n_", "s_")
                for name in ("in_scope", "ded", "base", "raw", "fund", "ratio")
            ),
            pl.lit(False).alias("n_capped"),
            pl.lit(False).alias("s_capped"),
        )
    if policies is None:
        raise SettlementError(
            "policies：按国家公式计算统筹基金（或按参保地政策计算按项目病例）需要待遇政策",
            field="policies",
        )
    joined, k = attach_policies(
        frame,
        policies,
        fallback_treating=params.missing_policy == "treating_place",
        include_drafts=params.include_drafts,
    )
    return joined.with_columns(
        *fund_columns(pl.col("a_fen"), k, "n_", cap=params.cap_drg_fund),
        *fund_columns(pl.col("cost_fen"), k, "s_", cap=True),
    )


def _sample(bad: pl.DataFrame) -> str:
    rows = bad.head(10).select(
        pl.format(
            "{}（参保地 {}，险种 {}，出院 {}）",
            "setl_id",
            pl.coalesce("insured_region_code", "region_code").fill_null("空"),
            pl.col("insutype").fill_null("空"),
            pl.col("discharge_date").cast(pl.String).fill_null("空"),
        )
    )
    return "、".join(rows.to_series().to_list())


def _check_fund_inputs(frame: pl.DataFrame, params: PricingParams) -> pl.Expr:
    """Raise when a case's fund amount cannot be computed; return the cases that use
    their actual fund because their policy is missing (``missing_policy="actual"``)."""
    std = pl.col("std_based")
    has = pl.col("policy_key").is_not_null()
    no_pooled = pl.col("pooled_fen").is_null()
    strict = pl.lit(params.missing_policy != "actual")
    by_policy = (std & pl.lit(params.fund_formula == "national")) | (
        ~std & pl.lit(params.items_fund == "policy")
    )
    checks = [
        (
            by_policy & ~has & (strict | no_pooled),
            "条病例找不到参保地在出院日期有效的待遇政策",
            "可补充待遇政策，或设置 missing_policy=treating_place（按就医地政策）"
            " / actual（取实际统筹基金）",
        ),
        (
            ~std & ~by_policy & no_pooled & ~has,
            "条按项目支付的病例缺少实际统筹基金（fund_payment），也没有可用的待遇政策",
            "请补充 fund_payment，或设置 items_fund=policy 并提供待遇政策",
        ),
        (
            std & pl.lit(params.fund_formula == "local") & pl.col("patient_fen").is_null(),
            "条病例按总额定额公式计算需要个人支付金额",
            "请提供 account_payment 与 cash_payment，或 fund_payment",
        ),
    ]
    for condition, what, hint in checks:
        bad = frame.filter(condition)
        if bad.height:
            raise SettlementError(f"{bad.height} {what}：{_sample(bad)}；{hint}", field="policies")
    return by_policy & ~has


def _fund(frame: pl.DataFrame, params: PricingParams) -> pl.DataFrame:
    """Fund amount per case, the formula used and its terms."""
    missing = _check_fund_inputs(frame, params)
    std_based = pl.col("std_based")
    has = pl.col("policy_key").is_not_null()
    if params.fund_formula == "local":
        std_kind = pl.lit("local")
    else:
        std_kind = pl.when(has).then(pl.lit("national")).otherwise(pl.lit("actual"))
    item_kind = (
        pl.when(has & (pl.lit(params.items_fund == "policy") | pl.col("pooled_fen").is_null()))
        .then(pl.lit("policy"))
        .otherwise(pl.lit("actual"))
    )
    kind = pl.when(std_based).then(std_kind).otherwise(item_kind)
    frame = frame.with_columns(kind.alias("fund_kind"), missing.alias("no_policy"))
    kind = pl.col("fund_kind")
    f_fen = pl.when(kind == "policy").then(pl.col("s_fund")).otherwise(pl.col("pooled_fen"))
    pay, cost = pl.col("pay_fen"), pl.col("cost_fen")
    scaled = kind.is_in(("actual", "policy")) & (pay != cost) & (cost > 0)
    wide = pl.col("f_fen").cast(pl.Int128) * pay.cast(pl.Int128)
    item_fund = (
        pl.when(pl.col("scaled"))
        .then(half_up_div(wide, cost.cast(pl.Int128)).cast(pl.Int64))
        .otherwise(pl.col("f_fen"))
    )
    local = pl.col("a_fen") - pl.col("patient_fen") - pl.col("other_fen")
    out = pl.when(kind == "national").then(pl.col("n_fund")).when(kind == "local").then(local)
    return (
        frame.with_columns(f_fen.alias("f_fen"), scaled.alias("scaled"))
        .with_columns(out.otherwise(item_fund).alias("fund_out"))
        .with_columns(
            (
                ((kind == "national") & pl.col("n_capped"))
                | ((kind == "policy") & pl.col("s_capped"))
            ).alias("capped"),
            pl.when(kind == "national")
            .then(pl.col("n_ded"))
            .when(kind == "policy")
            .then(pl.col("s_ded"))
            .alias("t_ded"),
            pl.when(kind == "national")
            .then(pl.col("n_raw"))
            .when(kind == "policy")
            .then(pl.col("s_raw"))
            .alias("t_raw"),
            pl.when(kind == "national")
            .then(pl.col("n_ratio"))
            .when(kind == "policy")
            .then(pl.col("s_ratio"))
            .alias("t_ratio"),
            kind.is_in(("national", "policy")).alias("uses_policy"),
        )
    )


def fund_amounts(
    frame: pl.DataFrame, policies: PolicySet | None, params: PricingParams
) -> pl.DataFrame:
    """The fund amount of each case from its class, payment and basis (working
    columns ``cls``, ``pay_fen``, ``basis``, ``std_based`` …), DRG or DIP alike."""
    return _fund(_with_policies(_money_columns(frame), policies, params), params)


def output_columns(frame: pl.DataFrame) -> pl.DataFrame:
    """The :data:`PRICED` columns of a frame with its ``explanation``."""
    local = pl.col("fund_kind") == "local"
    national_or_policy = pl.col("fund_kind").is_in(("national", "policy"))
    return with_reason_codes(frame).select(
        "setl_id",
        "hospital_code",
        "hospital_level",
        "discharge_date",
        "drg",
        "status",
        pl.col("cls").alias("payment_class"),
        pl.col("cls").replace_strict(CLASS_NAMES, return_dtype=pl.String).alias("class_name"),
        "special_case",
        "new_tech",
        "los_days",
        "insured_region_code",
        "insutype",
        "scope",
        "policy_key",
        "total_cost",
        "relative_weight",
        "base_rate",
        to_money(pl.col("std_fen")).alias("payment_standard"),
        e4_to_decimal(pl.col("ratio_e4")).alias("cost_ratio"),
        to_money(pl.col("hi_fen")).alias("high_threshold"),
        to_money(pl.col("lo_fen")).alias("low_threshold"),
        pl.col("basis").alias("payment_basis"),
        to_money(pl.col("pay_fen")).alias("drg_payment"),
        to_money(pl.col("standard_fen")).alias("standard_part"),
        to_money(pl.col("pay_fen") - pl.col("standard_fen")).alias("items_part"),
        pl.col("fund_kind").alias("fund_formula"),
        to_money(pl.col("a_fen")).alias("term_standard"),
        to_money(pl.when(national_or_policy).then(pl.col("sf_fen"))).alias("term_self_pay_full"),
        to_money(pl.when(national_or_policy).then(pl.col("sp_fen"))).alias("term_self_pay_first"),
        to_money(pl.col("t_ded")).alias("term_deductible"),
        e4_to_decimal(pl.col("t_ratio")).alias("term_ratio"),
        to_money(pl.when(local).then(pl.col("patient_fen"))).alias("term_patient_payment"),
        to_money(pl.when(local).then(pl.col("other_fen"))).alias("term_other_funds"),
        to_money(pl.col("pooled_fen")).alias("fund_actual"),
        to_money(pl.col("patient_other_fen")).alias("patient_other"),
        to_money(pl.col("fund_out")).alias("fund_amount"),
        to_money(pl.col("pay_fen") - pl.col("cost_fen")).alias("balance"),
        "reason_codes",
        "explanation",
    )


def price_batch(
    cases: pl.DataFrame,
    standards: pl.DataFrame,
    policies: PolicySet | None = None,
    params: PricingParams | None = None,
) -> pl.DataFrame:
    """Price every case: class, DRG payment, fund amount, terms and explanation.

    ``cases``: the settlement frame (:data:`~yibao.engines.settlement.frames.SETTLEMENT_CASES`;
    required ``setl_id, hospital_code, hospital_level, status, drg, total_cost``; the
    national formula also needs ``insured_region_code`` (or ``region_code``),
    ``insutype``, ``discharge_date``, ``self_pay_full``, ``self_pay_first``; item-paid
    cases need ``fund_payment``).  ``standards``: a payment-standard table (``drg,
    hospital_level, payment_standard`` and optionally ``relative_weight, base_rate``),
    e.g. :func:`yibao.engines.measure.payment_standards`.  ``policies``: benefit
    policies of the insured places (not needed for the local formula with actual
    item funds).  Returns one row per case with the :data:`PRICED` columns, sorted by
    ``setl_id``.  Rules: module docstring.
    """
    params = params or PricingParams()
    check_standards(standards)
    standards = standards.with_columns(
        pl.col("drg").cast(pl.String), pl.col("hospital_level").cast(pl.String)
    )
    frame = normalise(cases).with_row_index("_i")
    frame = _classify(frame, standards, params)
    frame = fund_amounts(_payment(frame, params), policies, params)
    return output_columns(frame.with_columns(explanation())).sort("setl_id")
