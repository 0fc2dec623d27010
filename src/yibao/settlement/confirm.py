"""Settlement confirmation of a period (确认结算), one chunk per transaction.

A period is a month of discharge dates in a region (``YYYY-MM``; the lists of
hospitals in the region's subtree).  Confirmation works on a
:class:`SettlementConfirmBatch` created first (:func:`do_start_confirmation`), then
chunk by chunk (:func:`do_confirm_chunk`): each chunk picks lists still in a state
from which the machine allows ``confirm`` (approved, adjusted, …), writes one
:class:`SettlementConfirmation` per list, flips the lists to ``confirmed`` and moves
the batch counters — all in the caller's transaction.  The driver
(:func:`yibao.settlement.tasks.run_confirmation`) commits each chunk on its own, so a
crash leaves every list either confirmed once (the unique ``list_id`` of
confirmations forbids a second row) or still approved, and a re-run resumes the
running batch.  :func:`do_finish_confirmation` marks the batch done, reports the
lists that could not be confirmed (under review, returned, held …) and closes the
period when all its lists are final.  Nothing here commits.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any, cast

from sqlalchemy import CursorResult, Select, func, insert, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from yibao.accounts.scoping import get_scope
from yibao.audit.service import Actor, record
from yibao.cases.models import Case
from yibao.engines.settlement import TRANSITIONS, Action, Role, State, transition
from yibao.jobs.models import Job
from yibao.kit.errors import Conflict, Forbidden, NotFound, ValidationFailed
from yibao.kit.timeutil import local, utcnow
from yibao.regions.models import Region, region_prefix
from yibao.settlement.models import (
    CasePricing,
    SettlementAdjustment,
    SettlementConfirmation,
    SettlementConfirmBatch,
    SettlementList,
    SettlementListEvent,
    SettlementPeriod,
)
from yibao.settlement.review import ADJUSTED_STATES, parse_period, state_label

#: States from which the machine allows ``confirm``.
CONFIRMABLE: frozenset[str] = frozenset(
    t.source.value for t in TRANSITIONS if t.action == Action.CONFIRM
)
#: A period closes when every list discharged in it is in one of these.
FINAL: frozenset[str] = frozenset({State.CONFIRMED.value, State.PAID.value})
DEFAULT_CHUNK = 500
MAX_CHUNK = 5_000
PENDING_SAMPLE = 100
ZERO = Decimal("0.00")


class ConcurrentChange(Conflict):
    """A chunk's lists changed under it (another run or a reviewer); the chunk's
    transaction must roll back and the chunk be taken again."""

    code = "settlement_concurrent_change"


def confirm_role(actor: Actor) -> Role:
    """The bureau confirms; a run without a user (CLI, recovery) is the system."""
    return Role.BUREAU if actor.user_id is not None else Role.SYSTEM


def running_key(region_code: str, period_code: str) -> str:
    return f"{region_code}:{period_code}"


def _check_region(session: Session, region_code: str) -> Region:
    region = session.get(Region, region_code)
    if region is None:
        raise ValidationFailed(f"区划 region = {region_code!r} 不存在", field="region")
    scope = get_scope(session)
    if scope is None or scope.hospital_id is not None or not scope.allows(None, region_code):
        raise Forbidden(f"无权确认区划 {region_code} 的结算（不在您的辖区内）")
    return region


def _period_row(session: Session, region_code: str, code: str) -> SettlementPeriod:
    start, end = parse_period(code)
    period = session.scalar(
        select(SettlementPeriod).where(
            SettlementPeriod.region_code == region_code, SettlementPeriod.code == code
        )
    )
    if period is None:
        period = SettlementPeriod(
            region_code=region_code, code=code, start_date=start, end_date=end, status="open"
        )
        session.add(period)
        session.flush()
    return period


def do_start_confirmation(
    session: Session,
    *,
    region_code: str,
    period_code: str,
    actor: Actor,
    chunk_size: int | None = None,
) -> SettlementConfirmBatch:
    """The running batch of the period (resumed), or a new one.  Refuses (409) while a
    job of the running batch is still queued or running, and when another request has
    just started the period (both found no running batch; :func:`_new_batch`)."""
    period_code = period_code.strip()
    parse_period(period_code)
    _check_region(session, region_code)
    size = DEFAULT_CHUNK if chunk_size is None else chunk_size
    if not 1 <= size <= MAX_CHUNK:
        raise ValidationFailed(
            f"每批处理清单数 chunk_size 须在 1 到 {MAX_CHUNK} 之间（收到 {size}）",
            field="chunk_size",
        )
    key = running_key(region_code, period_code)
    batch = session.scalar(
        select(SettlementConfirmBatch).where(SettlementConfirmBatch.running_key == key)
    )
    if batch is not None:
        job = session.get(Job, batch.job_id) if batch.job_id else None
        if job is not None and job.status in ("queued", "running"):
            raise Conflict(
                f"结算期间 {period_code}（区划 {region_code}）正在确认中（任务 {job.id}），"
                "请等待完成后再提交"
            )
        if chunk_size:
            batch.chunk_size = size
        record(
            session,
            actor,
            "settlement.confirm.resume",
            "settlement_confirm_batch",
            batch.id,
            after={"period": period_code, "region": region_code, "confirmed": batch.confirmed},
            region_code=region_code,
        )
        return batch
    _check_confirmable(session, region_code, period_code)
    batch = _new_batch(session, region_code, period_code, key, size, actor)
    record(
        session,
        actor,
        "settlement.confirm.start",
        "settlement_confirm_batch",
        batch.id,
        after={"period": period_code, "region": region_code, "chunk_size": size},
        region_code=region_code,
    )
    return batch


def _check_confirmable(session: Session, region_code: str, period_code: str) -> None:
    """A new confirmation needs a month that is over and lists ready to confirm: a
    future or current month, or one with nothing approved, is refused (422) and left
    open, never closed empty."""
    _, end = parse_period(period_code)
    today = local(utcnow()).date()
    if end >= today:
        raise ValidationFailed(
            f"结算期间 {period_code} 尚未结束（截至 {end.isoformat()}），月份结束后才能确认结算",
            field="period",
        )
    if remaining_count(session, region_code, period_code) == 0:
        raise ValidationFailed(
            f"结算期间 {period_code}（区划 {region_code}）没有待确认的清单："
            "只有审核通过（或调整、特例单议已决定）的清单才能确认结算",
            field="period",
        )


def _new_batch(
    session: Session, region_code: str, period_code: str, key: str, size: int, actor: Actor
) -> SettlementConfirmBatch:
    """Insert the period row (when missing) and the running batch.

    Two first requests for the same period can both find no running batch before either
    commits; the unique keys (period region + code, the batch's ``running_key``) then
    stop the later one at this insert.  It answers 409 naming the period instead of a
    500; its transaction is rolled back here (the failed flush has spoilt it anyway)."""
    try:
        period = _period_row(session, region_code, period_code)
        batch = SettlementConfirmBatch(
            hospital_id=None,
            region_code=region_code,
            period_id=period.id,
            period_code=period_code,
            status="running",
            running_key=key,
            chunk_size=size,
            runs=0,
            confirmed=0,
            amount_total=ZERO,
            fund_total=ZERO,
            started_by=actor.name,
        )
        session.add(batch)
        session.flush()
    except IntegrityError as exc:
        session.rollback()
        raise Conflict(
            f"结算期间 {period_code}（区划 {region_code}）正在确认中：另一个确认请求刚刚开始了"
            "该期间的确认，请勿重复提交，稍后查看该期间的确认进度",
            code="settlement_confirm_running",
        ) from exc
    return batch


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


def _candidates(prefix: str, start: date, end: date) -> Select[*tuple[Any, ...]]:
    """Priced lists of the period in a confirmable state (oldest id first)."""
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
            Case.discharge_date >= start,
            Case.discharge_date <= end,
        )
    )


def remaining_count(session: Session, region_code: str, period_code: str) -> int:
    """Lists of the period still waiting for confirmation (in the session's scope)."""
    stmt = _candidates(*_window(region_code, period_code))
    return session.scalar(select(func.count()).select_from(stmt.subquery())) or 0


@dataclass(frozen=True)
class ChunkResult:
    count: int
    last_id: int
    amount: Decimal
    fund: Decimal


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
    missing = sorted(set(wanted) - set(out))
    if missing:
        raise ValidationFailed(
            f"结算清单 {missing[:10]} 处于调整状态但没有调整记录，无法确定支付金额",
            field="adjusted_payment",
        )
    return out


def _special_decisions(session: Session, rows: Sequence[Any]) -> dict[int, tuple[Any, Any]]:
    """(payment, fund) of approved special cases (特例单议) for the lists in ``rows``."""
    from yibao.settlement.models import SpecialCaseApplication

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


def do_confirm_chunk(
    session: Session, batch_id: int, *, actor: Actor, after_id: int = 0, limit: int
) -> ChunkResult:
    """Confirm up to ``limit`` lists of the batch's period with ids above ``after_id``.

    Locks the batch row (so chunks of concurrent runs queue up), picks the lists
    (``FOR UPDATE`` on PostgreSQL), asks the machine for each list's ``confirm``,
    flips exactly those lists (:class:`ConcurrentChange` when any changed meanwhile),
    writes their confirmations, events, the batch counters and one audit row.
    """
    batch = lock_batch(session, batch_id)
    if batch.status != "running":
        return ChunkResult(0, after_id, ZERO, ZERO)
    role = confirm_role(actor)
    stmt = (
        _candidates(*_window(batch.region_code, batch.period_code))
        .where(SettlementList.id > after_id)
        .order_by(SettlementList.id)
        .limit(limit)
        .with_for_update(of=SettlementList)
    )
    rows = session.execute(stmt).all()
    if not rows:
        return ChunkResult(0, after_id, ZERO, ZERO)
    adjustments = _adjustments(session, rows)
    specials = _special_decisions(session, rows)
    by_source: dict[str, list[int]] = {}
    for r in rows:
        target = transition(r.state, Action.CONFIRM, role)  # the machine decides
        assert target == State.CONFIRMED
        by_source.setdefault(r.state, []).append(r.id)
    for source, ids in by_source.items():
        result = session.execute(
            update(SettlementList)
            .where(SettlementList.id.in_(ids), SettlementList.state == source)
            .values(state=State.CONFIRMED.value)
            .execution_options(synchronize_session=False)
        )
        flipped = cast(CursorResult[Any], result).rowcount
        if flipped != len(ids):
            raise ConcurrentChange(
                f"确认结算时有 {len(ids) - flipped} 份清单的状态已被其他操作改变，本批已回滚，"
                "请重新运行确认"
            )
    now = utcnow()
    confirmations, events = [], []
    amount_sum, fund_sum = ZERO, ZERO
    for r in rows:
        adj = adjustments.get(r.id)
        amount = adj.adjusted_payment if adj else r.drg_payment
        fund = adj.adjusted_fund if adj else r.fund_amount
        if r.id in specials:  # an approved special case is paid as the panel decided
            amount, special_fund = specials[r.id]
            fund = special_fund if special_fund is not None else fund
        amount_sum += amount
        fund_sum += fund
        confirmations.append(
            {
                "list_id": r.id,
                "case_id": r.case_id,
                "batch_id": batch.id,
                "hospital_id": r.hospital_id,
                "region_code": r.region_code,
                "setl_id": r.setl_id,
                "hospital_code": r.hospital_code,
                "period_code": batch.period_code,
                "drg": r.drg,
                "payment_class": r.payment_class,
                "drg_payment": r.drg_payment,
                "adjusted": adj is not None,
                "amount_paid": amount,
                "fund_amount": fund,
                "confirmed_at": now,
            }
        )
        events.append(
            {
                "list_id": r.id,
                "hospital_id": r.hospital_id,
                "region_code": r.region_code,
                "version": r.version,
                "action": Action.CONFIRM.value,
                "from_state": r.state,
                "to_state": State.CONFIRMED.value,
                "role": role.value,
                "reason": None,
                "details": {
                    "batch_id": batch.id,
                    "period": batch.period_code,
                    "amount_paid": str(amount),
                },
                "actor_id": actor.user_id,
                "actor_name": actor.name,
                "created_at": now,
            }
        )
    session.execute(insert(SettlementConfirmation), confirmations)
    session.execute(insert(SettlementListEvent), events)
    b = SettlementConfirmBatch
    session.execute(  # in SQL: right even if another run moved the counters meanwhile
        update(b)
        .where(b.id == batch.id)
        .values(
            confirmed=b.confirmed + len(rows),
            amount_total=b.amount_total + amount_sum,
            fund_total=b.fund_total + fund_sum,
        )
        .execution_options(synchronize_session=False)
    )
    ids = [r.id for r in rows]
    record(
        session,
        actor,
        "settlement.confirm",
        "settlement_confirm_batch",
        batch.id,
        before={"states": {src: len(ids) for src, ids in by_source.items()}},
        after={
            "state": State.CONFIRMED.value,
            "period": batch.period_code,
            "region": batch.region_code,
            "lists": len(rows),
            "amount_paid": amount_sum,
            "fund_amount": fund_sum,
            "list_ids": ids,
        },
        region_code=batch.region_code,
    )
    return ChunkResult(len(rows), ids[-1], amount_sum, fund_sum)


def pending_report(session: Session, batch: SettlementConfirmBatch) -> dict[str, Any]:
    """Lists of the period that are not final (and so were not confirmed): by state,
    with the first :data:`PENDING_SAMPLE` named.  Held lists (no case) count by the
    discharge time of their message."""
    prefix, start, end = _window(batch.region_code, batch.period_code)
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
                SettlementList.state.not_in(sorted(FINAL)),
                Case.discharge_date >= start,
                Case.discharge_date <= end,
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
            SettlementList.state.not_in(sorted(FINAL)),
            SettlementList.discharge_month == batch.period_code,
        )
        .order_by(SettlementList.id)
    ):
        rows.append(r)
    counts = Counter(r.state for r in rows)
    return {
        "total": len(rows),
        "by_state": dict(sorted(counts.items())),
        "lists": [
            {
                "id": r.id,
                "setl_id": r.setl_id,
                "hospital_code": r.hospital_code,
                "state": r.state,
                "state_label": state_label(r.state),
            }
            for r in rows[:PENDING_SAMPLE]
        ],
    }


def do_finish_confirmation(session: Session, batch_id: int, *, actor: Actor) -> dict[str, Any]:
    """Mark the batch done when no list of its period is left to confirm; report the
    lists that were not confirmed; close the period when all its lists are final."""
    batch = lock_batch(session, batch_id)
    if batch.status == "done":
        return batch_summary(session, batch)
    left = remaining_count(session, batch.region_code, batch.period_code)
    if left:
        return {**batch_summary(session, batch), "remaining": left}
    pending = pending_report(session, batch)
    batch.status = "done"
    batch.running_key = None
    batch.finished_at = utcnow()
    batch.pending = pending
    period = session.get(SettlementPeriod, batch.period_id)
    assert period is not None
    if pending["total"] == 0 and period.status != "closed":
        period.status = "closed"
        record(
            session,
            actor,
            "settlement.period.close",
            "settlement_period",
            period.id,
            before={"status": "open"},
            after={"status": "closed", "period": period.code, "region": period.region_code},
            region_code=period.region_code,
        )
    record(
        session,
        actor,
        "settlement.confirm.finish",
        "settlement_confirm_batch",
        batch.id,
        after={
            "period": batch.period_code,
            "region": batch.region_code,
            "confirmed": batch.confirmed,
            "amount_paid": batch.amount_total,
            "fund_amount": batch.fund_total,
            "pending": pending["total"],
            "period_status": period.status,
        },
        region_code=batch.region_code,
    )
    return batch_summary(session, batch)


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
