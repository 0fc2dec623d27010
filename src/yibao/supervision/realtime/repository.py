"""Reads of the stored real-time audits (3101 事前 / 3102 事中, ADR 0023) in the
caller's scope — a hospital sees its own, a bureau its region's: the filtered list
with its totals and the rules that fired, one request with its findings and the
doctors' feedback, the post-audit findings of the same visit, the Excel export.

Every request and answer is stored centrally for later analysis (issue 13); these are
the analyses a reviewer starts with: how often each rule warns, how often doctors
continue anyway and why, and whether a visit warned in real time was flagged again
afterwards.
"""

from __future__ import annotations

import io
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from typing import Any

import polars as pl
from sqlalchemy import Select, case, func, select
from sqlalchemy.orm import Session, undefer

from yibao.engines.audit.messages import STAGE_NAMES, TRIG_SCENES
from yibao.kit.errors import NotFound, ValidationFailed
from yibao.kit.exports import labelled, write_xlsx
from yibao.kit.paging import Page
from yibao.kit.timeutil import BUSINESS_TZ, local
from yibao.regions.models import Hospital
from yibao.supervision.findings.models import Finding
from yibao.supervision.realtime.models import AuditFeedback, AuditFinding, AuditRequest

#: 3103 dspo_way: 1 continue (with a reason), 2 go back and change the order
DSPO_WORDS = {"1": "继续执行", "2": "返回修改"}
OUTCOMES = {"warned": "有提示", "clean": "无提示"}
EXPORT_LIMIT = 100_000
#: the longest range one list or export covers (a year of a province is many millions)
MAX_DAYS = 366


@dataclass(frozen=True)
class RequestFilter:
    """List filters, each optional; the days are business days (Asia/Shanghai)."""

    hospital: str | None = None
    day_from: date | None = None
    day_to: date | None = None
    stage: str | None = None
    outcome: str | None = None
    rule: str | None = None
    person: str | None = None
    visit: str | None = None

    def checked(self) -> RequestFilter:
        if self.stage and self.stage not in STAGE_NAMES:
            raise ValidationFailed(
                f"审核环节（stage）：须为 pre（事前）或 mid（事中），收到 {self.stage!r}",
                field="stage",
            )
        if self.outcome and self.outcome not in OUTCOMES:
            raise ValidationFailed(
                "审核结果（outcome）：须为 warned（有提示）或 clean（无提示），"
                f"收到 {self.outcome!r}",
                field="outcome",
            )
        if self.day_from and self.day_to:
            if self.day_to < self.day_from:
                raise ValidationFailed(
                    f"结束日期（day_to）：{self.day_to} 早于开始日期 {self.day_from}",
                    field="day_to",
                )
            if (self.day_to - self.day_from).days >= MAX_DAYS:
                raise ValidationFailed(
                    f"日期范围（day_from–day_to）：一次最多查询 {MAX_DAYS} 天", field="day_to"
                )
        return self


def _start_of(day: date) -> datetime:
    return datetime.combine(day, time(), BUSINESS_TZ).astimezone(UTC)


def _filtered(flt: RequestFilter) -> Select[Any]:
    stmt = select(AuditRequest)
    if flt.hospital:
        stmt = stmt.join(Hospital, Hospital.id == AuditRequest.hospital_id).where(
            Hospital.code == flt.hospital
        )
    if flt.day_from:
        stmt = stmt.where(AuditRequest.received_at >= _start_of(flt.day_from))
    if flt.day_to:
        stmt = stmt.where(AuditRequest.received_at < _start_of(flt.day_to + timedelta(days=1)))
    if flt.stage:
        stmt = stmt.where(AuditRequest.stage == flt.stage)
    if flt.outcome == "warned":
        stmt = stmt.where(AuditRequest.findings > 0)
    elif flt.outcome == "clean":
        stmt = stmt.where(AuditRequest.findings == 0)
    if flt.rule:
        hit = select(AuditFinding.id).where(
            AuditFinding.request_id == AuditRequest.id, AuditFinding.rule_id == flt.rule
        )
        stmt = stmt.where(hit.exists())
    if flt.person:
        stmt = stmt.where(AuditRequest.psn_no == flt.person)
    if flt.visit:
        stmt = stmt.where(AuditRequest.mdtrt_id == flt.visit)
    return stmt


def list_requests(
    session: Session, flt: RequestFilter, page: int, size: int
) -> Page[tuple[AuditRequest, str]]:
    """The filtered requests, newest first, each with its hospital's code."""
    stmt = _filtered(flt.checked())
    total = session.scalar(select(func.count()).select_from(stmt.subquery())) or 0
    ids = list(
        session.scalars(
            stmt.with_only_columns(AuditRequest.id)
            .order_by(AuditRequest.received_at.desc(), AuditRequest.id.desc())
            .limit(size)
            .offset((page - 1) * size)
        )
    )
    rows = session.execute(
        select(AuditRequest, Hospital.code)
        .join(Hospital, Hospital.id == AuditRequest.hospital_id)
        .where(AuditRequest.id.in_(ids))
        .order_by(AuditRequest.received_at.desc(), AuditRequest.id.desc())
    ).all()
    return Page([(r, code) for r, code in rows], int(total), page, size)


def totals(session: Session, flt: RequestFilter) -> dict[str, Any]:
    """Requests, those with a warning, findings and their amount; the doctors'
    feedback on those findings (newest per finding) by what they chose."""
    sub = _filtered(flt.checked()).subquery()
    n, warned, findings, amount = session.execute(
        select(
            func.count(),
            func.sum(case((sub.c.findings > 0, 1), else_=0)),
            func.sum(sub.c.findings),
            func.sum(sub.c.vola_amt),
        )
    ).one()
    chosen = _feedback_counts(session, select(sub.c.id))
    return {
        "requests": int(n or 0),
        "warned": int(warned or 0),
        "findings": int(findings or 0),
        "amount": Decimal(amount or 0).quantize(Decimal("0.01")),
        "continued": chosen.get("1", 0),
        "changed": chosen.get("2", 0),
    }


def _newest_feedback(request_ids: Any) -> Any:
    """The newest feedback of each finding of ``request_ids`` (a subquery)."""
    newest = (
        select(func.max(AuditFeedback.id).label("id"))
        .where(AuditFeedback.request_id.in_(request_ids))
        .group_by(AuditFeedback.finding_id)
        .subquery()
    )
    return (
        select(AuditFeedback.finding_id, AuditFeedback.dspo_way, AuditFeedback.reason)
        .join(newest, newest.c.id == AuditFeedback.id)
        .subquery()
    )


def _feedback_counts(session: Session, request_ids: Any) -> dict[str, int]:
    fb = _newest_feedback(request_ids)
    rows = session.execute(select(fb.c.dspo_way, func.count()).group_by(fb.c.dspo_way)).all()
    return {way: int(n) for way, n in rows}


def rule_hits(session: Session, flt: RequestFilter, limit: int = 20) -> list[dict[str, Any]]:
    """The rules that warned in the filtered requests, most often first: how often,
    for how much, and what the doctors chose (newest feedback per finding)."""
    ids = _filtered(flt.checked()).with_only_columns(AuditRequest.id)
    fb = _newest_feedback(ids)
    rows = session.execute(
        select(
            AuditFinding.rule_id,
            func.max(AuditFinding.rule_name),
            func.count(),
            func.sum(AuditFinding.vola_amt),
            func.sum(case((fb.c.dspo_way == "1", 1), else_=0)),
            func.sum(case((fb.c.dspo_way == "2", 1), else_=0)),
        )
        .outerjoin(fb, fb.c.finding_id == AuditFinding.id)
        .where(AuditFinding.request_id.in_(ids))
        .group_by(AuditFinding.rule_id)
        .order_by(func.count().desc(), AuditFinding.rule_id)
        .limit(limit)
    ).all()
    return [
        {
            "rule_id": rule_id,
            "rule_name": name,
            "hits": int(n),
            "amount": Decimal(amount or 0).quantize(Decimal("0.01")),
            "continued": int(cont or 0),
            "changed": int(changed or 0),
        }
        for rule_id, name, n, amount, cont, changed in rows
    ]


def get_request(session: Session, request_id: int) -> tuple[AuditRequest, Hospital]:
    """One stored request in scope, with its input and answer; else 404."""
    row = session.execute(
        select(AuditRequest, Hospital)
        .join(Hospital, Hospital.id == AuditRequest.hospital_id)
        .where(AuditRequest.id == request_id)
        .options(undefer(AuditRequest.request), undefer(AuditRequest.result))
    ).first()
    if row is None:
        raise NotFound(f"审核记录 {request_id} 不存在或不在您的权限范围 / not found")
    return row[0], row[1]


def findings_of(session: Session, request_id: int) -> list[AuditFinding]:
    stmt = select(AuditFinding).where(AuditFinding.request_id == request_id)
    return list(session.scalars(stmt.order_by(AuditFinding.id)))


def feedback_of(session: Session, request_id: int) -> list[AuditFeedback]:
    stmt = select(AuditFeedback).where(AuditFeedback.request_id == request_id)
    return list(session.scalars(stmt.order_by(AuditFeedback.id)))


def post_findings_of_visit(session: Session, hospital_code: str, visit: str) -> list[Finding]:
    """The post-audit findings (事后) of the same visit (hospital and mdtrt_id)."""
    stmt = select(Finding).where(Finding.hospital_code == hospital_code, Finding.mdtrt_id == visit)
    return list(session.scalars(stmt.order_by(Finding.id)))


def realtime_of_visit(
    session: Session, hospital_id: int, visit: str
) -> list[tuple[AuditFinding, AuditRequest, AuditFeedback | None]]:
    """The real-time warnings (事前 / 事中) of a visit, each with its request and the
    doctor's newest feedback, oldest first: what the doctor was told, and chose."""
    rows = session.execute(
        select(AuditFinding, AuditRequest)
        .join(AuditRequest, AuditRequest.id == AuditFinding.request_id)
        .where(AuditFinding.hospital_id == hospital_id, AuditFinding.mdtrt_id == visit)
        .order_by(AuditFinding.received_at, AuditFinding.id)
    ).all()
    newest: dict[int, AuditFeedback] = {}
    if rows:
        stmt = select(AuditFeedback).where(AuditFeedback.finding_id.in_([f.id for f, _ in rows]))
        for fb in session.scalars(stmt.order_by(AuditFeedback.id)):
            newest[fb.finding_id] = fb
    return [(f, r, newest.get(f.id)) for f, r in rows]


# --------------------------------------------------------------------------- export

LABELS = {
    "received_at": "审核时间",
    "hospital_code": "医疗机构编码",
    "infno": "交易",
    "stage": "审核环节",
    "trig_scen": "触发场景",
    "psn_no": "人员编号",
    "mdtrt_id": "就诊ID",
    "rule_id": "规则编号",
    "rule_version": "规则版本",
    "rule_name": "规则名称",
    "sev_deg": "严重程度",
    "vola_cont": "提示内容",
    "vola_amt": "涉及金额（元）",
    "dspo_way": "医生处理",
    "reason": "继续执行理由",
    "task_id": "任务ID",
}
_SCHEMA: dict[str, Any] = {
    "received_at": pl.Datetime("us"),
    "hospital_code": pl.String,
    "infno": pl.String,
    "stage": pl.String,
    "trig_scen": pl.Int64,
    "psn_no": pl.String,
    "mdtrt_id": pl.String,
    "rule_id": pl.String,
    "rule_version": pl.Int64,
    "rule_name": pl.String,
    "sev_deg": pl.Int64,
    "vola_cont": pl.String,
    "vola_amt": pl.Decimal(18, 2),
    "dspo_way": pl.String,
    "reason": pl.String,
    "task_id": pl.String,
}


def export_xlsx(session: Session, flt: RequestFilter) -> bytes:
    """The filtered requests as a workbook: one row per warning (a request without any
    as one row with the warning columns empty), Chinese headers and words."""
    ids = (
        _filtered(flt.checked())
        .with_only_columns(AuditRequest.id)
        .order_by(AuditRequest.received_at.desc(), AuditRequest.id.desc())
        .limit(EXPORT_LIMIT)
    )
    fb = _newest_feedback(ids)
    rows = session.execute(
        select(
            AuditRequest.received_at,
            Hospital.code,
            AuditRequest.infno,
            AuditRequest.stage,
            AuditRequest.trig_scen,
            AuditRequest.psn_no,
            AuditRequest.mdtrt_id,
            AuditFinding.rule_id,
            AuditFinding.rule_version,
            AuditFinding.rule_name,
            AuditFinding.sev_deg,
            AuditFinding.vola_cont,
            AuditFinding.vola_amt,
            fb.c.dspo_way,
            fb.c.reason,
            AuditRequest.task_id,
        )
        .join(Hospital, Hospital.id == AuditRequest.hospital_id)
        .outerjoin(AuditFinding, AuditFinding.request_id == AuditRequest.id)
        .outerjoin(fb, fb.c.finding_id == AuditFinding.id)
        .where(AuditRequest.id.in_(ids))
        .order_by(AuditRequest.received_at.desc(), AuditRequest.id.desc(), AuditFinding.id)
    ).all()
    out = []
    for r in rows:
        values = list(r)
        values[0] = local(values[0]).replace(tzinfo=None)
        values[14] = values[14] or None  # 返回修改 carries no reason
        out.append(tuple(values))
    frame = pl.DataFrame(out, schema=_SCHEMA, orient="row")
    words: dict[str, dict[Any, str]] = {
        "stage": dict(STAGE_NAMES),
        "trig_scen": dict(TRIG_SCENES),
        "dspo_way": DSPO_WORDS,
    }
    buf = io.BytesIO()
    write_xlsx({"事前事中审核记录": labelled(frame, LABELS, words)}, buf, autofit=True)
    return buf.getvalue()
