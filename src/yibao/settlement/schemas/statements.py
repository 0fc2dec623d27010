"""What the statement (月度结算单) and year-end clearing (年终清算) API answers as
JSON (the same routes also answer Excel or PDF files, by ``format``).

Money and rates are strings of decimals ("12000.00", "0.0500"); field order is the
order of the keys in the JSON."""

from __future__ import annotations

from pydantic import BaseModel, Field


class StatementRowOut(BaseModel):
    """One hospital's monthly statement."""

    period: str = Field(description="结算期间 YYYY-MM")
    hospital_code: str = Field(description="医疗机构编码")
    cases: int = Field(description="已确认结算病例数")
    drg_cases: int = Field(description="按 DRG 支付的病例数")
    item_cases: int = Field(description="按项目付费的病例数")
    drg_payment: str = Field(description="DRG / DIP 支付（元）")
    item_payment: str = Field(description="按项目支付（元）")
    fund_drg: str = Field(description="DRG 病例统筹基金支付（元）")
    fund_items: str = Field(description="按项目病例统筹基金支付（元）")
    fund_total: str = Field(description="统筹基金支付合计（元）")
    deductions: str = Field(description="审核扣减（元）")
    audit_deductions: str = Field(description="智能审核扣款（元，已维持的疑点，ADR 0024）")
    additions: str = Field(description="审核调增（元）")
    settlement_amount: str = Field(description="结算金额（元）")
    prepaid: str = Field(description="本月预付（元）")
    held_back: str = Field(description="暂缓支付（元）")
    deposit_rate: str = Field(description="质量保证金比例")
    deposit_withheld: str = Field(description="预留质量保证金（元）")
    advances: str = Field(description="已预拨（元）")
    net_payable: str = Field(description="本月应付（元）")


class StatementsOut(BaseModel):
    """A period's statements, one per hospital in scope."""

    period: str = Field(description="结算期间 YYYY-MM")
    cases: int = Field(description="已确认结算病例数（合计）")
    items: list[StatementRowOut]


class StatementCaseOut(BaseModel):
    """One confirmed case of a hospital's statement."""

    period: str = Field(description="结算期间 YYYY-MM")
    setl_id: str = Field(description="结算ID")
    hospital_code: str = Field(description="医疗机构编码")
    hospital_level: str | None = Field(description="医院等级")
    drg: str | None = None
    payment_class: str | None = Field(description="支付类别")
    payment_basis: str | None = Field(
        description="支付依据：standard 支付标准 / items 按项目 / special_standard 核定金额"
    )
    standard_set_id: int | None = Field(description="支付标准集")
    payment_standard: str | None = Field(description="支付标准（元）")
    drg_payment: str | None = Field(description="DRG / DIP 支付（元）")
    adjusted: bool | None = Field(description="是否按调整后金额支付")
    amount_paid: str | None = Field(description="确认支付金额（元）")
    original_fund: str | None = Field(description="原统筹基金支付（元）")
    fund_amount: str | None = Field(description="统筹基金支付（元）")
    fund_deduction: str | None = Field(description="统筹基金扣减（元，负数为调增）")


class AuditDeductionOut(BaseModel):
    """One intelligent-audit deduction of a statement: the decided finding it comes from."""

    period: str = Field(description="结算期间 YYYY-MM")
    hospital_code: str = Field(description="医疗机构编码")
    finding_id: int = Field(description="疑点编号")
    jr_id: str = Field(description="疑点结果 ID（jr_id）")
    rule_id: str = Field(description="规则编号")
    amount: str = Field(description="扣款金额（元）")
    reason: str = Field(description="扣款依据")


class StatementOut(BaseModel):
    """One hospital's monthly statement with its cases and its intelligent-audit
    deductions (each traceable to its finding)."""

    statement: StatementRowOut
    cases: list[StatementCaseOut]
    audit_deductions: list[AuditDeductionOut] = []


class ClearingTotalsOut(BaseModel):
    """The year-end clearing's totals over the hospitals (元)."""

    final_payment: str = Field(description="清算后支付合计")
    final_fund: str = Field(description="清算后统筹基金支付合计")
    deposit_released: str = Field(description="返还质量保证金合计")
    paid_during_year: str = Field(description="年内已支付合计")
    clearing_amount: str = Field(description="清算金额合计（正数为补付）")


class ClearingHospitalOut(BaseModel):
    """One hospital's year-end clearing (元, unless said otherwise)."""

    hospital_code: str = Field(description="医疗机构编码")
    cases: int = Field(description="病例数")
    points: str = Field(description="权重或点数合计")
    provisional_payment: str = Field(description="月度结算时的支付")
    final_payment: str = Field(description="清算后支付")
    patient_other: str = Field(description="个人及其他支付")
    fund_due: str = Field(description="应由统筹基金支付")
    deductions: str = Field(description="审核扣减")
    final_fund: str = Field(description="清算后统筹基金支付")
    deposit: str = Field(description="质量保证金")
    score: str = Field(description="年度考核得分")
    release_share: str = Field(description="质量保证金返还比例")
    deposit_released: str = Field(description="返还的质量保证金")
    deposit_forfeited: str = Field(description="扣留的质量保证金")
    deposit_withheld_monthly: str = Field(description="月度预留的质量保证金")
    paid_during_year: str = Field(description="年内已支付")
    clearing_amount: str = Field(description="清算金额（正数为补付，负数为扣回）")


class ClearingOut(BaseModel):
    """The year-end clearing: final rate / point value and each hospital's amounts."""

    year: int = Field(description="清算年度")
    method: str = Field(description="rate 费率法 / point 点数法")
    payment_budget: str = Field(description="支付预算（元）")
    fixed_total: str = Field(description="按项目支付的合计（元）")
    total_points: str = Field(description="权重或点数合计")
    final_value: str = Field(description="最终费率或点值")
    level_values: dict[str, str] = Field(
        default_factory=dict,
        description="各医院等级的最终费率或点值（最终值 × 等级系数；等级系数取自支付标准）",
    )
    residual: str = Field(description="尾差（元，预算 − 清算后支付合计）")
    months: list[str] = Field(default_factory=list, description="本年度已完成结算确认的月份")
    missing_months: list[str] = Field(
        default_factory=list,
        description="本年度尚未完成结算确认的月份（非空时结果只含部分月份，最终费率偏高）",
    )
    totals: ClearingTotalsOut
    hospitals: list[ClearingHospitalOut]
