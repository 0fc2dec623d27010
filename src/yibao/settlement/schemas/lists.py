"""What the settlement-list API answers: intake outcomes, lists, findings, pricing."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, Field


class FindingOut(BaseModel):
    """One QC finding (质控问题) of a list."""

    rule_id: str = Field(description="规则编号，如 SETL001")
    severity: str = Field(description="blocking（阻断，清单被挂起）或 warning（提示）")
    field: str | None = Field(None, description="出问题的字段，如 setlinfo.setl_id")
    value: str | None = Field(None, description="出问题的值（截断到 200 字符）")
    message: str = Field(description="中文说明")


class ListOutcomeOut(BaseModel):
    """What became of one submitted list (in the order sent)."""

    index: int = Field(description="在本次提交中的序号（从 0 起）")
    row: int | None = Field(
        None, description="CSV / Excel 上传时该清单所在的行号（与表格软件显示的行号一致）"
    )
    setl_id: str | None = Field(description="结算ID")
    state: str = Field(
        description="priced 已计算支付 · grouped 已分组 · qc_failed 质控未通过（挂起）· "
        "refused 拒收（未存储）"
    )
    list_id: int | None = Field(None, description="清单编号（拒收时为空）")
    version: int | None = Field(None, description="版本（同一结算ID重传时加 1）")
    findings: list[FindingOut] = Field(default_factory=list)
    drg: str | None = None
    payment_class: str | None = Field(None, description="支付类别：normal、high、low …")
    drg_payment: str | None = Field(None, description="DRG / DIP 支付（元）")
    fund_amount: str | None = Field(None, description="统筹基金支付（元）")
    hospital_code: str | None = None


class IntakeOut(BaseModel):
    """The answer to a submission: counts by state and one outcome per list."""

    received: int = Field(description="收到的清单份数")
    by_state: dict[str, int] = Field(description="各状态的份数")
    lists: list[ListOutcomeOut]
    notes: list[str] = Field(
        default_factory=list, description="读取文件的提示（如未识别、已忽略的列）"
    )


class ListOut(BaseModel):
    """A stored settlement list as lists show it."""

    id: int
    setl_id: str
    hospital_code: str
    version: int
    state: str
    case_id: int | None
    blocking: int = Field(description="阻断性质控问题数")
    warnings: int = Field(description="提示性质控问题数")
    source: str = Field(description="api（接口）、file（文件上传）或 his（HIS 交易接口 4101A）")
    received_at: str = Field(description="接收时间（ISO 8601，UTC）")


class ListPage(BaseModel):
    """One page of lists, newest first."""

    total: int
    page: int
    size: int
    items: list[ListOut]


class PricingOut(BaseModel):
    """The list's grouping and payment (结算)."""

    plan_id: str | None
    drg: str | None
    payment_class: str | None
    payment_standard: str | None = Field(description="支付标准（元）")
    drg_payment: str = Field(description="DRG / DIP 支付（元）")
    fund_amount: str = Field(description="统筹基金支付（元）")
    explanation: str | None = Field(description="中文计算说明")
    terms: dict[str, Any] | None = Field(description="计算用到的参数")
    standard_set_id: int | None


class ListDetailOut(ListOut):
    """One list with its QC findings and its payment."""

    findings: list[FindingOut]
    pricing: PricingOut | None
