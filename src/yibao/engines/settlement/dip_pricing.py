"""DIP case pricing (按病种分值付费) for settlement: the same lifecycle as DRG, paid by
score × hospital coefficient × point value (domain.md §2.3–2.6, issue 14 item 6).

Per case, with its DIP group's score and standard cost (the group's mean cost at the
case's hospital level, §2.4) given by the caller:

1. **Class** — ``dip_items``: no DIP group (blank group, paid by items); otherwise by
   the deviation rule of :func:`yibao.engines.dip.adjust_scores`: ``dip_low`` (cost <
   low × standard: score × ratio), ``dip_high`` (cost > high × standard: score ×
   (ratio − 1)), ``dip_normal``; ``dip_extreme`` when the cost passes extreme ×
   standard (paid provisionally like a high case and flagged for expert review, i.e.
   a special-case application).  An approved special case becomes ``special`` as in
   DRG pricing.
2. **Payment** — adjusted score × the hospital's coefficient × the point value, half up
   to the fen (:func:`yibao.engines.dip.case_payments`); during the year the point
   value is the *budget* point value, and year-end clearing re-prices with the
   settlement point value.  Basis ``score`` (the whole payment is points), ``items``
   for the blank group and special cases by items, ``special_standard`` for a
   special case with a decided amount.
3. **Fund amount** — exactly as for DRG (:mod:`.pricing`): the national formula on the
   payment (or the local one), item-paid cases by their actual pooled fund.

Outputs are the :data:`~.pricing.PRICED` columns (``drg`` holds the DIP group code,
``payment_standard`` the payment of a normal case: score × coefficient × point value,
``high_threshold`` / ``low_threshold`` the deviation bounds in cost) plus the DIP
terms of :data:`DIP_TERMS`, sorted by ``setl_id``.
"""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal
from fractions import Fraction
from typing import Final

import polars as pl

from yibao.engines.caseframe import MONEY
from yibao.engines.dip import DeviationParams, case_payments
from yibao.engines.dip.scores import half_up
from yibao.engines.measure.params import LEVEL_NAMES
from yibao.engines.settlement.errors import SettlementError
from yibao.engines.settlement.explain import explanation
from yibao.engines.settlement.frames import E4, fen, half_up_div, normalise, require, to_money
from yibao.engines.settlement.params import PricingParams
from yibao.engines.settlement.policy import PolicySet
from yibao.engines.settlement.pricing import (
    PRICED,
    fund_amounts,
    output_columns,
)

#: DIP terms added to the :data:`PRICED` columns.
DIP_TERMS: Final[dict[str, pl.DataType | type[pl.DataType]]] = {
    "dip_score": pl.Decimal(18, 2),
    "adjusted_score": pl.Decimal(18, 2),
    "coefficient": pl.Decimal(18, 4),
    "point_value": pl.Decimal(18, 4),
    "standard_cost": MONEY,
    "extreme": pl.Boolean,
}
DIP_PRICED: Final = {**PRICED, **DIP_TERMS}
SCORED: Final = ("setl_id", "dip_code", "score", "standard_cost")


def _points_fen(scores: pl.DataFrame, point_value: Decimal) -> pl.Series:
    """score × coefficient × point value in fen (half up), exact, once per distinct pair."""
    pv = Fraction(point_value)
    out: list[int | None] = []
    memo: dict[tuple[Decimal, Decimal], int] = {}
    for score, coef in scores.select("score", "coefficient").iter_rows():
        if score is None:
            out.append(None)
            continue
        key = (score, coef)
        if key not in memo:
            f = Fraction(score) * Fraction(coef) * pv * 100
            memo[key] = half_up(f.numerator, f.denominator)
        out.append(memo[key])
    return pl.Series("std_fen", out, dtype=pl.Int64)


def _dip_frame(
    frame: pl.DataFrame,
    scored: pl.DataFrame,
    coefficients: Mapping[str, Decimal],
    point_value: Decimal,
    deviation: DeviationParams,
) -> pl.DataFrame:
    """The settlement frame with the DIP payment and the working columns of pricing."""
    joined = frame.join(
        scored.select(
            "setl_id",
            pl.col("dip_code").cast(pl.String),
            pl.col("score").cast(pl.Decimal(18, 2)),
            pl.col("standard_cost").cast(MONEY),
        ),
        on="setl_id",
        how="left",
        maintain_order="left",
    )
    paid = case_payments(
        joined.select("hospital_code", "total_cost", "dip_code", "score", "standard_cost"),
        coefficients,
        point_value,
        deviation,
    )
    low_e4, high_e4 = int(deviation.low * E4), int(deviation.high * E4)
    ratio = paid["ratio"].cast(pl.Decimal(18, 4)).to_physical()
    return joined.with_columns(
        paid["adjusted_score"].cast(pl.Decimal(18, 2)).alias("adjusted_score"),
        paid["coefficient"],
        paid["deviation"],
        paid["extreme"],
        paid["by_items"],
        paid.select(fen("payment")).to_series().alias("pay0"),
        ratio.alias("ratio_e4"),
        _points_fen(paid.select("score", "coefficient"), point_value),
        fen("total_cost").alias("cost_fen"),
        half_up_div(fen("standard_cost") * low_e4, E4).alias("lo_fen"),
        half_up_div(fen("standard_cost") * high_e4, E4).alias("hi_fen"),
        pl.lit(str(point_value)).alias("pv_text"),
        pl.lit(f"{deviation.low.normalize():f}").alias("low_text"),
        pl.lit(f"{deviation.high.normalize():f}").alias("high_text"),
        pl.lit(f"{deviation.extreme.normalize():f}").alias("extreme_text"),
    )


def _payment(frame: pl.DataFrame) -> pl.DataFrame:
    """Final class, payment (fen) and payment basis of each DIP case."""
    special = (pl.col("special_case") == "approved").fill_null(False)
    amount = fen("special_payment")
    cls0 = (
        pl.when(pl.col("by_items"))
        .then(pl.lit("dip_items"))
        .when(pl.col("extreme"))
        .then(pl.lit("dip_extreme"))
        .otherwise(pl.format("dip_{}", pl.col("deviation").fill_null("normal")))
    )
    basis = (
        pl.when(special & amount.is_not_null())
        .then(pl.lit("special_standard"))
        .when(special | pl.col("by_items"))
        .then(pl.lit("items"))
        .otherwise(pl.lit("score"))
    )
    pay = pl.when(special).then(pl.coalesce(amount, pl.col("cost_fen"))).otherwise(pl.col("pay0"))
    return frame.with_columns(
        pl.when(special).then(pl.lit("special")).otherwise(cls0).alias("cls"),
        pay.alias("pay_fen"),
        basis.alias("basis"),
        pl.lit(E4).alias("qy_e4"),
    ).with_columns(
        pl.col("basis").is_in(("score", "special_standard")).alias("std_based"),
        pl.when(pl.col("basis") == "score")
        .then(pl.col("pay_fen"))
        .otherwise(pl.lit(0))
        .alias("standard_fen"),
        pl.lit(None, pl.Decimal(18, 4)).alias("relative_weight"),
        pl.lit(None, pl.Decimal(28, 10)).alias("base_rate"),
    )


def _s(column: str) -> pl.Expr:
    return pl.col(column).cast(pl.String)


def _m(column: str) -> pl.Expr:
    return to_money(pl.col(column)).cast(pl.String)


def _ratio_text() -> pl.Expr:
    r = pl.col("ratio_e4")
    return pl.format("{}.{}", (r // E4).cast(pl.String), (r % E4).cast(pl.String).str.zfill(4))


# long: one Chinese explanation per DIP class, side by side
def class_text() -> pl.Expr:
    """The first half of a DIP case's explanation: its class, score and payment."""
    cls = pl.col("cls")
    group = pl.format("病种 {} 分值 {}", pl.col("drg").fill_null("（空）"), _s("dip_score"))
    standard = pl.format("{}医院病种标准费用 {} 元", pl.col("level_name"), _m("std_cost_fen"))
    pay = pl.format(
        "支付 = 分值 {} × 医疗机构系数 {} × 点值 {} = {} 元",
        _s("adjusted_score"),
        _s("coefficient"),
        pl.col("pv_text"),
        _m("pay_fen"),
    )
    return (
        pl.when((cls == "dip_normal") & pl.col("deviation").is_null())
        .then(
            pl.format(
                "DIP 病例：{}，{}医院没有病种标准费用，不作偏差判断，按病种分值支付；{}",
                group,
                pl.col("level_name"),
                pay,
            )
        )
        .when(cls == "dip_normal")
        .then(
            pl.format(
                "DIP 正常病例：{}，费用 {} 元为{}的 {} 倍（介于 {} 与 {} 倍之间），{}",
                group,
                _m("cost_fen"),
                standard,
                _ratio_text(),
                pl.col("low_text"),
                pl.col("high_text"),
                pay,
            )
        )
        .when(cls == "dip_low")
        .then(
            pl.format(
                "DIP 费用超低病例：{}，费用 {} 元低于{}的 {} 倍，分值按比例 {} × {}；{}",
                group,
                _m("cost_fen"),
                standard,
                pl.col("low_text"),
                _s("dip_score"),
                _ratio_text(),
                pay,
            )
        )
        .when(cls.is_in(("dip_high", "dip_extreme")))
        .then(
            pl.format(
                "{}：{}，费用 {} 元为{}的 {} 倍（超过 {} 倍），分值 = {} × ({} − 1)；{}",
                pl.when(cls == "dip_extreme")
                .then(pl.format("DIP 极端异常病例（超过 {} 倍，需专家评审）", "extreme_text"))
                .otherwise(pl.lit("DIP 费用超高病例")),
                group,
                _m("cost_fen"),
                standard,
                _ratio_text(),
                pl.col("high_text"),
                _s("dip_score"),
                _ratio_text(),
                pay,
            )
        )
        .when(cls == "dip_items")
        .then(
            pl.format(
                "未进入 DIP 病种（{}）：按项目支付 {} 元",
                pl.when(pl.col("drg").is_null())
                .then(pl.lit("没有主要诊断或目录中无对应病种"))
                .otherwise(pl.format("病种 {} 没有分值", "drg")),
                _m("pay_fen"),
            )
        )
        .when(pl.col("basis") == "special_standard")
        .then(pl.format("特例单议通过：按核定金额 {} 元支付", _m("pay_fen")))
        .otherwise(pl.format("特例单议通过：按项目支付 {} 元", _m("pay_fen")))
    )


def price_dip_batch(
    cases: pl.DataFrame,
    scored: pl.DataFrame,
    coefficients: Mapping[str, Decimal],
    point_value: Decimal,
    policies: PolicySet | None = None,
    params: PricingParams | None = None,
    deviation: DeviationParams | None = None,
) -> pl.DataFrame:
    """Price every case under DIP: class, payment, fund amount, terms and explanation.

    ``cases``: the settlement frame as for :func:`~.pricing.price_batch` (its ``drg``
    is ignored); ``scored``: per ``setl_id`` its ``dip_code`` (null: no group),
    ``score`` and ``standard_cost`` (null: none at the case's level);
    ``coefficients``: hospital code → 医疗机构系数; ``point_value``: 元 per point.
    Returns one row per case with the :data:`DIP_PRICED` columns, sorted by
    ``setl_id``.  Rules: module docstring.
    """
    params = params or PricingParams()
    deviation = deviation or DeviationParams()
    require(scored, SCORED, "price_dip_batch(scored)")
    if point_value <= 0:
        raise SettlementError(
            f"point_value：点值必须大于 0（收到 {point_value}）", field="point_value"
        )
    frame = normalise(cases).with_row_index("_i")
    missing = set(frame["hospital_code"].unique().to_list()) - set(coefficients)
    if missing:
        raise SettlementError(
            f"医院 {'、'.join(sorted(map(str, missing)))} 没有医疗机构系数，无法按 DIP 计价",
            field="coefficients",
        )
    frame = _dip_frame(frame.drop("drg"), scored, coefficients, point_value, deviation)
    frame = _payment(frame.rename({"dip_code": "drg"})).with_columns(
        pl.col("score").alias("dip_score"),
        fen("standard_cost").alias("std_cost_fen"),
        pl.col("hospital_level").replace_strict(LEVEL_NAMES, default="").alias("level_name"),
    )
    frame = fund_amounts(frame, policies, params)
    out = frame.with_columns(explanation(class_text()))
    return (
        output_columns(out)
        .with_columns(
            out["dip_score"].cast(DIP_TERMS["dip_score"]),
            out["adjusted_score"].cast(DIP_TERMS["adjusted_score"]),
            out["coefficient"].cast(DIP_TERMS["coefficient"]),
            pl.lit(point_value).cast(DIP_TERMS["point_value"]).alias("point_value"),
            out["standard_cost"].cast(MONEY),
            out["extreme"].fill_null(False),
        )
        .sort("setl_id")
    )
