"""Pure rules of settlement review: states, labels, roles, steps and reasons.

The queue's default states, the states paid an adjustment, the adjustment kinds and
statuses with their Chinese labels, who may review, the machine's steps for a decision
(:func:`plan_steps`, with the implicit ``submit_review`` of a priced list) and the
rules for a decision's reason.  Nothing here reads or writes the database.
"""

from __future__ import annotations

from dataclasses import dataclass

from yibao.accounts.roles import Permission, has_permission
from yibao.engines.settlement import (
    ACTION_LABELS,
    STATE_LABELS,
    Action,
    Role,
    State,
    transition,
)
from yibao.kit.errors import Forbidden, ValidationFailed

#: The default review queue: lists waiting for a decision.
QUEUE_STATES: tuple[str, ...] = (State.PRICED, State.UNDER_REVIEW)
#: States in which a list is paid its latest adjustment instead of its pricing.
ADJUSTED_STATES = frozenset({State.ADJUSTED, State.APPEAL_REJECTED})
REASON_REQUIRED = {
    Action.RETURN: "退回医院",
    Action.ADJUST: "调整支付",
    Action.REVERT_ADJUST: "撤销调整",
}
#: adjustment kinds: a deduction lowers the payment, an addition raises it
ADJUST_KINDS = {"deduct": "调整扣减", "add": "调增"}
#: only effective adjustments are paid (pending ones wait for a second reviewer)
EFFECTIVE = "effective"
PENDING = "pending"
#: taken out of force by an upheld appeal (申诉成立)
OVERTURNED = "overturned"
ADJUST_STATUS_LABELS = {
    "effective": "已生效",
    "pending": "待复核",
    "rejected": "复核不同意",
    "reverted": "已撤销",
    "overturned": "申诉成立，已撤销",
}


def state_label(state: str) -> str:
    """The Chinese name of a list's state; "refused" is the intake's answer for a list
    it did not store (拒收); an unknown value is shown as it is."""
    if state == "refused":
        return "拒收"
    try:
        return STATE_LABELS[State(state)]
    except ValueError:
        return state


#: events that record a step outside the state machine (the list's state stays)
NOTE_LABELS = {
    "receive": "接收清单",
    "request_adjust": "提出调整（待复核）",
    "reject_adjust": "复核不同意调整",
    "withdraw_adjust": "撤回待复核的调整",
    "carry_over": "结转到下一结算期间",
}


def action_label(action: str) -> str:
    try:
        return ACTION_LABELS[Action(action)]
    except ValueError:
        return NOTE_LABELS.get(action, action)


def reviewer_role(user_role: str) -> Role:
    """The machine role of an application user who reviews lists (403 without the right)."""
    if not has_permission(user_role, Permission.REVIEW_SETTLEMENT):
        raise Forbidden("当前角色不能审核结算清单（需要 review_settlement 权限）")
    return Role.REVIEWER


@dataclass
class Step:
    source: State
    action: Action
    target: State


def plan_steps(state: str, action: Action, role: Role, reason: str | None) -> list[Step]:
    """The machine's steps for ``action`` from ``state`` (with the implicit
    ``submit_review`` of a priced list).  Raises :class:`IllegalTransition`; pure."""
    steps: list[Step] = []
    current = State(state)
    if current == State.PRICED and action in (Action.APPROVE, Action.RETURN, Action.ADJUST):
        nxt = transition(current, Action.SUBMIT_REVIEW, role)
        steps.append(Step(State.PRICED, Action.SUBMIT_REVIEW, nxt))
        current = nxt
    target = transition(current, action, role, reason=reason)
    steps.append(Step(current, action, target))
    return steps


def reason_text(reason: str | None, *, missing: str | None = None) -> str | None:
    """The trimmed reason (at most 500 characters); ``missing``: the message when a
    reason is required and none was given."""
    text = (reason or "").strip() or None
    if text is None and missing is not None:
        raise ValidationFailed(missing, field="reason")
    if text is not None and len(text) > 500:
        raise ValidationFailed(f"原因 reason 最多 500 字（收到 {len(text)} 字）", field="reason")
    return text


def clean_reason(action: Action, reason: str | None) -> str | None:
    required = REASON_REQUIRED.get(action)
    missing = (
        f"原因 reason 不能为空：{required}必须填写原因（将告知医疗机构）" if required else None
    )
    return reason_text(reason, missing=missing)
