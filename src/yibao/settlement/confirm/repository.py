"""Queries of period confirmation: a period's lists, what is left, batches, reports.

The lists that settle in a period (discharged in it or carried into it), those still
confirmable (:func:`remaining_count`: an adjustment or a rejected special case only once
the hospital's appeal window is over, ADR 0008 amendment) and those with something left to do
(:func:`pending_lists`, :func:`pending_report`), the effective adjustments and the
approved special cases that set a list's payment, a batch locked for a chunk and a
batch as the API shows it.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from sqlalchemy import Select, and_, exists, func, or_, select
from sqlalchemy.orm import Session

from yibao.cases.models import Case
from yibao.engines.settlement import State
from yibao.kit.errors import NotFound, ValidationFailed
from yibao.kit.timeutil import BUSINESS_TZ, local
from yibao.regions.models import region_prefix
from yibao.settlement.confirm.states import CONFIRMABLE, DONE
from yibao.settlement.models import (
    CasePricing,
    SettlementAdjustment,
    SettlementConfirmation,
    SettlementConfirmBatch,
    SettlementList,
    SettlementListEvent,
    SettlementPeriod,
    SpecialCaseApplication,
)
from yibao.settlement.review import ADJUSTED_STATES, parse_period, state_label
from yibao.settlement.special.rules import SpecialRules, _now, appeal_deadline

#: decisions the hospital may appeal (ADR 0008): confirmed once the window is over
APPEALABLE = (State.ADJUSTED.value, State.SPECIAL_REJECTED.value)

PENDING_SAMPLE = 100


def lock_batch(session: Session, batch_id: int) -> SettlementConfirmBatch:
    batch = session.scalar(
        select(SettlementConfirmBatch)
        .where(SettlementConfirmBatch.id == batch_id)
        .with_for_update()
        .execution_options(populate_existing=True)
    )
    if batch is None:
        raise NotFound(f"确认结算批次 {batch_id} 不存在 / not found")
    return batch


def _window(region_code: str, period_code: str) -> tuple[str, date, date]:
    start, end = parse_period(period_code)
    return region_prefix(region_code), start, end


def in_period(start: date, end: date) -> Any:
    """Lists (with a case) that settle in the period: discharged in it and not carried
    elsewhere, or carried into it from an earlier closed period."""
    code = f"{start:%Y-%m}"
    return or_(
        SettlementList.carried_to == code,
        and_(
            SettlementList.carried_to.is_(None),
            Case.discharge_date >= start,
            Case.discharge_date <= end,
        ),
    )


def _held_in_period(code: str) -> Any:
    """Held lists (no case) that settle in the period, by their message's month."""
    return or_(
        SettlementList.carried_to == code,
        and_(SettlementList.carried_to.is_(None), SettlementList.discharge_month == code),
    )


def appeal_cutoff(now: datetime | None = None, rules: SpecialRules | None = None) -> datetime:
    """Decisions taken at or after this instant may still be appealed today (the appeal
    deadline is the decision's business date + ``appeal_days``, inclusive)."""
    days = (rules or SpecialRules()).appeal_days
    first = local(now or _now()).date() - timedelta(days=days)
    return datetime.combine(first, time.min, BUSINESS_TZ).astimezone(UTC)


def _past_appeal_window(cutoff: datetime) -> Any:
    """Not an appealable decision taken at or after ``cutoff`` (the hospital may still
    appeal it: confirming now would take that right away)."""
    ev = SettlementListEvent
    open_decision = exists().where(
        ev.list_id == SettlementList.id,
        ev.to_state == SettlementList.state,
        ev.created_at >= cutoff,
    )
    return or_(SettlementList.state.not_in(APPEALABLE), ~open_decision)


def _candidates(prefix: str, start: date, end: date) -> Select[*tuple[Any, ...]]:
    """Priced lists of the period in a confirmable state whose appeal window, if any,
    is over (oldest id first)."""
    return (
        select(
            SettlementList.id,
            SettlementList.state,
            SettlementList.setl_id,
            SettlementList.hospital_id,
            SettlementList.region_code,
            SettlementList.hospital_code,
            SettlementList.case_id,
            SettlementList.version,
            CasePricing.drg,
            CasePricing.payment_class,
            CasePricing.drg_payment,
            CasePricing.fund_amount,
        )
        .join(Case, Case.id == SettlementList.case_id)
        .join(CasePricing, CasePricing.case_id == SettlementList.case_id)
        .where(
            SettlementList.region_code.startswith(prefix),
            SettlementList.state.in_(sorted(CONFIRMABLE)),
            in_period(start, end),
            _past_appeal_window(appeal_cutoff()),
        )
    )


def appeal_deadlines(session: Session, rows: Sequence[Any]) -> dict[int, date]:
    """The appeal deadline of each of ``rows`` (id, state) awaiting a possible appeal."""
    wanted = [r.id for r in rows if r.state in APPEALABLE]
    if not wanted:
        return {}
    ev = SettlementListEvent
    latest = session.execute(
        select(ev.list_id, func.max(ev.created_at))
        .join(SettlementList, SettlementList.id == ev.list_id)
        .where(ev.list_id.in_(wanted), ev.to_state == SettlementList.state)
        .group_by(ev.list_id)
    ).all()
    rules = SpecialRules()
    return {list_id: appeal_deadline(at, rules) for list_id, at in latest if at is not None}


def remaining_count(session: Session, region_code: str, period_code: str) -> int:
    """Lists of the period still waiting for confirmation (in the session's scope)."""
    stmt = _candidates(*_window(region_code, period_code))
    return session.scalar(select(func.count()).select_from(stmt.subquery())) or 0


def _adjustments(session: Session, rows: Sequence[Any]) -> dict[int, SettlementAdjustment]:
    wanted = {r.id: r.case_id for r in rows if r.state in ADJUSTED_STATES}
    if not wanted:
        return {}
    out: dict[int, SettlementAdjustment] = {}
    for adj in session.scalars(
        select(SettlementAdjustment)
        .where(
            SettlementAdjustment.list_id.in_(list(wanted)),
            SettlementAdjustment.status == "effective",
        )
        .order_by(SettlementAdjustment.id)
    ):
        if adj.case_id == wanted[adj.list_id]:
            out[adj.list_id] = adj
    # a rejected appeal against a rejected special case (not an adjustment) leaves
    # the list at its pricing: it has no adjustment to pay
    adjusted = {r.id for r in rows if r.state == State.ADJUSTED}
    missing = sorted((set(wanted) - set(out)) & adjusted)
    if missing:
        raise ValidationFailed(
            f"结算清单 {missing[:10]} 处于调整状态但没有调整记录，无法确定支付金额",
            field="adjusted_payment",
        )
    return out


def _special_decisions(session: Session, rows: Sequence[Any]) -> dict[int, tuple[Any, Any]]:
    """(payment, fund) of approved special cases (特例单议) for the lists in ``rows``."""
    wanted = [r.id for r in rows if r.state == State.SPECIAL_APPROVED]
    if not wanted:
        return {}
    out: dict[int, tuple[Any, Any]] = {}
    for app in session.scalars(
        select(SpecialCaseApplication)
        .where(
            SpecialCaseApplication.list_id.in_(wanted),
            SpecialCaseApplication.status == "approved",
        )
        .order_by(SpecialCaseApplication.id)
    ):
        if app.new_payment is not None:
            out[app.list_id] = (app.new_payment, app.new_fund)
    return out


def pending_report(session: Session, batch: SettlementConfirmBatch) -> dict[str, Any]:
    """Lists of the period that are not final (and so were not confirmed): by state,
    with the first :data:`PENDING_SAMPLE` named.  Held lists (no case) count by the
    discharge time of their message."""
    rows = pending_lists(session, batch.region_code, batch.period_code)
    counts = Counter(r.state for r in rows)
    deadlines = appeal_deadlines(session, rows[:PENDING_SAMPLE])
    return {
        "total": len(rows),
        "by_state": dict(sorted(counts.items())),
        "lists": [
            {
                "id": r.id,
                "setl_id": r.setl_id,
                "hospital_code": r.hospital_code,
                "state": r.state,
                "state_label": state_label(r.state)
                + (f"（申诉期至 {deadlines[r.id]}）" if r.id in deadlines else ""),
                **({"appeal_until": deadlines[r.id].isoformat()} if r.id in deadlines else {}),
            }
            for r in rows[:PENDING_SAMPLE]
        ],
    }


def pending_lists(session: Session, region_code: str, period_code: str) -> list[Any]:
    """(id, setl_id, hospital_code, state) of the period's lists with something left to
    do: neither settled nor closed out (oldest first; held lists last)."""
    prefix, start, end = _window(region_code, period_code)
    rows = list(
        session.execute(
            select(
                SettlementList.id,
                SettlementList.setl_id,
                SettlementList.hospital_code,
                SettlementList.state,
            )
            .join(Case, Case.id == SettlementList.case_id)
            .where(
                SettlementList.region_code.startswith(prefix),
                SettlementList.state.not_in(sorted(DONE)),
                in_period(start, end),
            )
            .order_by(SettlementList.id)
        ).all()
    )
    for r in session.execute(
        select(
            SettlementList.id,
            SettlementList.setl_id,
            SettlementList.hospital_code,
            SettlementList.state,
        )
        .where(
            SettlementList.case_id.is_(None),
            SettlementList.region_code.startswith(prefix),
            SettlementList.state.not_in(sorted(DONE)),
            _held_in_period(period_code),
        )
        .order_by(SettlementList.id)
    ):
        rows.append(r)
    return rows


def batch_summary(session: Session, batch: SettlementConfirmBatch) -> dict[str, Any]:
    period = session.get(SettlementPeriod, batch.period_id)
    return {
        "batch_id": batch.id,
        "region": batch.region_code,
        "period": batch.period_code,
        "status": batch.status,
        "status_label": batch.status_label,
        "period_status": period.status if period else None,
        "runs": batch.runs,
        "chunk_size": batch.chunk_size,
        "confirmed": batch.confirmed,
        "amount_paid": str(batch.amount_total),
        "fund_amount": str(batch.fund_total),
        "job_id": batch.job_id,
        "started_by": batch.started_by,
        "started_at": batch.started_at.isoformat() if batch.started_at else None,
        "finished_at": batch.finished_at.isoformat() if batch.finished_at else None,
        "pending": batch.pending,
    }


@dataclass(frozen=True)
class ConfirmationRecords:
    """One page of a period's confirmation records with the totals of all of them."""

    items: list[SettlementConfirmation]
    total: int
    amount_paid: Any  # the database's sum (a Decimal, or a number on SQLite), 0 when none
    fund_amount: Any


def confirmation_page(
    session: Session, batch_ids: Sequence[int], hospital: str | None, page: int, size: int
) -> ConfirmationRecords:
    """The confirmation records of ``batch_ids`` (a period's batches), of one hospital
    when given, in confirmation order, with their count and sums."""
    stmt = select(SettlementConfirmation).where(
        SettlementConfirmation.batch_id.in_(list(batch_ids) or [-1])
    )
    if hospital:
        stmt = stmt.where(SettlementConfirmation.hospital_code == hospital)
    sub = stmt.subquery()
    total, amount, fund = session.execute(
        select(func.count(), func.sum(sub.c.amount_paid), func.sum(sub.c.fund_amount))
    ).one()
    rows = session.scalars(
        stmt.order_by(SettlementConfirmation.id).offset((page - 1) * size).limit(size)
    )
    return ConfirmationRecords(list(rows), int(total or 0), amount or 0, fund or 0)
