"""Request and response models of the findings API."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from yibao.kit.bounds import DbId


class RunIn(BaseModel):
    """Start a post-audit run of a month or a range of months."""

    model_config = ConfigDict(extra="forbid")

    period_from: str = Field(description="开始月份 YYYY-MM", max_length=7)
    period_to: str | None = Field(
        None, description="结束月份 YYYY-MM（空：同开始月份）", max_length=7
    )


class RunOut(BaseModel):
    job_id: int = Field(description="任务编号")
    status: str = Field(description="任务状态")
    message: str | None = Field(None, description="任务消息")
    months: list[str] = Field(description="审核月份")
    summary: dict[str, Any] | None = Field(None, description="结果摘要（完成后）")


class FindingLineOut(BaseModel):
    rx_id: str = Field(description="明细流水号 / 结算编号")
    vola_item_type: int = Field(description="1 违规项 / 2 涉及项")
    vola_amt: str = Field(description="违规金额（元）")


class FindingOut(BaseModel):
    """One finding in a list."""

    model_config = ConfigDict(from_attributes=True)

    id: int
    jr_id: str = Field(description="疑点结果 ID（确定性）")
    source: str = Field(description="rule 规则 / detector DRG 检测")
    rule_id: str
    rule_version: int
    rule_name: str
    family: str = Field(description="违规类型（vola_bhvr_type）")
    result_type: str
    sev_deg: int = Field(description="严重程度 1 提示 / 2 警告 / 3 严重")
    hospital_code: str
    period: str
    psn_no: str
    mdtrt_id: str
    vola_cont: str = Field(description="违规内容")
    vola_amt: Decimal = Field(description="疑点金额（元）")
    state: str
    state_label: str
    overdue: bool = Field(description="已过期限、待系统按规则维持")
    deadline: date | None = Field(description="答复或申请复审的最后一天")
    final_amount: Decimal | None = Field(description="最终维持金额（元）")
    deducted_period: str | None = Field(description="扣款计入的结算期间")


class FindingPage(BaseModel):
    items: list[FindingOut]
    total: int
    page: int
    size: int
    totals: dict[str, Any] = Field(description="按状态的条数与金额")


class EventOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    action: str
    action_label: str
    from_state: str
    to_state: str
    side: str
    reason: str | None
    amount: Decimal | None
    details: dict[str, Any] | None
    actor_name: str
    created_at: datetime


class AttachmentOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    event_id: int
    name: str
    content_type: str
    size: int
    sha256: str
    uploaded_by: str
    uploaded_at: datetime


class FindingDetail(FindingOut):
    """One finding with its evidence, lines, decisions, history and attachments."""

    vola_evid: str = Field(description="违规依据")
    lines: list[FindingLineOut]
    published_at: datetime | None
    answer_reason: str | None
    first_amount: Decimal | None
    first_reason: str | None
    first_by: str | None
    second_request: str | None
    second_amount: Decimal | None
    second_reason: str | None
    second_by: str | None
    final_kind: str | None
    final_on: date | None
    deducted_amount: Decimal | None = Field(
        description="实际扣款金额（元）：同一费用明细已由其他疑点扣款时小于最终维持金额（ADR 0041）"
    )
    actions: list[str] = Field(description="当前用户可执行的操作")
    events: list[EventOut]
    attachments: list[AttachmentOut]


class PublishIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    ids: list[DbId] = Field(description="疑点编号", max_length=5000)
    reason: str | None = Field(None, description="公示说明（可空）", max_length=2000)


class PublishOut(BaseModel):
    published: int
    deadline: date | None


class ReasonIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    reason: str | None = Field(None, description="原因", max_length=4000)


class DecisionIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    decision: Literal["uphold", "dismiss"] = Field(description="uphold 维持 / dismiss 撤销")
    amount: str | None = Field(None, description="维持金额（元，维持时必填）", max_length=30)
    reason: str | None = Field(None, description="原因（必填）", max_length=4000)


class ExpireOut(BaseModel):
    expired: int = Field(description="逾期后按规则维持的疑点数")
