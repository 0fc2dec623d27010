"""The settlement-list lifecycle as a pure state machine (结算清单状态).

::

    intake ──qc_fail──▶ qc_failed (held) ──resubmit──▶ intake
      │group
      ▼
    grouped ──price──▶ priced ──submit_review──▶ under_review ──approve──▶ approved
      ▲                  │ ▲regroup               │return ▶ returned ──resubmit──▶ intake
      └──────regroup─────┘ │                      │adjust ▶ adjusted ──file_appeal──▶ appealed
                           │                      ◀──revert_adjust── adjusted / appeal_rejected
                           │withdraw_special      │                     uphold ▶ approved
    priced / under_review / approved ──apply_special──▶ special_applied   reject ▶ appeal_rejected
    special_applied ──approve_special──▶ special_approved
                    ──reject_special──▶ special_rejected ──file_appeal──▶ special_appealed
                                         uphold ▶ special_approved, reject ▶ appeal_rejected
    approved / adjusted / appeal_rejected / special_approved / special_rejected
      ──confirm──▶ confirmed (in a period's confirmed settlement) ──pay──▶ paid
    qc_failed / priced / under_review / returned ──close_out──▶ closed_out (a period
      closed with its open lists closed out, with a reason)
    qc_failed / grouped / priced / returned ──withdraw──▶ withdrawn ──resubmit──▶ intake
      (the hospital takes a list back before review)

Every transition names the roles allowed to take it and whether a reason is required
(returning, adjusting, rejecting and appealing must say why).  The flow follows
domain.md §1.6 (hospital applies, experts review), §1.7 (monthly confirmation and
payment) and §3.5 (QC holds a list until it is corrected) [S]/[M].
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Final, TypeVar

from yibao.engines.settlement.errors import IllegalTransition, SettlementError

_E = TypeVar("_E", bound=StrEnum)


class State(StrEnum):
    """States of one settlement list (and its special-case / appeal track)."""

    INTAKE = "intake"
    QC_FAILED = "qc_failed"
    GROUPED = "grouped"
    PRICED = "priced"
    UNDER_REVIEW = "under_review"
    APPROVED = "approved"
    RETURNED = "returned"
    ADJUSTED = "adjusted"
    SPECIAL_APPLIED = "special_applied"
    SPECIAL_APPROVED = "special_approved"
    SPECIAL_REJECTED = "special_rejected"
    APPEALED = "appealed"
    SPECIAL_APPEALED = "special_appealed"
    APPEAL_REJECTED = "appeal_rejected"
    CONFIRMED = "confirmed"
    PAID = "paid"
    CLOSED_OUT = "closed_out"
    WITHDRAWN = "withdrawn"


class Action(StrEnum):
    """Actions that move a settlement list."""

    QC_FAIL = "qc_fail"
    GROUP = "group"
    RESUBMIT = "resubmit"
    PRICE = "price"
    REGROUP = "regroup"
    SUBMIT_REVIEW = "submit_review"
    APPROVE = "approve"
    RETURN = "return"
    ADJUST = "adjust"
    REVERT_ADJUST = "revert_adjust"
    APPLY_SPECIAL = "apply_special"
    WITHDRAW_SPECIAL = "withdraw_special"
    APPROVE_SPECIAL = "approve_special"
    REJECT_SPECIAL = "reject_special"
    FILE_APPEAL = "file_appeal"
    UPHOLD_APPEAL = "uphold_appeal"
    REJECT_APPEAL = "reject_appeal"
    CONFIRM = "confirm"
    PAY = "pay"
    CLOSE_OUT = "close_out"
    WITHDRAW = "withdraw"


class Role(StrEnum):
    """Who acts."""

    SYSTEM = "system"
    HOSPITAL = "hospital"
    REVIEWER = "reviewer"
    EXPERT = "expert"
    BUREAU = "bureau"
    FINANCE = "finance"


STATE_LABELS: Final[dict[State, str]] = {
    State.INTAKE: "已接收",
    State.QC_FAILED: "质控未通过（挂起）",
    State.GROUPED: "已分组",
    State.PRICED: "已计价",
    State.UNDER_REVIEW: "审核中",
    State.APPROVED: "审核通过",
    State.RETURNED: "已退回医院",
    State.ADJUSTED: "已调整支付",
    State.SPECIAL_APPLIED: "特例单议申请中",
    State.SPECIAL_APPROVED: "特例单议通过",
    State.SPECIAL_REJECTED: "特例单议未通过",
    State.APPEALED: "申诉中",
    State.SPECIAL_APPEALED: "特例单议申诉中",
    State.APPEAL_REJECTED: "申诉驳回",
    State.CONFIRMED: "已确认结算",
    State.PAID: "已拨付",
    State.CLOSED_OUT: "已关闭（不予结算）",
    State.WITHDRAWN: "已撤回（医疗机构）",
}
ACTION_LABELS: Final[dict[Action, str]] = {
    Action.QC_FAIL: "质控不通过",
    Action.GROUP: "分组",
    Action.RESUBMIT: "修改后重新上传",
    Action.PRICE: "计价",
    Action.REGROUP: "重新分组",
    Action.SUBMIT_REVIEW: "提交审核",
    Action.APPROVE: "审核通过",
    Action.RETURN: "退回医院",
    Action.ADJUST: "调整支付",
    Action.REVERT_ADJUST: "撤销调整",
    Action.APPLY_SPECIAL: "申请特例单议",
    Action.WITHDRAW_SPECIAL: "撤回特例单议申请",
    Action.APPROVE_SPECIAL: "特例单议评审通过",
    Action.REJECT_SPECIAL: "特例单议评审不通过",
    Action.FILE_APPEAL: "提出申诉",
    Action.UPHOLD_APPEAL: "申诉成立",
    Action.REJECT_APPEAL: "驳回申诉",
    Action.CONFIRM: "确认结算",
    Action.PAY: "拨付",
    Action.CLOSE_OUT: "关闭清单（不予结算）",
    Action.WITHDRAW: "撤回清单",
}
ROLE_LABELS: Final[dict[Role, str]] = {
    Role.SYSTEM: "系统",
    Role.HOSPITAL: "医疗机构",
    Role.REVIEWER: "医保审核员",
    Role.EXPERT: "评审专家组",
    Role.BUREAU: "医保经办机构",
    Role.FINANCE: "财务",
}


@dataclass(frozen=True, slots=True)
class Transition:
    """One allowed move: ``source`` --``action``--> ``target`` by any of ``roles``;
    ``needs_reason``: the caller must give a reason (退回、扣减、驳回、申诉)."""

    source: State
    action: Action
    target: State
    roles: frozenset[Role]
    needs_reason: bool = False

    @property
    def label(self) -> str:
        """``审核中 —审核通过→ 审核通过``."""
        source, target = STATE_LABELS[self.source], STATE_LABELS[self.target]
        return f"{source} —{ACTION_LABELS[self.action]}→ {target}"


def _t(
    source: State, action: Action, target: State, *roles: Role, reason: bool = False
) -> Transition:
    return Transition(source, action, target, frozenset(roles), reason)


S, A, R = State, Action, Role
_CONFIRMABLE: Final = (
    S.APPROVED,
    S.ADJUSTED,
    S.APPEAL_REJECTED,
    S.SPECIAL_APPROVED,
    S.SPECIAL_REJECTED,
)
TRANSITIONS: Final[tuple[Transition, ...]] = (
    _t(S.INTAKE, A.QC_FAIL, S.QC_FAILED, R.SYSTEM, R.REVIEWER, reason=True),
    _t(S.INTAKE, A.GROUP, S.GROUPED, R.SYSTEM),
    # the hospital sends a new version of a list (same settlement id) before review
    # starts, after QC held it, after the reviewer returned it, or after withdrawing it
    *(
        _t(s, A.RESUBMIT, S.INTAKE, R.HOSPITAL)
        for s in (S.INTAKE, S.QC_FAILED, S.GROUPED, S.PRICED, S.RETURNED, S.WITHDRAWN)
    ),
    _t(S.GROUPED, A.PRICE, S.PRICED, R.SYSTEM),
    _t(S.PRICED, A.REGROUP, S.GROUPED, R.SYSTEM, R.REVIEWER),
    _t(S.PRICED, A.SUBMIT_REVIEW, S.UNDER_REVIEW, R.SYSTEM, R.REVIEWER),
    _t(S.PRICED, A.APPLY_SPECIAL, S.SPECIAL_APPLIED, R.HOSPITAL),
    _t(S.UNDER_REVIEW, A.APPROVE, S.APPROVED, R.REVIEWER),
    _t(S.UNDER_REVIEW, A.RETURN, S.RETURNED, R.REVIEWER, reason=True),
    _t(S.UNDER_REVIEW, A.ADJUST, S.ADJUSTED, R.REVIEWER, reason=True),
    _t(S.UNDER_REVIEW, A.APPLY_SPECIAL, S.SPECIAL_APPLIED, R.HOSPITAL),
    _t(S.APPROVED, A.APPLY_SPECIAL, S.SPECIAL_APPLIED, R.HOSPITAL),
    _t(S.ADJUSTED, A.FILE_APPEAL, S.APPEALED, R.HOSPITAL, reason=True),
    _t(S.ADJUSTED, A.REVERT_ADJUST, S.UNDER_REVIEW, R.REVIEWER, reason=True),
    _t(S.APPEAL_REJECTED, A.REVERT_ADJUST, S.UNDER_REVIEW, R.REVIEWER, reason=True),
    _t(S.APPEALED, A.UPHOLD_APPEAL, S.APPROVED, R.REVIEWER, R.BUREAU),
    _t(S.APPEALED, A.REJECT_APPEAL, S.APPEAL_REJECTED, R.REVIEWER, R.BUREAU, reason=True),
    _t(S.SPECIAL_APPLIED, A.WITHDRAW_SPECIAL, S.PRICED, R.HOSPITAL),
    _t(S.SPECIAL_APPLIED, A.APPROVE_SPECIAL, S.SPECIAL_APPROVED, R.EXPERT),
    _t(S.SPECIAL_APPLIED, A.REJECT_SPECIAL, S.SPECIAL_REJECTED, R.EXPERT, reason=True),
    _t(S.SPECIAL_REJECTED, A.FILE_APPEAL, S.SPECIAL_APPEALED, R.HOSPITAL, reason=True),
    _t(S.SPECIAL_APPEALED, A.UPHOLD_APPEAL, S.SPECIAL_APPROVED, R.EXPERT, R.BUREAU),
    _t(
        S.SPECIAL_APPEALED,
        A.REJECT_APPEAL,
        S.APPEAL_REJECTED,
        R.EXPERT,
        R.BUREAU,
        reason=True,
    ),
    *(_t(s, A.CONFIRM, S.CONFIRMED, R.BUREAU, R.SYSTEM) for s in _CONFIRMABLE),
    _t(S.CONFIRMED, A.PAY, S.PAID, R.FINANCE, R.BUREAU),
    # closing a period: the lists still open in it are closed out with a reason
    *(
        _t(s, A.CLOSE_OUT, S.CLOSED_OUT, R.BUREAU, reason=True)
        for s in (S.QC_FAILED, S.PRICED, S.UNDER_REVIEW, S.RETURNED)
    ),
    # the hospital withdraws a list before review (a duplicate, sent by mistake) …
    *(
        _t(s, A.WITHDRAW, S.WITHDRAWN, R.HOSPITAL, reason=True)
        for s in (S.QC_FAILED, S.GROUPED, S.PRICED, S.RETURNED)
    ),
    # … and may send it again later (RESUBMIT above)
)
TERMINAL_STATES: Final[frozenset[State]] = frozenset(
    s for s in State if not any(t.source == s for t in TRANSITIONS)
)
_INDEX: Final[dict[tuple[State, Action], Transition]] = {
    (t.source, t.action): t for t in TRANSITIONS
}


def _named(value: State | Action | Role) -> str:
    if isinstance(value, State):
        label = STATE_LABELS[value]
    elif isinstance(value, Action):
        label = ACTION_LABELS[value]
    else:
        label = ROLE_LABELS[value]
    return f"「{label}」"  # the code is in the error's state / action / role fields


def _parse(kind: type[_E], value: _E | str, what: str) -> _E:
    try:
        return kind(value)
    except ValueError:
        allowed = "、".join(m.value for m in kind)
        raise SettlementError(
            f"{what}：不认识的取值 {value!r}（可选：{allowed}）", field=what
        ) from None


def allowed_actions(state: State | str, role: Role | str | None = None) -> tuple[Transition, ...]:
    """Transitions out of ``state`` (only those ``role`` may take, when given)."""
    current = _parse(State, state, "state")
    who = None if role is None else _parse(Role, role, "role")
    return tuple(t for t in TRANSITIONS if t.source == current and (who is None or who in t.roles))


def transition(
    state: State | str, action: Action | str, role: Role | str, *, reason: str | None = None
) -> State:
    """The state after ``role`` takes ``action`` in ``state``.

    Raises :class:`IllegalTransition` (HTTP 409) naming the state, the action and what
    is allowed when the move is not in the table, the role may not take it, or a
    required reason is missing; unknown names raise :class:`SettlementError`.

    >>> transition("under_review", "approve", "reviewer")
    <State.APPROVED: 'approved'>
    """
    current = _parse(State, state, "state")
    act = _parse(Action, action, "action")
    who = _parse(Role, role, "role")
    found = _INDEX.get((current, act))
    if found is None:
        options = allowed_actions(current)
        mine = allowed_actions(current, who)
        if mine:
            allowed = "、".join(f"{_named(t.action)}" for t in mine)
            hint = f"该状态下可执行的操作：{allowed}"
        elif options:
            hint = "该状态下本角色没有可执行的操作，待对方处理"
        else:
            hint = "该状态为终态，不允许任何操作"
        raise IllegalTransition(
            f"结算清单当前状态为{_named(current)}，不能执行{_named(act)}；{hint}",
            state=current.value,
            action=act.value,
            role=who.value,
        )
    if who not in found.roles:
        roles = "、".join(_named(r) for r in sorted(found.roles))
        raise IllegalTransition(
            f"角色{_named(who)}不能在状态{_named(current)}执行{_named(act)}；允许的角色：{roles}",
            state=current.value,
            action=act.value,
            role=who.value,
        )
    if found.needs_reason and not (reason and reason.strip()):
        raise IllegalTransition(
            f"在状态{_named(current)}执行{_named(act)}必须填写原因（reason）",
            state=current.value,
            action=act.value,
            role=who.value,
        )
    return found.target
