"""Reads of findings in the caller's scope (a hospital: its own only): the filtered
list, one finding with its events and attachments, the Excel export."""

from __future__ import annotations

import io
import re
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import polars as pl
from sqlalchemy import ColumnElement, Select, func, select
from sqlalchemy.orm import Session

from yibao.kit.errors import NotFound, ValidationFailed
from yibao.kit.exports import labelled, write_xlsx
from yibao.kit.paging import Page
from yibao.supervision.findings.models import Finding, FindingEvent
from yibao.supervision.findings.states import COUNTED, STATE_LABELS

_MONTH = re.compile(r"^\d{4}-(0[1-9]|1[0-2])$")
SEVERITIES = {1: "提示", 2: "警告", 3: "严重"}
RESULT_TYPES = {"suspicious": "可疑", "definite": "明确"}
SOURCES = {"rule": "规则", "detector": "DRG 检测"}
EXPORT_LIMIT = 100_000


@dataclass(frozen=True)
class FindingFilter:
    """List filters (each optional)."""

    hospital: str | None = None
    rule: str | None = None
    state: str | None = None
    period: str | None = None
    severity: int | None = None
    source: str | None = None
    deducted_period: str | None = None
    #: hospitals see published findings only (never a 待公示 or unpublished one)
    published_only: bool = False

    def checked(self) -> FindingFilter:
        if self.state and self.state not in STATE_LABELS:
            raise ValidationFailed(
                f"state：状态须为 {'、'.join(STATE_LABELS)} 之一（收到 {self.state!r}）",
                field="state",
            )
        for field in ("period", "deducted_period"):
            value = getattr(self, field)
            if value and not _MONTH.match(value):
                raise ValidationFailed(f"{field}：期间须为 YYYY-MM（收到 {value!r}）", field=field)
        if self.severity is not None and self.severity not in SEVERITIES:
            raise ValidationFailed("severity：严重程度须为 1、2 或 3", field="severity")
        if self.source and self.source not in SOURCES:
            raise ValidationFailed("source：来源须为 rule 或 detector", field="source")
        return self


def _filtered(flt: FindingFilter) -> Select[Any]:
    stmt = select(Finding)
    if flt.hospital:
        stmt = stmt.where(Finding.hospital_code == flt.hospital)
    if flt.rule:
        stmt = stmt.where(Finding.rule_id == flt.rule)
    if flt.state:
        stmt = stmt.where(Finding.state == flt.state)
    if flt.period:
        stmt = stmt.where(Finding.period == flt.period)
    if flt.severity is not None:
        stmt = stmt.where(Finding.sev_deg == flt.severity)
    if flt.source:
        stmt = stmt.where(Finding.source == flt.source)
    if flt.deducted_period:
        stmt = stmt.where(Finding.deducted_period == flt.deducted_period)
    if flt.published_only:
        stmt = stmt.where(Finding.published_at.is_not(None))
    return stmt


def counted() -> ColumnElement[bool]:
    """The findings the figures count (:data:`~yibao.supervision.findings.states.COUNTED`:
    published or later, not dismissed), as a SQL condition."""
    return Finding.state.in_(sorted(COUNTED))


def list_findings(session: Session, flt: FindingFilter, page: int, size: int) -> Page[Finding]:
    stmt = _filtered(flt.checked())
    total = session.scalar(select(func.count()).select_from(stmt.subquery())) or 0
    rows = session.scalars(
        stmt.order_by(Finding.period.desc(), Finding.id).limit(size).offset((page - 1) * size)
    )
    return Page(list(rows), int(total), page, size)


def totals(session: Session, flt: FindingFilter) -> dict[str, Any]:
    """Counts and amounts of the filtered findings by state."""
    sub = _filtered(flt.checked()).subquery()
    rows = session.execute(
        select(
            sub.c.state, func.count(), func.sum(sub.c.vola_amt), func.sum(sub.c.final_amount)
        ).group_by(sub.c.state)
    ).all()
    return {
        state: {
            "count": int(n),
            "amount": Decimal(a or 0).quantize(Decimal("0.01")),
            "final_amount": Decimal(f or 0).quantize(Decimal("0.01")),
        }
        for state, n, a, f in rows
    }


def get_finding(session: Session, finding_id: int, *, published_only: bool = False) -> Finding:
    """One finding in scope (a hospital: published ones only); else 404."""
    row = session.scalar(select(Finding).where(Finding.id == finding_id))
    if row is None or (published_only and row.published_at is None):
        raise NotFound(f"疑点 {finding_id} 不存在或不在您的权限范围 / not found")
    return row


def events_of(session: Session, finding_id: int) -> list[FindingEvent]:
    stmt = (
        select(FindingEvent).where(FindingEvent.finding_id == finding_id).order_by(FindingEvent.id)
    )
    return list(session.scalars(stmt))


def rule_ids(session: Session, *, published_only: bool = False) -> list[str]:
    """The rule ids with findings in scope (for the filter list); a hospital's of its
    published findings only (a 待公示 finding is not shown to it, ADR 0024)."""
    stmt = select(Finding.rule_id).distinct().order_by(Finding.rule_id)
    if published_only:
        stmt = stmt.where(Finding.published_at.is_not(None))
    return list(session.scalars(stmt))


# --------------------------------------------------------------------------- export

LABELS = {
    "id": "疑点编号",
    "jr_id": "疑点结果ID",
    "period": "期间",
    "hospital_code": "医疗机构编码",
    "source": "来源",
    "rule_id": "规则编号",
    "rule_version": "规则版本",
    "rule_name": "规则名称",
    "family": "违规类型",
    "result_type": "结果类型",
    "sev_deg": "严重程度",
    "psn_no": "人员编号",
    "mdtrt_id": "就诊ID",
    "vola_cont": "违规内容",
    "vola_evid": "违规依据",
    "vola_amt": "疑点金额（元）",
    "state": "状态",
    "deadline": "答复期限",
    "first_amount": "初审维持金额（元）",
    "second_amount": "复审维持金额（元）",
    "final_amount": "最终维持金额（元）",
    "deducted_period": "扣款结算期间",
}
_MONEY = pl.Decimal(18, 2)
_SCHEMA: dict[str, Any] = {
    "id": pl.Int64,
    "jr_id": pl.String,
    "period": pl.String,
    "hospital_code": pl.String,
    "source": pl.String,
    "rule_id": pl.String,
    "rule_version": pl.Int64,
    "rule_name": pl.String,
    "family": pl.String,
    "result_type": pl.String,
    "sev_deg": pl.Int64,
    "psn_no": pl.String,
    "mdtrt_id": pl.String,
    "vola_cont": pl.String,
    "vola_evid": pl.String,
    "vola_amt": _MONEY,
    "state": pl.String,
    "deadline": pl.Date,
    "first_amount": _MONEY,
    "second_amount": _MONEY,
    "final_amount": _MONEY,
    "deducted_period": pl.String,
}


def export_xlsx(session: Session, flt: FindingFilter) -> bytes:
    """The filtered findings as an Excel workbook with Chinese headers and words."""
    stmt = _filtered(flt.checked()).order_by(Finding.period.desc(), Finding.id).limit(EXPORT_LIMIT)
    rows = [tuple(getattr(f, k) for k in _SCHEMA) for f in session.scalars(stmt)]
    frame = pl.DataFrame(rows, schema=_SCHEMA, orient="row")
    words: dict[str, dict[Any, str]] = {
        "state": dict(STATE_LABELS),
        "source": SOURCES,
        "result_type": RESULT_TYPES,
        "sev_deg": {k: f"{k} {v}" for k, v in SEVERITIES.items()},
    }
    buf = io.BytesIO()
    write_xlsx({"疑点清单": labelled(frame, LABELS, words)}, buf, autofit=True)
    return buf.getvalue()
