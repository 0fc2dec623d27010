"""Confirmation of a period (确认结算): start or resume a batch, confirm chunks, finish.

:func:`do_start_confirmation` resumes the period's running batch or creates one (409
when another request has just started it); :func:`do_confirm_chunk` confirms one
chunk of lists (the machine decides each), writing confirmations, events, the batch
counters and one audit row; :func:`do_finish_confirmation` marks the batch done,
reports what could not be confirmed and closes the period when all is final.
Everything happens in the caller's transaction; nothing here commits.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Any, cast

from sqlalchemy import CursorResult, insert, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from yibao.audit.service import Actor, record
from yibao.db.scoping import get_scope
from yibao.engines.settlement import Action, State, transition
from yibao.jobs.models import Job
from yibao.kit.errors import Conflict, Forbidden, ValidationFailed
from yibao.kit.timeutil import local, utcnow
from yibao.regions.models import Region
from yibao.settlement.confirm.repository import (
    _adjustments,
    _candidates,
    _special_decisions,
    _window,
    batch_summary,
    lock_batch,
    pending_report,
    remaining_count,
)
from yibao.settlement.confirm.states import confirm_role, running_key
from yibao.settlement.models import (
    SettlementConfirmation,
    SettlementConfirmBatch,
    SettlementList,
    SettlementListEvent,
    SettlementPeriod,
)
from yibao.settlement.review import parse_period

DEFAULT_CHUNK = 500
MAX_CHUNK = 5_000


ZERO = Decimal("0.00")


class ConcurrentChange(Conflict):
    """A chunk's lists changed under it (another run or a reviewer); the chunk's
    transaction must roll back and the chunk be taken again."""

    code = "settlement_concurrent_change"


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
            "只有审核通过（或调整、特例单议已决定）的清单才能确认结算；调整支付或特例单议"
            "不予通过的清单，医院申诉期满后才能确认",
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


@dataclass(frozen=True)
class ChunkResult:
    count: int
    last_id: int
    amount: Decimal
    fund: Decimal


# Long: one chunk's transaction in order - pick, flip, confirmations, events, counters, audit.
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
