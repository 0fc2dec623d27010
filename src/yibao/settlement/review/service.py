"""Decisions on settlement lists: start review, approve, return, withdraw, bulk approve.

Every move goes through the pure state machine (:func:`plan_steps`); :func:`apply_steps`
writes one :class:`SettlementListEvent` per step and one audit row, :func:`_note` an
event that leaves the state as it is.  A list with an adjustment waiting for a second
reviewer takes no other decision (:func:`_refuse_if_pending`).  Nothing here commits.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from yibao.accounts.roles import Permission, has_permission
from yibao.audit.service import Actor, record
from yibao.engines.settlement import Action, IllegalTransition, Role, State, transition
from yibao.kit.errors import Forbidden, ValidationFailed
from yibao.settlement.models import SettlementList, SettlementListEvent
from yibao.settlement.review.repository import (
    lock_list,
    pending_adjustment,
    pending_adjustments,
)
from yibao.settlement.review.schemas import MAX_BULK, BulkResult
from yibao.settlement.review.states import (
    ADJUST_KINDS,
    Step,
    clean_reason,
    plan_steps,
    reason_text,
    reviewer_role,
)


def apply_steps(
    session: Session,
    row: SettlementList,
    steps: list[Step],
    *,
    role: Role,
    actor: Actor,
    reason: str | None,
    details: dict[str, Any] | None = None,
) -> None:
    """Move ``row`` along ``steps``: one event per step, one audit row for the whole."""
    before = row.state
    for i, step in enumerate(steps):
        last = i == len(steps) - 1
        session.add(
            SettlementListEvent(
                list_id=row.id,
                hospital_id=row.hospital_id,
                region_code=row.region_code,
                version=row.version,
                action=step.action.value,
                from_state=step.source.value,
                to_state=step.target.value,
                role=role.value,
                reason=reason if last else None,
                details=details if last else {"implicit": True},
                actor_id=actor.user_id,
                actor_name=actor.name,
            )
        )
        row.state = step.target.value
    record(
        session,
        actor,
        f"settlement.{steps[-1].action.value}",
        "settlement_list",
        row.id,
        before={"state": before},
        after={
            "state": row.state,
            "setl_id": row.setl_id,
            "steps": [s.action.value for s in steps],
            "reason": reason,
            **(details or {}),
        },
        region_code=row.region_code,
        hospital_id=row.hospital_id,
    )


def _step(
    session: Session,
    row: SettlementList,
    action: Action,
    role: Role,
    *,
    actor: Actor,
    reason: str | None,
) -> State:
    """One machine step on ``row`` (the machine decides), with its event and audit row."""
    target = transition(row.state, action, role, reason=reason)
    apply_steps(
        session,
        row,
        [Step(State(row.state), action, target)],
        role=role,
        actor=actor,
        reason=reason,
    )
    return target


def do_start_review(session: Session, list_id: int, *, user_role: str, actor: Actor) -> State:
    """priced → under_review (提交审核)."""
    role = reviewer_role(user_role)
    row = lock_list(session, list_id)
    return _step(session, row, Action.SUBMIT_REVIEW, role, actor=actor, reason=None)


def do_approve_list(
    session: Session, list_id: int, *, user_role: str, actor: Actor, reason: str | None = None
) -> State:
    """审核通过 (under_review, or priced via submit_review → approved)."""
    role = reviewer_role(user_role)
    text = clean_reason(Action.APPROVE, reason)
    row = lock_list(session, list_id)
    steps = plan_steps(row.state, Action.APPROVE, role, text)
    _refuse_if_pending(session, row)
    apply_steps(session, row, steps, role=role, actor=actor, reason=text)
    return steps[-1].target


def do_return_list(
    session: Session, list_id: int, *, reason: str | None, user_role: str, actor: Actor
) -> State:
    """退回医院 with a required reason; the hospital corrects and resubmits."""
    role = reviewer_role(user_role)
    text = clean_reason(Action.RETURN, reason)
    row = lock_list(session, list_id)
    steps = plan_steps(row.state, Action.RETURN, role, text)
    _refuse_if_pending(session, row)
    apply_steps(session, row, steps, role=role, actor=actor, reason=text)
    return steps[-1].target


def do_withdraw_list(
    session: Session, list_id: int, *, reason: str | None, user_role: str, actor: Actor
) -> State:
    """撤回清单 by its hospital before review (held, grouped, priced or returned), with a
    reason; it is no longer reviewed or settled, and may be sent again later."""
    if not has_permission(user_role, Permission.SUBMIT_LISTS):
        raise Forbidden("只有医疗机构用户可以撤回本机构的结算清单")
    text = reason_text(reason, missing="撤回原因 reason 不能为空（审核人员可见）")
    row = lock_list(session, list_id)
    return _step(session, row, Action.WITHDRAW, Role.HOSPITAL, actor=actor, reason=text)


def _refuse_if_pending(session: Session, row: SettlementList) -> None:
    adj = pending_adjustment(session, row.id)
    if adj is not None:
        raise IllegalTransition(
            f"结算清单 {row.setl_id} 有一项待复核的调整（{ADJUST_KINDS.get(adj.kind, adj.kind)}"
            f"至 {adj.adjusted_payment} 元，{adj.actor_name} 提出）：请先由另一位审核员复核，"
            "或撤回该调整",
            state=row.state,
            action=Action.ADJUST.value,
            role=Role.REVIEWER.value,
        )


def _note(
    session: Session,
    row: SettlementList,
    action: str,
    *,
    role: Role,
    actor: Actor,
    reason: str | None,
    details: dict[str, Any],
) -> None:
    """An event that does not move the list (a pending adjustment asked for, refused,
    withdrawn) and its audit row."""
    session.add(
        SettlementListEvent(
            list_id=row.id,
            hospital_id=row.hospital_id,
            region_code=row.region_code,
            version=row.version,
            action=action,
            from_state=row.state,
            to_state=row.state,
            role=role.value,
            reason=reason,
            details=details,
            actor_id=actor.user_id,
            actor_name=actor.name,
        )
    )
    record(
        session,
        actor,
        f"settlement.{action}",
        "settlement_list",
        row.id,
        before={"state": row.state},
        after={"state": row.state, "setl_id": row.setl_id, "reason": reason, **details},
        region_code=row.region_code,
        hospital_id=row.hospital_id,
    )


# Long: locks, checks and approves each list with its own result, then one audit row.
def do_bulk_approve_lists(
    session: Session,
    ids: list[int],
    *,
    user_role: str,
    actor: Actor,
    reason: str | None = None,
) -> list[BulkResult]:
    """Approve many lists in the caller's transaction; each id gets its own result.

    A list that the machine refuses (or that is not in the caller's scope) is reported
    with the Chinese reason and left as it was; the others are approved.
    """
    role = reviewer_role(user_role)
    text = clean_reason(Action.APPROVE, reason)
    wanted = list(dict.fromkeys(ids))
    if not wanted:
        raise ValidationFailed("请给出要审核通过的清单 ids 或筛选条件 filter", field="ids")
    if len(wanted) > MAX_BULK:
        raise ValidationFailed(
            f"一次最多批量审核 {MAX_BULK} 份清单（收到 {len(wanted)} 份）", field="ids"
        )
    rows: dict[int, SettlementList] = {}
    for start in range(0, len(wanted), 1000):
        for found in session.scalars(
            select(SettlementList)
            .where(SettlementList.id.in_(wanted[start : start + 1000]))
            .with_for_update()
        ):
            rows[found.id] = found
    waiting = pending_adjustments(session, rows)
    results: list[BulkResult] = []
    for list_id in wanted:
        row = rows.get(list_id)
        if row is None:
            results.append(
                BulkResult(list_id, False, message=f"结算清单 {list_id} 不存在或不在您的辖区")
            )
            continue
        if list_id in waiting:
            results.append(
                BulkResult(
                    list_id,
                    False,
                    row.setl_id,
                    row.state,
                    row.state,
                    "有待复核的调整，请先复核或撤回该调整",
                )
            )
            continue
        before = row.state
        try:
            steps = plan_steps(row.state, Action.APPROVE, role, text)
        except IllegalTransition as exc:
            results.append(BulkResult(list_id, False, row.setl_id, before, before, exc.message))
            continue
        apply_steps(
            session, row, steps, role=role, actor=actor, reason=text, details={"bulk": True}
        )
        results.append(
            BulkResult(
                list_id,
                True,
                row.setl_id,
                before,
                row.state,
                steps=[s.action.value for s in steps],
            )
        )
    approved = [r for r in results if r.ok]
    # one row for the whole action (the audit page shows it instead of one per list)
    record(
        session,
        actor,
        "settlement.bulk_approve",
        "settlement_list_batch",
        None,
        after={
            "requested": len(wanted),
            "approved": len(approved),
            "refused": len(results) - len(approved),
            "reason": text,
            "setl_ids": [r.setl_id for r in approved[:10]],
        },
    )
    return results
