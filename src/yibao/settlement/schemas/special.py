"""What the special-case (特例单议) and appeal (申诉) API answers.

Field order is the order of the keys in the JSON."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, Field


class AttachmentOut(BaseModel):
    """An attachment of a special-case application."""

    name: str = Field(description="文件名")
    size: int = Field(description="大小（字节）")


class SpecialDecisionOut(BaseModel):
    """The experts' decision on a special case."""

    method: str | None = Field(description="通过时：items 按项目付费 / amount 核定金额")
    method_label: str | None = Field(description="支付方式（中文）")
    original_payment: str | None = Field(description="原 DRG 支付（元）")
    new_payment: str | None = Field(description="新的支付（元，通过时）")
    original_fund: str | None = Field(description="原统筹基金支付（元）")
    new_fund: str | None = Field(description="新的统筹基金支付（元，通过时）")
    reason: str | None = Field(description="原因")
    by: str | None = Field(description="评审人")
    at: str = Field(description="评审时间（ISO 8601）")


class SpecialCaseOut(BaseModel):
    """A special-case application (特例单议申请)."""

    id: int = Field(description="申请编号")
    list_id: int = Field(description="清单编号")
    setl_id: str = Field(description="结算ID")
    hospital_code: str = Field(description="医疗机构编码")
    period: str = Field(description="出院年月 YYYY-MM")
    status: str = Field(description="applied 评审中 / approved 通过 / rejected 不通过")
    status_label: str = Field(description="状态（中文）")
    list_state: str | None = Field(description="清单当前状态")
    list_state_label: str | None = Field(description="清单状态（中文）")
    reason: str | None = Field(description="申请理由")
    new_tech: bool = Field(description="是否使用新药品、新耗材、新技术")
    quota: dict[str, Any] | None = Field(
        description="受理时的名额：period、drg_cases、rate、quota、used_before、rank、rule、message"
    )
    attachments: list[AttachmentOut]
    applied_by: str | None = Field(description="申请人")
    applied_at: str = Field(description="申请时间（ISO 8601）")
    decision: SpecialDecisionOut | None = Field(description="评审结果（评审前为空）")


class SpecialCasePage(BaseModel):
    """One page of special-case applications, newest first."""

    total: int
    page: int
    size: int
    items: list[SpecialCaseOut]


class AppealOut(BaseModel):
    """An appeal (申诉) against an adjustment or a refused special case."""

    id: int = Field(description="申诉编号")
    list_id: int = Field(description="清单编号")
    special_id: int | None = Field(description="申诉的特例单议申请编号")
    setl_id: str = Field(description="结算ID")
    hospital_code: str = Field(description="医疗机构编码")
    contested_state: str = Field(description="申诉时清单的状态")
    contested_state_label: str = Field(description="申诉时清单的状态（中文）")
    decision_at: str = Field(description="被申诉的决定的时间（ISO 8601）")
    deadline: str = Field(description="申诉期限（YYYY-MM-DD，含当日）")
    status: str = Field(description="pending 申诉中 / upheld 申诉成立 / rejected 申诉驳回")
    status_label: str = Field(description="状态（中文）")
    list_state: str | None = Field(description="清单当前状态")
    reason: str | None = Field(description="申诉理由")
    filed_by: str | None = Field(description="申诉人")
    filed_at: str = Field(description="申诉时间（ISO 8601）")
    decision_reason: str | None = Field(description="处理意见")
    decided_by: str | None = Field(description="处理人")
    decided_at: str | None = Field(description="处理时间（ISO 8601）")


class AppealPage(BaseModel):
    """One page of appeals, newest first."""

    total: int
    page: int
    size: int
    items: list[AppealOut]
