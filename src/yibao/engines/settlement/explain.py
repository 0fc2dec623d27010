"""Reason codes and the Chinese one-line explanation of a priced case.

Every priced case carries ``reason_codes`` (a list of the codes below, machine
readable) and ``explanation`` (one Chinese line with the figures used).  The
expressions here read the working columns of :mod:`yibao.engines.settlement.pricing`
(integers in fen, ratios in 1/10,000).
"""

from __future__ import annotations

from typing import Final

import polars as pl

from yibao.engines.measure.params import LEVEL_NAMES
from yibao.engines.settlement.frames import to_money
from yibao.engines.settlement.policy import SCOPE_NAMES

#: Reason code → Chinese meaning.
REASONS: Final[dict[str, str]] = {
    "PAY_STANDARD": "按病组支付标准支付",
    "HIGH_MULTIPLIER": "费用极高病例（高倍率）",
    "LOW_MULTIPLIER": "费用极低病例（低倍率）",
    "QY_GROUP": "歧义组（QY）病例",
    "UNGROUPABLE": "无法入组病例",
    "NO_STANDARD": "病组在该级别医院无支付标准",
    "PAY_ITEMS": "按项目支付",
    "PAY_ITEMS_FRACTION": "按项目费用的一定比例支付",
    "PAY_EXCESS": "按支付标准加超出高倍率线部分支付",
    "LONG_STAY": "超长住院病例，按床日付费",
    "HIGH_CAPPED": "超出本院高倍率病例比例上限，按支付标准支付",
    "PAY_PER_DIEM": "按床日付费",
    "DIP_NORMAL": "DIP 正常病例，按病种分值支付",
    "DIP_LOW": "DIP 费用超低病例，分值按费用比例计算",
    "DIP_HIGH": "DIP 费用超高病例，分值按超出倍数计算",
    "DIP_EXTREME": "DIP 极端异常病例，需专家评审（特例单议）",
    "DIP_UNGROUPED": "未进入 DIP 病种，按项目支付",
    "PAY_SCORE": "按病种分值 × 医疗机构系数 × 点值支付",
    "SPECIAL_APPROVED": "特例单议通过",
    "SPECIAL_ADJUSTED": "特例单议按核定金额支付",
    "SPECIAL_PENDING": "特例单议申请中，暂按常规规则计价",
    "SPECIAL_REJECTED": "特例单议未通过，按常规规则计价",
    "FUND_NATIONAL": "统筹基金按国家公式（标准 − 全自费 − 先自付 − 起付线）× 比例",
    "FUND_LOCAL": "统筹基金按总额定额公式（标准 − 个人支付 − 其他基金）",
    "FUND_ZERO": "公式括号内不大于 0，统筹基金支付 0",
    "FUND_CLAWBACK": "统筹基金为负数，由医保追回",
    "FUND_ACTUAL": "统筹基金取按项目结算的实际金额",
    "FUND_POLICY": "统筹基金按参保地待遇政策计算",
    "FUND_SCALED": "统筹基金按支付额 ÷ 总费用折算",
    "FUND_CAPPED": "已达年度封顶线",
    "CROSS_REGION_IN_PROVINCE": "省内异地就医，执行参保地待遇政策",
    "CROSS_REGION_OUT_OF_PROVINCE": "跨省异地就医，执行参保地待遇政策",
    "POLICY_FALLBACK": "参保地无有效待遇政策，按就医地政策计算",
    "NO_POLICY_ACTUAL": "参保地无有效待遇政策，统筹基金取实际金额",
}

CLASS_NAMES: Final[dict[str, str]] = {
    "normal": "正常病例",
    "high": "高倍率病例",
    "low": "低倍率病例",
    "qy": "歧义组病例",
    "ungroupable": "无法入组病例",
    "no_standard": "无支付标准病例",
    "special": "特例单议病例",
    "long_stay": "超长住院病例（按床日付费）",
    "high_capped": "超出高倍率比例上限（按标准付费）",
    "dip_normal": "DIP 正常病例",
    "dip_low": "DIP 费用超低病例",
    "dip_high": "DIP 费用超高病例",
    "dip_extreme": "DIP 极端异常病例",
    "dip_items": "DIP 未入组病例",
}
FORMULA_NAMES: Final[dict[str, str]] = {
    "national": "国家公式",
    "local": "总额定额公式",
    "actual": "实际统筹基金",
    "policy": "参保地政策",
}


def _conditions() -> list[tuple[str, pl.Expr]]:
    """(reason code, condition) in the fixed output order."""
    cls, basis, fund = pl.col("cls"), pl.col("basis"), pl.col("fund_kind")
    special = pl.col("special_case")
    uses = pl.col("uses_policy")
    return [
        ("HIGH_MULTIPLIER", cls == "high"),
        ("LOW_MULTIPLIER", cls == "low"),
        ("QY_GROUP", cls == "qy"),
        ("UNGROUPABLE", cls == "ungroupable"),
        ("NO_STANDARD", cls == "no_standard"),
        ("LONG_STAY", cls == "long_stay"),
        ("HIGH_CAPPED", cls == "high_capped"),
        ("DIP_NORMAL", cls == "dip_normal"),
        ("DIP_LOW", cls == "dip_low"),
        ("DIP_HIGH", cls == "dip_high"),
        ("DIP_EXTREME", cls == "dip_extreme"),
        ("DIP_UNGROUPED", cls == "dip_items"),
        ("SPECIAL_APPROVED", cls == "special"),
        ("SPECIAL_PENDING", special == "applied"),
        ("SPECIAL_REJECTED", special == "rejected"),
        ("PAY_STANDARD", basis == "standard"),
        ("PAY_EXCESS", basis == "excess"),
        ("PAY_SCORE", basis == "score"),
        ("PAY_PER_DIEM", basis == "per_diem"),
        ("SPECIAL_ADJUSTED", basis == "special_standard"),
        ("PAY_ITEMS", basis == "items"),
        ("PAY_ITEMS_FRACTION", basis == "items_fraction"),
        ("FUND_NATIONAL", fund == "national"),
        ("FUND_LOCAL", fund == "local"),
        ("FUND_ACTUAL", fund == "actual"),
        ("FUND_POLICY", fund == "policy"),
        ("FUND_SCALED", pl.col("scaled")),
        # the bracket (standard − 全自费 − 先自付 − 起付线) is not positive; a fund
        # brought to 0 by the annual cap is FUND_CAPPED only
        ("FUND_ZERO", (fund == "national") & (pl.col("fund_out") == 0) & ~pl.col("capped")),
        ("FUND_CLAWBACK", pl.col("fund_out") < 0),
        ("FUND_CAPPED", pl.col("capped")),
        ("CROSS_REGION_IN_PROVINCE", uses & (pl.col("scope") == "in_province")),
        ("CROSS_REGION_OUT_OF_PROVINCE", uses & (pl.col("scope") == "out_of_province")),
        ("POLICY_FALLBACK", pl.col("policy_fallback")),
        ("NO_POLICY_ACTUAL", pl.col("no_policy")),
    ]


def with_reason_codes(frame: pl.DataFrame) -> pl.DataFrame:
    """Add ``reason_codes`` (list of codes, fixed order).  The conditions are packed
    into a bit mask and each distinct mask is expanded once (a batch has only a few
    dozen distinct combinations)."""
    conditions = _conditions()
    assert all(code in REASONS for code, _ in conditions)
    mask = pl.sum_horizontal(
        pl.when(cond.fill_null(False)).then(pl.lit(1 << i, pl.Int64)).otherwise(pl.lit(0, pl.Int64))
        for i, (_, cond) in enumerate(conditions)
    ).alias("_reason_mask")
    frame = frame.with_columns(mask)
    masks = frame["_reason_mask"].unique().sort().to_list()
    lookup = pl.DataFrame(
        {
            "_reason_mask": masks,
            "reason_codes": [
                [code for i, (code, _) in enumerate(conditions) if m >> i & 1] for m in masks
            ],
        },
        schema={"_reason_mask": pl.Int64, "reason_codes": pl.List(pl.String)},
    )
    return frame.join(lookup, on="_reason_mask", how="left", maintain_order="left").drop(
        "_reason_mask"
    )


def _m(column: str) -> pl.Expr:
    return to_money(pl.col(column)).cast(pl.String)


def percent(column: str) -> pl.Expr:
    """1/10,000 integer → ``"85%"`` / ``"85.5%"``."""
    r = pl.col(column)
    whole = (r // 100).cast(pl.String)
    frac = (r % 100).cast(pl.String).str.zfill(2).str.strip_chars_end("0")
    return pl.when(r % 100 == 0).then(whole).otherwise(pl.format("{}.{}", whole, frac)) + "%"


def _ratio_text() -> pl.Expr:
    r = pl.col("ratio_e4")
    whole = (r // 10_000).cast(pl.String)
    frac = (r % 10_000).cast(pl.String).str.zfill(4)
    return pl.format("{}.{}", whole, frac)


# long: one Chinese explanation per payment class, side by side
def _class_text() -> pl.Expr:
    cls, basis = pl.col("cls"), pl.col("basis")
    level = pl.col("hospital_level").replace_strict(LEVEL_NAMES, default="未知等级")
    standard = pl.format("支付标准 {} 元", _m("std_fen"))
    return (
        pl.when(cls == "normal")
        .then(
            pl.format(
                "正常病例：费用 {} 元为{}的 {} 倍（介于低倍率 {} 倍与高倍率 {} 倍之间），按{}支付",
                _m("cost_fen"),
                standard,
                _ratio_text(),
                pl.col("low_text"),
                pl.col("high_text"),
                standard,
            )
        )
        .when((cls == "high") & (basis == "excess"))
        .then(
            pl.format(
                "高倍率病例：费用 {} 元超过{}的 {} 倍（{} 元），按支付标准加超出部分支付 {} 元",
                _m("cost_fen"),
                standard,
                pl.col("high_text"),
                _m("hi_fen"),
                _m("pay_fen"),
            )
        )
        .when(cls == "high")
        .then(
            pl.format(
                "高倍率病例：费用 {} 元超过{}的 {} 倍（{} 元），按项目支付 {} 元",
                _m("cost_fen"),
                standard,
                pl.col("high_text"),
                _m("hi_fen"),
                _m("pay_fen"),
            )
        )
        .when(cls == "low")
        .then(
            pl.format(
                "低倍率病例：费用 {} 元低于{}的 {} 倍（{} 元），按项目支付 {} 元",
                _m("cost_fen"),
                standard,
                pl.col("low_text"),
                _m("lo_fen"),
                _m("pay_fen"),
            )
        )
        .when(cls == "qy")
        .then(
            pl.format(
                "歧义组（QY）病例：按项目费用 {} 元的 {} 支付 {} 元",
                _m("cost_fen"),
                percent("qy_e4"),
                _m("pay_fen"),
            )
        )
        .when(cls == "ungroupable")
        .then(pl.format("无法入组病例（分组状态 {}）：按项目支付 {} 元", "status", _m("pay_fen")))
        .when(cls == "long_stay")
        .then(
            pl.format(
                "超长住院病例：住院 {} 天，超过 {} 天，按床日付费 {} 元",
                pl.col("los_days").cast(pl.String),
                pl.col("long_stay_days").cast(pl.String),
                _m("pay_fen"),
            )
        )
        .when(cls == "high_capped")
        .then(
            pl.format(
                "高倍率病例超出本院高倍率病例比例上限：费用 {} 元超过{}的 {} 倍，按{}支付",
                _m("cost_fen"),
                standard,
                pl.col("high_text"),
                standard,
            )
        )
        .when(cls == "no_standard")
        .then(
            pl.format(
                "病组 {} 在{}医院无支付标准：按项目支付 {} 元",
                pl.col("drg").fill_null("（空）"),
                level,
                _m("pay_fen"),
            )
        )
        .when(basis == "special_standard")
        .then(pl.format("特例单议通过：按核定金额 {} 元支付", _m("pay_fen")))
        .otherwise(pl.format("特例单议通过：按项目支付 {} 元", _m("pay_fen")))
    )


# long: one Chinese explanation per fund formula, side by side
def _fund_text() -> pl.Expr:
    kind = pl.col("fund_kind")
    policy = pl.format(
        "（{}，{}）",
        pl.col("policy_label").fill_null(""),
        pl.col("scope").replace_strict(SCOPE_NAMES, default=""),
    )
    cap_to = pl.when(kind == "national").then(_m("fund_out")).otherwise(_m("f_fen"))
    cap = (
        pl.when(pl.col("capped"))
        .then(pl.format("，受年度封顶线限制为 {} 元", cap_to))
        .otherwise(pl.lit(""))
    )
    scaled = pl.format(" × 支付额 {} ÷ 总费用 {}", _m("pay_fen"), _m("cost_fen"))
    return (
        pl.when(kind == "national")
        .then(
            pl.format(
                "统筹基金 = max(0, ({} − 全自费 {} − 先自付 {} − 起付线 {}) × {}) = {} 元{}{}",
                _m("a_fen"),
                _m("sf_fen"),
                _m("sp_fen"),
                _m("t_ded"),
                percent("t_ratio"),
                _m("t_raw"),
                cap,
                policy,
            )
        )
        .when(kind == "local")
        .then(
            pl.format(
                "统筹基金 = {} − 个人支付 {} − 其他基金 {} = {} 元{}",
                _m("a_fen"),
                _m("patient_fen"),
                _m("other_fen"),
                _m("fund_out"),
                pl.when(pl.col("fund_out") < 0)
                .then(pl.lit("（负数由医保追回）"))
                .otherwise(pl.lit("")),
            )
        )
        .when(kind == "policy")
        .then(
            pl.format(
                "统筹基金按参保地政策 = ({} − 全自费 {} − 先自付 {} − 起付线 {}) × {} "
                "= {} 元{}{}{}",
                _m("cost_fen"),
                _m("sf_fen"),
                _m("sp_fen"),
                _m("t_ded"),
                percent("t_ratio"),
                _m("t_raw"),
                cap,
                pl.when(pl.col("scaled"))
                .then(pl.format("；再{} = {} 元", scaled, _m("fund_out")))
                .otherwise(pl.lit("")),
                policy,
            )
        )
        .otherwise(
            pl.format(
                "统筹基金按实际结算 {} 元{}",
                _m("f_fen"),
                pl.when(pl.col("scaled"))
                .then(pl.format("{} = {} 元", scaled, _m("fund_out")))
                .otherwise(pl.lit("")),
            )
        )
    )


def explanation(class_text: pl.Expr | None = None) -> pl.Expr:
    """The Chinese one-line explanation of each case (``class_text``: the first half,
    DRG's by default)."""
    prefix = (
        pl.when(pl.col("special_case") == "applied")
        .then(pl.lit("（特例单议申请中）"))
        .when(pl.col("special_case") == "rejected")
        .then(pl.lit("（特例单议未通过）"))
        .otherwise(pl.lit(""))
    )
    fallback = (
        pl.when(pl.col("policy_fallback"))
        .then(pl.lit("；参保地无有效政策，按就医地政策"))
        .when(pl.col("no_policy"))
        .then(pl.lit("；参保地无有效政策，取实际统筹基金"))
        .otherwise(pl.lit(""))
    )
    first = _class_text() if class_text is None else class_text
    return pl.format("{}{}；{}{}", prefix, first, _fund_text(), fallback).alias("explanation")
