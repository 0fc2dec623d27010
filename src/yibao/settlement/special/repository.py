"""Queries of special cases and appeals: quota frames, decisions, lists and their views.

The frames the quota engine counts (a hospital's priced cases of a discharge month
and its earlier applications), the event that put a list in its current state (the
decision a hospital appeals), and the scoped, newest-first pages of special-case
applications and appeals with their views as the API and the pages show them.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any

import polars as pl
from sqlalchemy import Select, func, select
from sqlalchemy.orm import Session

from yibao.cases.models import Case
from yibao.kit.paging import Page
from yibao.settlement.models import (
    CasePricing,
    SettlementAppeal,
    SettlementList,
    SettlementListEvent,
    SpecialCaseApplication,
)
from yibao.settlement.review import state_label
from yibao.settlement.special.rules import METHODS, Refused


def _quota_frames(
    session: Session, row: SettlementList, start: date, end: date
) -> tuple[pl.DataFrame, list[SpecialCaseApplication]]:
    cases = session.execute(
        select(
            SettlementList.setl_id,
            Case.total_cost,
            CasePricing.payment_standard,
            CasePricing.payment_class,
            Case.los_days,
        )
        .join(Case, Case.id == SettlementList.case_id)
        .join(CasePricing, CasePricing.case_id == Case.id)
        .where(
            SettlementList.hospital_id == row.hospital_id,
            Case.discharge_date >= start,
            Case.discharge_date <= end,
        )
    ).all()
    frame = pl.DataFrame(
        {
            "setl_id": [c[0] for c in cases],
            "hospital_code": [row.hospital_code] * len(cases),
            "total_cost": [c[1] for c in cases],
            "payment_standard": [c[2] for c in cases],
            "payment_class": [c[3] for c in cases],
            "los_days": [c[4] for c in cases],
        },
        schema_overrides={
            "total_cost": pl.Decimal(18, 2),
            "payment_standard": pl.Decimal(18, 2),
            "setl_id": pl.String,
            "hospital_code": pl.String,
            "payment_class": pl.String,
            "los_days": pl.Int32,
        },
    )
    earlier = list(
        session.scalars(
            select(SpecialCaseApplication)
            .where(
                SpecialCaseApplication.hospital_id == row.hospital_id,
                SpecialCaseApplication.period_code == start.strftime("%Y-%m"),
            )
            .order_by(SpecialCaseApplication.id)
        )
    )
    return frame, earlier


def _decision_event(session: Session, row: SettlementList) -> SettlementListEvent:
    event = session.scalar(
        select(SettlementListEvent)
        .where(SettlementListEvent.list_id == row.id, SettlementListEvent.to_state == row.state)
        .order_by(SettlementListEvent.id.desc())
        .limit(1)
    )
    if event is None:
        raise Refused(f"结算清单 {row.setl_id} 没有可申诉的审核决定")
    return event


def _money(value: Decimal | None) -> str | None:
    return None if value is None else str(value)


def special_out(app: SpecialCaseApplication, list_state: str | None = None) -> dict[str, Any]:
    return {
        "id": app.id,
        "list_id": app.list_id,
        "setl_id": app.setl_id,
        "hospital_code": app.hospital_code,
        "period": app.period_code,
        "status": app.status,
        "status_label": app.status_label,
        "list_state": list_state,
        "list_state_label": state_label(list_state) if list_state else None,
        "reason": app.reason,
        "new_tech": app.new_tech,
        "quota": app.quota,
        "attachments": [{"name": a["name"], "size": a["size"]} for a in app.attachments or []],
        "applied_by": app.applied_by,
        "applied_at": app.applied_at.isoformat(),
        "decision": None
        if app.decided_at is None
        else {
            "method": app.method,
            "method_label": METHODS.get(app.method or ""),
            "original_payment": _money(app.original_payment),
            "new_payment": _money(app.new_payment),
            "original_fund": _money(app.original_fund),
            "new_fund": _money(app.new_fund),
            "reason": app.decision_reason,
            "by": app.decided_by,
            "at": app.decided_at.isoformat(),
        },
    }


def appeal_out(appeal: SettlementAppeal, list_state: str | None = None) -> dict[str, Any]:
    return {
        "id": appeal.id,
        "list_id": appeal.list_id,
        "special_id": appeal.special_id,
        "setl_id": appeal.setl_id,
        "hospital_code": appeal.hospital_code,
        "contested_state": appeal.contested_state,
        "contested_state_label": state_label(appeal.contested_state),
        "decision_at": appeal.decision_at.isoformat(),
        "deadline": appeal.deadline.isoformat(),
        "status": appeal.status,
        "status_label": appeal.status_label,
        "list_state": list_state,
        "reason": appeal.reason,
        "filed_by": appeal.filed_by,
        "filed_at": appeal.filed_at.isoformat(),
        "decision_reason": appeal.decision_reason,
        "decided_by": appeal.decided_by,
        "decided_at": appeal.decided_at.isoformat() if appeal.decided_at else None,
    }


def _page(
    session: Session, stmt: Select[Any], model: Any, page: int, size: int
) -> list[tuple[Any, str]]:
    rows = session.execute(
        stmt.add_columns(SettlementList.state)
        .join(SettlementList, SettlementList.id == model.list_id)
        .order_by(model.id.desc())
        .offset((page - 1) * size)
        .limit(size)
    ).all()
    return [(r[0], r[1]) for r in rows]


def list_special_cases(
    session: Session,
    *,
    status: str | None,
    hospital: str | None,
    period: str | None,
    page: int,
    size: int,
) -> Page[dict[str, Any]]:
    """Special-case applications in the session's scope, newest first."""
    stmt = select(SpecialCaseApplication)
    if status:
        stmt = stmt.where(SpecialCaseApplication.status == status.strip())
    if hospital:
        stmt = stmt.where(SpecialCaseApplication.hospital_code == hospital.strip())
    if period:
        stmt = stmt.where(SpecialCaseApplication.period_code == period.strip())
    total = session.scalar(select(func.count()).select_from(stmt.subquery())) or 0
    rows = _page(session, stmt, SpecialCaseApplication, page, size)
    return Page([special_out(a, s) for a, s in rows], total, page, size)


def list_appeals(
    session: Session, *, status: str | None, hospital: str | None, page: int, size: int
) -> Page[dict[str, Any]]:
    """Appeals in the session's scope, newest first."""
    stmt = select(SettlementAppeal)
    if status:
        stmt = stmt.where(SettlementAppeal.status == status.strip())
    if hospital:
        stmt = stmt.where(SettlementAppeal.hospital_code == hospital.strip())
    total = session.scalar(select(func.count()).select_from(stmt.subquery())) or 0
    rows = _page(session, stmt, SettlementAppeal, page, size)
    return Page([appeal_out(a, s) for a, s in rows], total, page, size)


def get_application(session: Session, special_id: int) -> SpecialCaseApplication | None:
    """An application in the session's scope (None: absent or another hospital's)."""
    return session.scalar(
        select(SpecialCaseApplication).where(SpecialCaseApplication.id == special_id)
    )
