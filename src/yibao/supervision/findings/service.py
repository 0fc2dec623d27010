"""The findings workflow (ADR 0024): publish, answer or appeal, 初审, 复审, expiry and
the deduction of a final upheld amount.

Each ``do_…`` function locks the finding, asks the state machine (:mod:`.states`),
changes the row, writes an event and an audit row in the caller's transaction and
never commits.  A final decision that upholds an amount above zero is deducted in the
same transaction: one :class:`~yibao.settlement.models.SettlementAuditDeduction` per
finding (unique), in the statement of the month of the decision, never more on a fee
line than the largest amount claimed on it (:mod:`.feelines`, ADR 0041).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from yibao.accounts.models import User
from yibao.accounts.roles import Permission, has_permission
from yibao.audit.service import SYSTEM, Actor, record
from yibao.kit.errors import Conflict, Forbidden, NotFound, ValidationFailed
from yibao.settlement.models import SettlementAuditDeduction
from yibao.supervision.findings import attachments, feelines
from yibao.supervision.findings.deductions import deduction_period, deduction_row
from yibao.supervision.findings.models import Finding, FindingEvent
from yibao.supervision.findings.rules import (
    FindingRules,
    deadline_from,
    now,
    reason_text,
    today,
    upheld_amount,
)
from yibao.supervision.findings.states import (
    ACTION_LABELS,
    Action,
    Side,
    State,
    label,
    transition,
)

#: how a finding became final (``Finding.final_kind``)
FINAL_KINDS = {
    "accepted": "医院认可",
    "expired": "逾期未答复，按原金额维持",
    "first": "初审维持，医院认可",
    "first_expired": "初审维持，逾期未申请复审",
    "second": "复审决定",
    "dismissed": "撤销",
    "dropped": "不予公示",
}


def side_of(user: User) -> Side:
    """The workflow side of a user: bureau reviewers and rule administrators
    (``review_findings``) or hospital users (``answer_findings``)."""
    if has_permission(user.role, Permission.REVIEW_FINDINGS):
        return Side.BUREAU
    if has_permission(user.role, Permission.ANSWER_FINDINGS) and user.hospital_id is not None:
        return Side.HOSPITAL
    raise Forbidden("无权处理智能审核疑点（需要 review_findings 或 answer_findings 权限）")


def require_side(user: User, side: Side, what: str) -> None:
    if side_of(user) != side:
        who = "医保局审核人员" if side == Side.BUREAU else "医疗机构用户"
        raise Forbidden(f"只有{who}可以{what}")


def lock(session: Session, finding_id: int, *, published_only: bool = False) -> Finding:
    """The finding, locked for the step (another hospital's or region's: 404; for a
    hospital, an unpublished one too).  A finding on fee lines first locks every
    finding of its visit, in id order, so that the room of a line is computed by one
    decision at a time (ADR 0041)."""
    head = session.execute(
        select(Finding.source, Finding.hospital_code, Finding.mdtrt_id, Finding.lines).where(
            Finding.id == finding_id
        )
    ).first()
    visit = feelines.visit_of(*head) if head is not None else None
    if visit is not None:
        feelines.lock_rows(session, (), (visit,))
    row = session.scalar(select(Finding).where(Finding.id == finding_id).with_for_update())
    if row is None or (published_only and row.published_at is None):
        raise NotFound(f"疑点 {finding_id} 不存在或不在您的权限范围 / not found")
    return row


def record_step(
    session: Session,
    finding: Finding,
    action: Action,
    side: Side,
    target: State,
    actor: Actor,
    *,
    reason: str | None,
    amount: Decimal | None = None,
    details: dict[str, Any] | None = None,
) -> FindingEvent:
    source = finding.state
    if side == Side.SYSTEM and actor.user_id is not None:
        # a step the system takes on a person's action (an upheld finding deducted):
        # the person is named as the cause, not as the one who did it
        actor = dataclasses.replace(actor, name=f"系统（因 {actor.name} 的操作）"[:100])
    event = FindingEvent(
        finding_id=finding.id,
        hospital_id=finding.hospital_id,
        region_code=finding.region_code,
        action=action.value,
        from_state=source,
        to_state=target.value,
        side=side.value,
        reason=reason,
        amount=amount,
        details=details,
        actor_id=actor.user_id,
        actor_name=actor.name,
        created_at=now(),
    )
    session.add(event)
    finding.state = target.value
    finding.updated_at = event.created_at
    record(
        session,
        actor,
        f"finding.{action.value}",
        "supervision_finding",
        finding.id,
        before={"state": source},
        after={
            "state": target.value,
            "jr_id": finding.jr_id,
            "reason": reason,
            "amount": amount,
            **(details or {}),
        },
        region_code=finding.region_code,
        hospital_id=finding.hospital_id,
    )
    session.flush()
    return event


def finalise(
    session: Session, finding: Finding, amount: Decimal, kind: str, on: date, actor: Actor
) -> None:
    """Record the final decision; deduct an amount above zero (exactly once), at most
    the room left on the finding's fee lines (ADR 0041): the decided amount stays the
    finding's ``final_amount``, the deduction holds what is really deducted."""
    finding.final_amount = amount
    finding.final_kind = kind
    finding.final_on = on
    if finding.state != State.UPHELD or amount <= 0:
        return
    existing = session.scalar(
        select(SettlementAuditDeduction.id).where(SettlementAuditDeduction.finding_id == finding.id)
    )
    if existing is not None:  # the unique link also refuses it in the database
        raise Conflict(f"疑点 {finding.id} 已计入结算单扣款，不能重复扣款")
    took = feelines.take(session, finding, amount)
    details: dict[str, Any] = {"decided": str(amount), "lines": took.lines}
    if took.earlier:
        details["covered_by"] = sorted(took.earlier)
    if took.amount <= 0:
        record_step(
            session,
            finding,
            Action.COVER,
            Side.SYSTEM,
            transition(finding.state, Action.COVER, Side.SYSTEM),
            actor,
            reason=f"{ACTION_LABELS[Action.COVER]}：{took.words()}",
            amount=Decimal("0.00"),
            details=details,
        )
        return
    period = deduction_period(session, finding, on)
    note = f"；{took.words()}，实扣 {took.amount} 元" if took.amount < amount else ""
    text = (
        f"智能审核扣款：疑点 {finding.id}（{finding.rule_id} {finding.rule_name}，"
        f"{finding.period}），{FINAL_KINDS[kind]}，维持 {amount} 元{note}"
    )
    session.add(deduction_row(finding, period, took, text, actor))
    finding.deducted_period = period
    record_step(
        session,
        finding,
        Action.DEDUCT,
        Side.SYSTEM,
        transition(finding.state, Action.DEDUCT, Side.SYSTEM),
        actor,
        reason=f"计入 {period} 月度结算单（智能审核扣款）{note}",
        amount=took.amount,
        details={"period": period, **details},
    )


# ------------------------------------------------------------------------- bureau


def do_publish(
    session: Session,
    ids: Iterable[int],
    *,
    reason: str | None,
    user: User,
    actor: Actor,
    rules: FindingRules | None = None,
) -> list[Finding]:
    """公示 (bureau, bulk): each finding to its hospital with a deadline.  All or
    nothing: one finding not 待公示 refuses the whole selection, naming it."""
    rules = rules or FindingRules()
    require_side(user, Side.BUREAU, "公示疑点")
    wanted = sorted(set(ids))
    if not wanted:
        raise ValidationFailed("ids：请至少选择一条疑点", field="ids")
    if len(wanted) > rules.max_bulk:
        raise ValidationFailed(
            f"ids：一次最多公示 {rules.max_bulk} 条（收到 {len(wanted)} 条）", field="ids"
        )
    text = reason_text(reason, "公示", 500, required=False) or "公示疑点，请于答复期限内认可或申诉"
    rows = list(
        session.scalars(
            select(Finding).where(Finding.id.in_(wanted)).order_by(Finding.id).with_for_update()
        )
    )
    missing = sorted(set(wanted) - {r.id for r in rows})
    if missing:
        raise NotFound(f"疑点 {missing[0]} 不存在或不在您的权限范围 / not found", field="ids")
    deadline = deadline_from(today(), rules)
    for row in rows:
        target = transition(row.state, Action.PUBLISH, Side.BUREAU)
        row.published_at = now()
        row.published_by = actor.name
        row.deadline = deadline
        record_step(
            session,
            row,
            Action.PUBLISH,
            Side.BUREAU,
            target,
            actor,
            reason=text,
            details={"deadline": deadline.isoformat()},
        )
    return rows


def do_drop(
    session: Session, finding_id: int, *, reason: str | None, user: User, actor: Actor
) -> Finding:
    """不予公示 (bureau): a 待公示 finding is dismissed with a reason."""
    require_side(user, Side.BUREAU, "撤销疑点")
    text = reason_text(reason, "不予公示", 1000)
    row = lock(session, finding_id)
    target = transition(row.state, Action.DROP, Side.BUREAU)
    record_step(session, row, Action.DROP, Side.BUREAU, target, actor, reason=text)
    finalise(session, row, Decimal("0.00"), "dropped", today(), actor)
    return row


def do_first_decision(
    session: Session,
    finding_id: int,
    *,
    uphold: bool,
    amount: Any,
    reason: str | None,
    user: User,
    actor: Actor,
    rules: FindingRules | None = None,
) -> Finding:
    """初审 (bureau) of an answered finding: 维持 with an amount (0 ≤ amount ≤ the
    finding's amount; the hospital may then ask for 复审 before a new deadline) or 撤销."""
    rules = rules or FindingRules()
    require_side(user, Side.BUREAU, "作出初审决定")
    text = reason_text(reason, "初审", 1000)
    row = lock(session, finding_id)
    action = Action.FIRST_UPHOLD if uphold else Action.FIRST_DISMISS
    target = transition(row.state, action, Side.BUREAU)
    value = upheld_amount(amount, row.vola_amt, "初审维持") if uphold else Decimal("0.00")
    row.first_amount, row.first_reason = value, text
    row.first_at, row.first_by, row.first_by_id = now(), actor.name, actor.user_id
    details: dict[str, Any] = {}
    if uphold:
        row.deadline = deadline_from(today(), rules)
        details["deadline"] = row.deadline.isoformat()
    record_step(
        session, row, action, Side.BUREAU, target, actor, reason=text, amount=value, details=details
    )
    if not uphold:
        finalise(session, row, value, "dismissed", today(), actor)
    return row


def do_second_decision(
    session: Session,
    finding_id: int,
    *,
    uphold: bool,
    amount: Any,
    reason: str | None,
    user: User,
    actor: Actor,
) -> Finding:
    """复审 (bureau, final): by a reviewer other than the one who took the 初审; 维持
    at most the 初审 amount, or 撤销."""
    require_side(user, Side.BUREAU, "作出复审决定")
    text = reason_text(reason, "复审", 1000)
    row = lock(session, finding_id)
    action = Action.SECOND_UPHOLD if uphold else Action.SECOND_DISMISS
    target = transition(row.state, action, Side.BUREAU)
    if row.first_by_id is not None and row.first_by_id == actor.user_id:
        raise Forbidden(f"复审须由初审（{row.first_by}）以外的审核人员作出")
    ceiling = row.first_amount if row.first_amount is not None else row.vola_amt
    value = upheld_amount(amount, ceiling, "复审维持") if uphold else Decimal("0.00")
    row.second_amount, row.second_reason = value, text
    row.second_at, row.second_by = now(), actor.name
    row.deadline = None
    record_step(session, row, action, Side.BUREAU, target, actor, reason=text, amount=value)
    finalise(session, row, value, "second" if uphold else "dismissed", today(), actor)
    return row


# ------------------------------------------------------------------------- hospital


def _before_deadline(row: Finding) -> None:
    if row.deadline is not None and today() > row.deadline:
        raise Conflict(
            f"已超过答复期限（{row.deadline}），不能再操作；逾期的疑点按"
            f"{'原金额' if row.state == State.PUBLISHED else '初审金额'}维持"
        )


def do_accept(
    session: Session, finding_id: int, *, reason: str | None, user: User, actor: Actor
) -> Finding:
    """认可 (hospital): a published finding is upheld at its amount; after a 初审
    维持, the hospital accepts the 初审 amount.  Final; deducted at once."""
    require_side(user, Side.HOSPITAL, "认可疑点")
    text = reason_text(reason, "认可", 1000, required=False) or "医院认可"
    row = lock(session, finding_id, published_only=True)
    first = row.state == State.FIRST_UPHELD
    action = Action.ACCEPT_FIRST if first else Action.ACCEPT
    target = transition(row.state, action, Side.HOSPITAL)
    _before_deadline(row)
    amount = (row.first_amount if first else row.vola_amt) or Decimal("0.00")
    row.answered_at, row.answered_by = (row.answered_at or now()), (row.answered_by or actor.name)
    row.deadline = None
    record_step(session, row, action, Side.HOSPITAL, target, actor, reason=text, amount=amount)
    finalise(session, row, amount, "first" if first else "accepted", today(), actor)
    return row


def do_appeal(
    session: Session,
    finding_id: int,
    *,
    reason: str | None,
    files: list[tuple[str, bytes]],
    user: User,
    actor: Actor,
    rules: FindingRules | None = None,
) -> Finding:
    """申诉/答复 (hospital, before the deadline) with a reason and attachments; after a
    初审 维持 the same request asks for the one 复审."""
    rules = rules or FindingRules()
    require_side(user, Side.HOSPITAL, "申诉")
    text = reason_text(reason, "申诉/答复", 2000)
    checked = attachments.check_files(files, rules)
    row = lock(session, finding_id, published_only=True)
    second = row.state == State.FIRST_UPHELD
    action = Action.REQUEST_SECOND if second else Action.APPEAL
    target = transition(row.state, action, Side.HOSPITAL)
    _before_deadline(row)
    if second:
        row.second_request, row.second_requested_at = text, now()
    else:
        row.answer_reason, row.answered_at, row.answered_by = text, now(), actor.name
    row.deadline = None
    event = record_step(
        session,
        row,
        action,
        Side.HOSPITAL,
        target,
        actor,
        reason=text,
        details={"attachments": [name for name, _, _ in checked]},
    )
    attachments.store(session, row, event, checked)
    session.flush()
    return row


# ------------------------------------------------------------------------- expiry


def do_expire_overdue(
    session: Session, *, actor: Actor = SYSTEM, on: date | None = None, limit: int = 5000
) -> int:
    """Finalise the findings in scope whose deadline has passed without an answer: a
    published finding is upheld at its amount, a 初审 维持 at the 初审 amount.  The
    decision's day is the day after the deadline (its month takes the deduction)."""
    day = on or today()
    waiting = (State.PUBLISHED.value, State.FIRST_UPHELD.value)
    found = session.execute(
        select(Finding.id, Finding.source, Finding.hospital_code, Finding.mdtrt_id, Finding.lines)
        .where(Finding.state.in_(waiting), Finding.deadline < day)
        .order_by(Finding.id)
        .limit(limit)
    ).all()
    ids = {r[0] for r in found}
    visits = [v for r in found if (v := feelines.visit_of(*r[1:])) is not None]
    # one ordered lock of the overdue findings and of their visits' (ADR 0041), then
    # only those still overdue once locked
    rows = [
        row
        for row in feelines.lock_rows(session, ids, visits)
        if row.id in ids and row.state in waiting and row.deadline and row.deadline < day
    ]
    for row in rows:
        assert row.deadline is not None
        first = row.state == State.FIRST_UPHELD
        amount = (row.first_amount if first else row.vola_amt) or Decimal("0.00")
        decided = row.deadline + timedelta(days=1)
        target = transition(row.state, Action.EXPIRE, Side.SYSTEM)
        deadline, row.deadline = row.deadline, None
        record_step(
            session,
            row,
            Action.EXPIRE,
            Side.SYSTEM,
            target,
            actor,
            reason=f"答复期限 {deadline} 已过，医院未答复：{ACTION_LABELS[Action.EXPIRE]}",
            amount=amount,
            details={"deadline": deadline.isoformat(), "decided_on": decided.isoformat()},
        )
        finalise(session, row, amount, "first_expired" if first else "expired", decided, actor)
    return len(rows)


def overdue(row: Finding) -> bool:
    """Past its deadline and not yet finalised by the sweep (shown as such on reads)."""
    return (
        row.state in (State.PUBLISHED, State.FIRST_UPHELD)
        and row.deadline is not None
        and today() > row.deadline
    )


def state_text(row: Finding) -> str:
    return f"{label(row.state)}（已逾期，待按期限规则维持）" if overdue(row) else label(row.state)
