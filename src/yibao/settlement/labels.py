"""Chinese column headers and values of the settlement exports (结算单、年终清算): what a
bureau sends a hospital reads in Chinese, money to the fen (issue 10 item 9)."""

from __future__ import annotations

from typing import Any, Final

import polars as pl

from yibao.kit.exports import NUMBER_FORMATS, labelled

PAYMENT_CLASSES: Final = {
    "normal": "正常病例",
    "high": "高倍率病例",
    "low": "低倍率病例",
    "qy": "歧义病例",
    "ungroupable": "不能入组",
    "no_standard": "无支付标准",
    "special": "特例单议",
    "long_stay": "超长住院（按床日）",
    "high_capped": "超出高倍率比例上限",
    "dip_normal": "DIP 正常病例",
    "dip_low": "DIP 费用超低病例",
    "dip_high": "DIP 费用超高病例",
    "dip_extreme": "DIP 极端异常病例",
    "dip_items": "DIP 未入组病例",
}
PAYMENT_BASES: Final = {
    "standard": "按支付标准",
    "items": "按项目付费",
    "excess": "支付标准 + 超出高倍率界值部分",
    "special_standard": "特例单议核定金额",
    "score": "按病种分值 × 系数 × 点值",
    "per_diem": "按床日付费",
}
LEVELS: Final = {"1": "一级", "2": "二级", "3": "三级"}
YES_NO: Final[dict[Any, str]] = {True: "是", False: "否"}

COLUMNS: Final = {
    "period": "结算期间",
    "hospital_code": "医疗机构编码",
    "hospital_name": "医疗机构名称",
    "hospital_level": "医院等级",
    "cases": "病例数",
    "drg_cases": "按病组（病种分值）支付病例数",
    "item_cases": "按项目支付病例数",
    "drg_payment": "DRG / DIP 支付（元）",
    "item_payment": "按项目支付（元）",
    "fund_drg": "按病组支付病例基金支付（元）",
    "fund_items": "按项目支付病例基金支付（元）",
    "fund_total": "基金支付合计（元）",
    "deductions": "审核调整扣减（元）",
    "audit_deductions": "智能审核扣款（元）",
    "finding_id": "疑点编号",
    "jr_id": "疑点结果ID",
    "rule_id": "规则编号",
    "amount": "金额（元）",
    "reason": "扣款依据",
    "additions": "审核调增（元）",
    "settlement_amount": "本月结算金额（元）",
    "prepaid": "本月预拨金额（元）",
    "held_back": "暂缓拨付（元）",
    "deposit_rate": "质量保证金比例",
    "deposit_withheld": "预留质量保证金（元）",
    "advances": "已预付金额（元）",
    "net_payable": "本月应付净额（元）",
    "setl_id": "结算ID",
    "mdtrt_id": "就诊ID",
    "psn_no": "人员编号",
    "discharge_date": "出院日期",
    "drg": "DRG",
    "payment_class": "支付类别",
    "adjusted_score": "DIP 调整后分值",
    "cost_ratio": "费用倍数（费用 ÷ 标准）",
    "case_cost": "病例总费用（元）",
    "coefficient": "医疗机构系数",
    "payment_basis": "支付依据",
    "standard_set_id": "支付标准编号",
    "payment_standard": "支付标准（元）",
    "adjusted": "是否审核调整",
    "amount_paid": "确认支付（元）",
    "original_fund": "计价基金支付（元）",
    "fund_amount": "基金支付（元）",
    "fund_deduction": "基金调整额（元，正为扣减）",
    "points": "点数",
    "provisional_payment": "月度支付合计（元）",
    "final_payment": "清算支付（元）",
    "patient_other": "个人及其他基金负担（元）",
    "fund_due": "应付基金（元）",
    "final_fund": "清算基金（元）",
    "deposit": "质量保证金（元）",
    "score": "考核得分",
    "release_share": "返还比例",
    "deposit_released": "返还保证金（元）",
    "deposit_forfeited": "扣留保证金（元）",
    "deposit_withheld_monthly": "月度已预留保证金（元）",
    "paid_during_year": "年内已拨付（元）",
    "clearing_amount": "清算应付（元，负为追回）",
    "relative_weight": "相对权重",
    "items_part": "按项目部分（元）",
    "final_units": "清算点数",
    "difference": "清算差额（元）",
}
VALUES: Final[dict[str, dict[Any, str]]] = {
    "payment_class": PAYMENT_CLASSES,
    "payment_basis": PAYMENT_BASES,
    "hospital_level": LEVELS,
    "adjusted": YES_NO,
}


#: shares in the exported sheets (Chinese headers), shown as per cent: the cell keeps
#: the fraction (0.1 shows 10.00%)
PERCENT_COLUMNS = {
    COLUMNS[c]: NUMBER_FORMATS["pct"] for c in ("deposit_rate", "release_share") if c in COLUMNS
}


def for_people(frame: pl.DataFrame) -> pl.DataFrame:
    """A statement, clearing or case frame with Chinese headers and values."""
    return labelled(frame, COLUMNS, VALUES)
