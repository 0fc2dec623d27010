"""What the settlement review API answers: the review queue, a decision on a list,
the adjustments waiting for a second reviewer, a bulk approval and a list's history.

Field order is the order of the keys in the JSON."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, Field


class AdjustmentOut(BaseModel):
    """An adjustment (调整) of a list's DRG payment, with its second review (复核)."""

    id: int = Field(description="调整编号")
    list_id: int = Field(description="清单编号")
    kind: str = Field(description="deduct 调整扣减 / add 调增")
    kind_label: str = Field(description="调整方式（中文）")
    status: str = Field(
        description="pending 待复核 · effective 已生效 · rejected 复核不同意 · 其他为撤回 / 撤销"
    )
    status_label: str = Field(description="状态（中文）")
    original_payment: str = Field(description="原 DRG 支付（元）")
    adjusted_payment: str = Field(description="调整后 DRG 支付（元）")
    change: str = Field(description="调整金额（元，调整后 − 原支付）")
    original_fund: str = Field(description="原统筹基金支付（元）")
    adjusted_fund: str = Field(description="调整后统筹基金支付（元）")
    reason: str | None = Field(description="调整原因")
    actor: str | None = Field(description="提出调整的审核员")
    actor_id: int | None = Field(description="提出人的用户编号")
    at: str | None = Field(description="提出时间（ISO 8601）")
    decided_by: str | None = Field(description="复核人（或撤回 / 撤销的人）")
    decided_at: str | None = Field(description="复核时间（ISO 8601）")
    decision_reason: str | None = Field(description="复核意见")


class WaitingAdjustmentOut(AdjustmentOut):
    """An adjustment waiting for its second review."""

    mine: bool = Field(description="是否本人提出（本人不能复核）")


class WaitingAdjustmentsOut(BaseModel):
    """The adjustments waiting for a second review, oldest first."""

    total: int
    items: list[WaitingAdjustmentOut]


class QueueItemOut(BaseModel):
    """One list of the review queue."""

    id: int = Field(description="清单编号")
    setl_id: str = Field(description="结算ID")
    hospital_code: str = Field(description="医疗机构编码")
    hospital_name: str | None = Field(description="医疗机构名称")
    state: str = Field(description="清单状态，如 priced、under_review")
    state_label: str = Field(description="状态（中文）")
    version: int = Field(description="版本")
    discharge_date: str | None = Field(description="出院日期（YYYY-MM-DD）")
    plan_id: str | None = Field(description="分组方案")
    drg: str | None = None
    payment_class: str | None = Field(description="支付类别：normal、high、low …")
    payment_standard: str | None = Field(description="支付标准（元）")
    drg_payment: str | None = Field(description="DRG / DIP 支付（元）")
    fund_amount: str | None = Field(description="统筹基金支付（元）")
    adjusted_payment: str | None = Field(description="已生效调整后的 DRG 支付（元）")
    warnings: int = Field(description="提示性质控问题数")
    pending_adjustment: AdjustmentOut | None = Field(description="待复核的调整")


class ReviewQueueOut(BaseModel):
    """One page of the review queue, oldest list first."""

    total: int
    page: int
    size: int
    pages: int = Field(description="总页数")
    items: list[QueueItemOut]


class ReasonOut(BaseModel):
    """The reason of the list's latest return, adjustment or other decision."""

    action: str = Field(description="操作，如 return、adjust")
    action_label: str = Field(description="操作（中文）")
    text: str | None = Field(description="原因")
    at: str = Field(description="时间（ISO 8601）")
    actor: str | None = Field(description="操作人")


class AdjustmentSummaryOut(BaseModel):
    """The latest adjustment of the list's current case."""

    original_payment: str = Field(description="原 DRG 支付（元）")
    adjusted_payment: str = Field(description="调整后 DRG 支付（元）")
    original_fund: str = Field(description="原统筹基金支付（元）")
    adjusted_fund: str = Field(description="调整后统筹基金支付（元）")
    reason: str | None = Field(description="调整原因")
    at: str = Field(description="提出时间（ISO 8601）")
    kind: str = Field(description="deduct 调整扣减 / add 调增")
    kind_label: str = Field(description="调整方式（中文）")
    second_reviewer: str | None = Field(description="复核人")


class DecisionOut(BaseModel):
    """A list after a review decision (or a withdrawal): its state and why."""

    id: int = Field(description="清单编号")
    setl_id: str = Field(description="结算ID")
    state: str = Field(description="清单状态")
    state_label: str = Field(description="状态（中文）")
    reason: ReasonOut | None
    adjustment: AdjustmentSummaryOut | None
    pending_adjustment: AdjustmentOut | None = Field(description="待复核的调整")


class BulkResultOut(BaseModel):
    """One list's outcome in a bulk approval."""

    id: int = Field(description="清单编号")
    ok: bool = Field(description="是否审核通过")
    setl_id: str | None = None
    state_before: str | None = Field(None, description="原状态")
    state: str | None = Field(None, description="现状态")
    message: str | None = Field(None, description="未通过时的中文说明")
    steps: list[str] = Field(default_factory=list, description="状态机步骤，如 submit_review")


class BulkApproveOut(BaseModel):
    """A bulk approval: counts and one result per list."""

    requested: int = Field(description="请求的清单数")
    approved: int = Field(description="审核通过数")
    refused: int = Field(description="未通过数")
    results: list[BulkResultOut]


class HistoryEventOut(BaseModel):
    """One step of a list's history: a received version or a state-machine step."""

    at: str = Field(description="时间（ISO 8601）")
    action: str = Field(description="receive 接收，或状态机操作，如 approve、return")
    action_label: str = Field(description="操作（中文）")
    from_state: str | None = Field(description="原状态")
    to_state: str = Field(description="新状态")
    to_state_label: str = Field(description="新状态（中文）")
    version: int | None = Field(description="清单版本")
    reason: str | None = Field(description="原因")
    actor: str | None = Field(description="操作人")
    role: str | None = Field(description="状态机角色")
    details: dict[str, Any] | None = Field(description="补充信息（如确认批次、结转期间）")


class ConfirmationRecordOut(BaseModel):
    """The list's confirmation record (确认结算)."""

    period: str = Field(description="结算期间 YYYY-MM")
    batch_id: int = Field(description="确认批次")
    amount_paid: str = Field(description="确认支付金额（元）")
    fund_amount: str = Field(description="统筹基金支付（元）")
    adjusted: bool = Field(description="是否按调整后金额支付")
    confirmed_at: str = Field(description="确认时间（ISO 8601）")


class HistoryOut(BaseModel):
    """A list's state history, its latest reason, adjustment and confirmation."""

    list_id: int = Field(description="清单编号")
    setl_id: str = Field(description="结算ID")
    hospital_code: str = Field(description="医疗机构编码")
    version: int = Field(description="当前版本")
    state: str = Field(description="当前状态")
    state_label: str = Field(description="状态（中文）")
    reason: ReasonOut | None = Field(description="最近一次退回 / 调整等的原因")
    adjustment: AdjustmentSummaryOut | None
    pending_adjustment: AdjustmentOut | None = Field(description="待复核的调整")
    confirmation: ConfirmationRecordOut | None
    events: list[HistoryEventOut] = Field(description="历史（按时间）")
