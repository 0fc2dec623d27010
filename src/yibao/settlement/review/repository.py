"""Queries of settlement review: the queue, adjustments, locked lists, bulk ids.

One page of the review queue (plain columns, its count with only the joins a filter
needs), the ids a bulk approval by filter takes, a list locked for a decision, and
the adjustments of lists: the latest effective one, the pending ones waiting for a
second reviewer, and an adjustment as the API and the pages show it.
"""

from __future__ import annotations

from collections.abc import Iterable
from decimal import Decimal
from typing import Any, TypeVar

from sqlalchemy import Select, func, select
from sqlalchemy.orm import Session

from yibao.cases.models import Case
from yibao.engines.settlement import State
from yibao.kit.errors import NotFound, ValidationFailed
from yibao.kit.paging import Page
from yibao.regions.models import Hospital
from yibao.settlement.models import CasePricing, SettlementAdjustment, SettlementList
from yibao.settlement.review.schemas import MAX_BULK, ReviewFilter, parse_period
from yibao.settlement.review.states import (
    ADJUST_KINDS,
    ADJUST_STATUS_LABELS,
    ADJUSTED_STATES,
    EFFECTIVE,
    PENDING,
    state_label,
)

#: a select statement of any shape (the queue's rows, its count)
SelectT = TypeVar("SelectT", bound=Select[Any])


def _queue_select(flt: ReviewFilter) -> Select[*tuple[Any, ...]]:
    stmt = (
        select(SettlementList, Case.discharge_date, CasePricing, Hospital.name)
        .outerjoin(Case, Case.id == SettlementList.case_id)
        .outerjoin(CasePricing, CasePricing.case_id == SettlementList.case_id)
        .join(Hospital, Hospital.id == SettlementList.hospital_id)
    )
    states = flt.effective_states()
    if states is not None:
        stmt = stmt.where(SettlementList.state.in_(states))
    if flt.hospital:
        stmt = stmt.where(SettlementList.hospital_code == flt.hospital.strip())
    if flt.drg:
        stmt = stmt.where(CasePricing.drg == flt.drg.strip().upper())
    if flt.payment_class:
        stmt = stmt.where(CasePricing.payment_class == flt.payment_class.strip())
    if flt.has_warnings is True:
        stmt = stmt.where(SettlementList.warnings > 0)
    elif flt.has_warnings is False:
        stmt = stmt.where(SettlementList.warnings == 0)
    if flt.period:
        start, end = parse_period(flt.period)
        stmt = stmt.where(Case.discharge_date >= start, Case.discharge_date <= end)
    return _by_setl_id(stmt, flt)


def _by_setl_id(stmt: SelectT, flt: ReviewFilter) -> SelectT:
    """Exact settlement id, or ids beginning with at least 4 given characters."""
    text = (flt.setl_id or "").strip()
    if not text:
        return stmt
    if len(text) > 40:
        raise ValidationFailed(
            f"结算ID setl_id 最长 40 个字符（收到 {len(text)} 个）", field="setl_id"
        )
    if len(text) < 4:
        return stmt.where(SettlementList.setl_id == text)
    escaped = text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return stmt.where(SettlementList.setl_id.like(escaped + "%", escape="\\"))


def _money(value: Decimal | None) -> str | None:
    return None if value is None else str(value)


_QUEUE_COLUMNS = (
    SettlementList.id,
    SettlementList.setl_id,
    SettlementList.hospital_code,
    SettlementList.state,
    SettlementList.version,
    SettlementList.case_id,
    SettlementList.warnings,
    Case.discharge_date,
    CasePricing.plan_id,
    CasePricing.drg,
    CasePricing.payment_class,
    CasePricing.payment_standard,
    CasePricing.drg_payment,
    CasePricing.fund_amount,
    Hospital.name,
)


def _queue_count(session: Session, flt: ReviewFilter) -> int:
    """The queue's size; the case and pricing joins only when a filter needs them."""
    if flt.drg or flt.payment_class or flt.period or flt.setl_id:
        stmt = _queue_select(flt).with_only_columns(func.count(SettlementList.id))
    else:
        stmt = select(func.count(SettlementList.id))
        states = flt.effective_states()
        if states is not None:
            stmt = stmt.where(SettlementList.state.in_(states))
        if flt.hospital:
            stmt = stmt.where(SettlementList.hospital_code == flt.hospital.strip())
        if flt.has_warnings is True:
            stmt = stmt.where(SettlementList.warnings > 0)
        elif flt.has_warnings is False:
            stmt = stmt.where(SettlementList.warnings == 0)
    return int(session.scalar(stmt) or 0)


def review_queue(session: Session, flt: ReviewFilter, page: int, size: int) -> Page[dict[str, Any]]:
    """One page of the queue (in the session's scope), oldest list first.

    Reads plain columns (no ORM objects): the queue is the reviewers' most used page."""
    total = _queue_count(session, flt)
    rows = session.execute(
        _queue_select(flt)
        .with_only_columns(*_QUEUE_COLUMNS)
        .order_by(SettlementList.id)
        .offset((page - 1) * size)
        .limit(size)
    ).all()
    adjusted = _adjusted_payments(
        session, [(r.id, r.case_id) for r in rows if r.state in ADJUSTED_STATES]
    )
    waiting = pending_adjustments(
        session, [r.id for r in rows if r.state == State.UNDER_REVIEW.value]
    )
    items = []
    for r in rows:
        adj = adjusted.get(r.id)
        pending = waiting.get(r.id)
        items.append(
            {
                "id": r.id,
                "setl_id": r.setl_id,
                "hospital_code": r.hospital_code,
                "hospital_name": r.name,
                "state": r.state,
                "state_label": state_label(r.state),
                "version": r.version,
                "discharge_date": r.discharge_date.isoformat() if r.discharge_date else None,
                "plan_id": r.plan_id,
                "drg": r.drg,
                "payment_class": r.payment_class,
                "payment_standard": _money(r.payment_standard),
                "drg_payment": _money(r.drg_payment),
                "fund_amount": _money(r.fund_amount),
                "adjusted_payment": _money(adj),
                "warnings": r.warnings,
                "pending_adjustment": None if pending is None else adjustment_view(pending),
            }
        )
    return Page(items, total, page, size)


def _adjusted_payments(session: Session, lists: list[tuple[int, int | None]]) -> dict[int, Decimal]:
    """The latest adjusted payment of each (list id, current case id)."""
    if not lists:
        return {}
    case_of = dict(lists)
    out: dict[int, Decimal] = {}
    for list_id, case_id, amount in session.execute(
        select(
            SettlementAdjustment.list_id,
            SettlementAdjustment.case_id,
            SettlementAdjustment.adjusted_payment,
        )
        .where(
            SettlementAdjustment.list_id.in_(list(case_of)),
            SettlementAdjustment.status == EFFECTIVE,
        )
        .order_by(SettlementAdjustment.id)
    ):
        if case_id == case_of[list_id]:
            out[list_id] = amount
    return out


def latest_adjustments(
    session: Session, lists: Iterable[SettlementList]
) -> dict[int, SettlementAdjustment]:
    """The latest adjustment of each list's current case."""
    by_id = {lst.id: lst for lst in lists}
    if not by_id:
        return {}
    out: dict[int, SettlementAdjustment] = {}
    ids = list(by_id)
    for start in range(0, len(ids), 1000):
        for adj in session.scalars(
            select(SettlementAdjustment)
            .where(
                SettlementAdjustment.list_id.in_(ids[start : start + 1000]),
                SettlementAdjustment.status == EFFECTIVE,
            )
            .order_by(SettlementAdjustment.id)
        ):
            if adj.case_id == by_id[adj.list_id].case_id:
                out[adj.list_id] = adj
    return out


def lock_list(session: Session, list_id: int) -> SettlementList:
    row = session.scalar(
        select(SettlementList).where(SettlementList.id == list_id).with_for_update()
    )
    if row is None:
        raise NotFound(f"结算清单 {list_id} 不存在或不在您的辖区 / not found")
    return row


def list_adjustments(
    session: Session, row: SettlementList
) -> tuple[SettlementAdjustment | None, SettlementAdjustment | None]:
    """One list's latest effective adjustment of its current case and its adjustment
    waiting for a second reviewer, in one query (the list's page shows both)."""
    effective: SettlementAdjustment | None = None
    pending: SettlementAdjustment | None = None
    for adj in session.scalars(
        select(SettlementAdjustment)
        .where(
            SettlementAdjustment.list_id == row.id,
            SettlementAdjustment.status.in_((EFFECTIVE, PENDING)),
        )
        .order_by(SettlementAdjustment.id)
    ):
        if adj.status == PENDING:
            pending = adj
        elif adj.case_id == row.case_id:
            effective = adj
    return effective, pending


def pending_adjustment(session: Session, list_id: int) -> SettlementAdjustment | None:
    """The list's adjustment waiting for a second reviewer, if any."""
    return session.scalar(
        select(SettlementAdjustment)
        .where(SettlementAdjustment.list_id == list_id, SettlementAdjustment.status == PENDING)
        .order_by(SettlementAdjustment.id.desc())
        .limit(1)
    )


def pending_adjustments(
    session: Session, list_ids: Iterable[int]
) -> dict[int, SettlementAdjustment]:
    """{list id: its pending adjustment} for ``list_ids``."""
    ids = list(list_ids)
    out: dict[int, SettlementAdjustment] = {}
    for start in range(0, len(ids), 1000):
        for adj in session.scalars(
            select(SettlementAdjustment).where(
                SettlementAdjustment.list_id.in_(ids[start : start + 1000]),
                SettlementAdjustment.status == PENDING,
            )
        ):
            out[adj.list_id] = adj
    return out


def waiting_adjustments(session: Session, limit: int = 500) -> list[SettlementAdjustment]:
    """Pending adjustments in the session's scope, oldest first."""
    return list(
        session.scalars(
            select(SettlementAdjustment)
            .where(SettlementAdjustment.status == PENDING)
            .order_by(SettlementAdjustment.id)
            .limit(limit)
        )
    )


def adjustment_view(adj: SettlementAdjustment) -> dict[str, Any]:
    """An adjustment as the API and the pages show it."""
    return {
        "id": adj.id,
        "list_id": adj.list_id,
        "kind": adj.kind,
        "kind_label": ADJUST_KINDS.get(adj.kind, adj.kind),
        "status": adj.status,
        "status_label": ADJUST_STATUS_LABELS.get(adj.status, adj.status),
        "original_payment": str(adj.original_payment),
        "adjusted_payment": str(adj.adjusted_payment),
        "change": str(adj.change),
        "original_fund": str(adj.original_fund),
        "adjusted_fund": str(adj.adjusted_fund),
        "reason": adj.reason,
        "actor": adj.actor_name,
        "actor_id": adj.actor_id,
        "at": adj.created_at.isoformat() if adj.created_at else None,
        "decided_by": adj.decided_by_name,
        "decided_at": adj.decided_at.isoformat() if adj.decided_at else None,
        "decision_reason": adj.decision_reason,
    }


def bulk_ids(session: Session, flt: ReviewFilter) -> list[int]:
    """Ids of the lists matching ``flt`` (at most :data:`MAX_BULK`)."""
    stmt = _queue_select(flt).with_only_columns(SettlementList.id).order_by(SettlementList.id)
    ids = list(session.scalars(stmt.limit(MAX_BULK + 1)))
    if len(ids) > MAX_BULK:
        raise ValidationFailed(
            f"筛选结果超过一次批量审核上限 {MAX_BULK} 份，请缩小筛选范围", field="filter"
        )
    return ids


def get_list(session: Session, list_id: int) -> SettlementList | None:
    """A list in the session's scope (None: absent, or another hospital's or region's)."""
    return session.scalar(select(SettlementList).where(SettlementList.id == list_id))


def adjustment_list_id(session: Session, adjustment_id: int) -> int | None:
    """The list an adjustment belongs to, when the adjustment is in the session's scope."""
    return session.scalar(
        select(SettlementAdjustment.list_id).where(SettlementAdjustment.id == adjustment_id)
    )
