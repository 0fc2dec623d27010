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

from sqlalchemy import CursorResult, Select, and_, func, insert, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from yibao.audit.service import Actor, record
from yibao.cases.models import Case
from yibao.db.scoping import get_scope
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
#: nothing more to do for the period: settled, or closed out when the period closed
DONE: frozenset[str] = FINAL | {State.CLOSED_OUT.value, State.WITHDRAWN.value}
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
            in_period(start, end),
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
    rows = pending_lists(session, batch.region_code, batch.period_code)
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


# --------------------------------------------------------------------------- closing

CLOSE_WAYS = {"carry": "结转到下一期间", "close_out": "关闭（不予结算）"}
#: states whose lists may be closed out with their period (the machine's close_out)
CLOSABLE: frozenset[str] = frozenset(
    t.source.value for t in TRANSITIONS if t.action == Action.CLOSE_OUT
)


def next_period(code: str) -> str:
    start, _ = parse_period(code)
    return f"{start.year + start.month // 12:04d}-{start.month % 12 + 1:02d}"


def do_close_period(
    session: Session,
    *,
    region_code: str,
    period_code: str,
    how: str,
    reason: str | None,
    actor: Actor,
) -> dict[str, Any]:
    """Close a period whose confirmable lists are all confirmed (结算期间关闭).

    The lists still open in it (held by QC, returned, priced or under review) are
    either carried to the next period (``carry``: they settle there when decided) or
    closed out (``close_out``: terminal, the reason told to the hospital).  A reason is
    required; lists in a special-case or appeal track must be decided first (409).
    One event per list, one audit row; the period records who, when, why and counts."""
    parse_period(period_code)
    _check_region(session, region_code)
    text = (reason or "").strip()
    if not text:
        raise ValidationFailed("关闭结算期间须填写原因 reason（记入审计日志）", field="reason")
    if len(text) > 500:
        raise ValidationFailed(f"原因 reason 最多 500 字（收到 {len(text)} 字）", field="reason")
    if how not in CLOSE_WAYS:
        raise ValidationFailed(
            f"处理方式 how 应为 carry（结转到下一期间）或 close_out（关闭，不予结算）"
            f"（收到 {str(how)[:20]!r}）",
            field="how",
        )
    _, end = parse_period(period_code)
    if end >= local(utcnow()).date():
        raise ValidationFailed(
            f"结算期间 {period_code} 尚未结束（截至 {end.isoformat()}），不能关闭", field="period"
        )
    row = _period_row(session, region_code, period_code)
    period = session.scalar(
        select(SettlementPeriod).where(SettlementPeriod.id == row.id).with_for_update()
    )
    assert period is not None
    if period.status == "closed":
        raise Conflict(f"结算期间 {period_code}（区划 {region_code}）已关闭", field="period")
    if session.scalar(
        select(SettlementConfirmBatch.id).where(
            SettlementConfirmBatch.running_key == running_key(region_code, period_code)
        )
    ):
        raise Conflict(f"结算期间 {period_code} 正在确认中：请等确认完成后再关闭", field="period")
    left = remaining_count(session, region_code, period_code)
    if left:
        raise Conflict(
            f"结算期间 {period_code} 还有 {left} 份清单可以确认结算：请先确认结算，再关闭期间",
            field="period",
        )
    rows = pending_lists(session, region_code, period_code)
    role = confirm_role(actor)
    if how == "close_out":
        blocked = [r for r in rows if r.state not in CLOSABLE]
        if blocked:
            named = "、".join(f"{r.setl_id}（{state_label(r.state)}）" for r in blocked[:10])
            raise Conflict(
                f"结算期间 {period_code} 有 {len(blocked)} 份清单在特例单议或申诉中，"
                f"须先处理后才能关闭：{named}",
                field="period",
            )
    target = next_period(period_code) if how == "carry" else None
    if target is not None:
        _period_row(session, region_code, target)
    now = utcnow()
    by_state: dict[str, list[int]] = {}
    for r in rows:
        by_state.setdefault(r.state, []).append(r.id)
    for state, ids in by_state.items():
        if how == "close_out":
            transition(state, Action.CLOSE_OUT, role, reason=text)  # the machine decides
        values: dict[str, Any] = (
            {"carried_to": target} if how == "carry" else {"state": State.CLOSED_OUT.value}
        )
        result = session.execute(
            update(SettlementList)
            .where(SettlementList.id.in_(ids), SettlementList.state == state)
            .values(**values)
            .execution_options(synchronize_session=False)
        )
        if cast(CursorResult[Any], result).rowcount != len(ids):
            raise ConcurrentChange(
                "关闭期间时有清单的状态已被其他操作改变，本次未做任何修改，请刷新后重试"
            )
    details = {"period": period_code, "how": how, "to_period": target}
    lists = session.execute(
        select(
            SettlementList.id,
            SettlementList.hospital_id,
            SettlementList.region_code,
            SettlementList.version,
        ).where(SettlementList.id.in_([r.id for r in rows] or [-1]))
    ).all()
    state_of = {r.id: r.state for r in rows}
    events = [
        {
            "list_id": lst.id,
            "hospital_id": lst.hospital_id,
            "region_code": lst.region_code,
            "version": lst.version,
            "action": "carry_over" if how == "carry" else Action.CLOSE_OUT.value,
            "from_state": state_of[lst.id],
            "to_state": state_of[lst.id] if how == "carry" else State.CLOSED_OUT.value,
            "role": role.value,
            "reason": text,
            "details": details,
            "actor_id": actor.user_id,
            "actor_name": actor.name,
            "created_at": now,
        }
        for lst in lists
    ]
    if events:
        session.execute(insert(SettlementListEvent), events)
    period.status = "closed"
    period.closed_at, period.closed_by, period.closed_reason = now, actor.name, text
    period.carried = len(rows) if how == "carry" else 0
    period.closed_out = len(rows) if how == "close_out" else 0
    record(
        session,
        actor,
        "settlement.period.close",
        "settlement_period",
        period.id,
        before={"status": "open"},
        after={
            "status": "closed",
            "period": period_code,
            "region": region_code,
            "how": how,
            "reason": text,
            "carried": period.carried,
            "closed_out": period.closed_out,
            "to_period": target,
            "list_ids": [r.id for r in rows][:1000],
        },
        region_code=region_code,
    )
    return {
        "region": region_code,
        "period": period_code,
        "status": period.status,
        "status_label": period.status_label,
        "how": how,
        "how_label": CLOSE_WAYS[how],
        "carried": period.carried,
        "closed_out": period.closed_out,
        "to_period": target,
        "reason": text,
    }
