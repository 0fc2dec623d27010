"""Answers of the stored real-time audit records API (``/api/audit/requests``)."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any

from pydantic import BaseModel, Field


class RequestRowOut(BaseModel):
    id: int
    task_id: str
    received_at: datetime
    hospital_code: str
    infno: str
    stage: str
    stage_name: str
    trig_scen: int | None
    trig_scen_name: str
    psn_no: str
    mdtrt_id: str
    findings: int = Field(description="提示条数")
    vola_amt: Decimal = Field(description="提示涉及金额（元）")
    rule_set_version: int
    via: str


class RequestTotalsOut(BaseModel):
    requests: int
    warned: int = Field(description="有提示的请求数")
    findings: int
    amount: Decimal
    continued: int = Field(description="医生选择继续执行的提示数（每条以最新反馈计）")
    changed: int = Field(description="医生选择返回修改的提示数")


class RuleHitOut(BaseModel):
    rule_id: str
    rule_name: str
    hits: int
    amount: Decimal
    continued: int
    changed: int


class RequestPage(BaseModel):
    items: list[RequestRowOut]
    total: int
    page: int
    size: int
    totals: RequestTotalsOut
    rules: list[RuleHitOut] = Field(description="提示最多的规则（前 20）")


class FeedbackViewOut(BaseModel):
    dspo_way: str
    dspo_way_name: str
    reason: str
    opter: str
    received_at: datetime


class FoundOut(BaseModel):
    id: int
    jr_id: str
    rule_id: str
    rule_version: int
    rule_name: str
    result_type: str
    sev_deg: int
    vola_cont: str
    vola_amt: Decimal
    lines: list[dict[str, Any]]
    feedback: list[FeedbackViewOut]


class PostFindingOut(BaseModel):
    id: int
    rule_id: str
    rule_name: str
    period: str
    vola_amt: Decimal
    state: str
    state_label: str
    published: bool


class RequestDetailOut(RequestRowOut):
    hospital_name: str
    answered_at: datetime
    msgid: str | None
    rule_set_id: int
    knowledge_id: int | None
    admdvs: str
    rule_ids: list[str] | None
    gend: str | None
    brdy: str | None
    encounters: list[dict[str, Any]] = Field(description="HIS 发送的就诊（诊断、医嘱、手术）")
    result: Any = Field(description="当时的应答 output")
    found: list[FoundOut] = Field(description="提示及医生反馈（3103）")
    post_findings: list[PostFindingOut] = Field(description="同一就诊的事后审核疑点")
