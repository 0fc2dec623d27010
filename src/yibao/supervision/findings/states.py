"""The state machine of a finding (疑点处理流程, ADR 0024).

::

    待公示 new ──publish (bureau)──► 已公示 published ──accept (hospital)──► 已维持 upheld
       │                               │  └─expire (system, deadline passed)─► 已维持 upheld
       └─drop (bureau)──► 已撤销        └─appeal (hospital)──► 已申诉 answered
                                                                │
          answered ──first_uphold (bureau)──► 初审维持 first_upheld
          answered ──first_dismiss (bureau)─► 已撤销 dismissed
          first_upheld ──accept_first (hospital) / expire (system)──► 已维持 upheld
          first_upheld ──request_second (hospital, once)──► 复审中 second_review
          second_review ──second_uphold (bureau)──► 已维持 upheld
          second_review ──second_dismiss (bureau)─► 已撤销 dismissed
          upheld ──deduct (system, amount > 0)──► 已扣款 deducted
          upheld ──cover (system, the fee lines already deducted)──► 已维持（同一明细已扣款）covered

``upheld``, ``dismissed``, ``deducted`` and ``covered`` are final; a final upheld amount
above zero is deducted in the same transaction (the state ``upheld`` stays only for an
amount of zero).  When earlier findings already deducted every fee line of the finding
up to the line's cap (ADR 0041), nothing is left to deduct: the finding is ``covered``,
its decided amount kept, no deduction row written.  A 复审 can be asked once:
``second_review`` never leads back to ``first_upheld``.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Final

from yibao.kit.errors import Conflict


class State(StrEnum):
    NEW = "new"
    PUBLISHED = "published"
    ANSWERED = "answered"
    FIRST_UPHELD = "first_upheld"
    SECOND_REVIEW = "second_review"
    UPHELD = "upheld"
    DISMISSED = "dismissed"
    DEDUCTED = "deducted"
    COVERED = "covered"


class Action(StrEnum):
    PUBLISH = "publish"
    DROP = "drop"
    ACCEPT = "accept"
    APPEAL = "appeal"
    EXPIRE = "expire"
    FIRST_UPHOLD = "first_uphold"
    FIRST_DISMISS = "first_dismiss"
    ACCEPT_FIRST = "accept_first"
    REQUEST_SECOND = "request_second"
    SECOND_UPHOLD = "second_uphold"
    SECOND_DISMISS = "second_dismiss"
    DEDUCT = "deduct"
    COVER = "cover"


class Side(StrEnum):
    BUREAU = "bureau"
    HOSPITAL = "hospital"
    SYSTEM = "system"


STATE_LABELS: Final[dict[str, str]] = {
    State.NEW: "待公示",
    State.PUBLISHED: "已公示（待医院答复）",
    State.ANSWERED: "已申诉（待初审）",
    State.FIRST_UPHELD: "初审维持（可申请复审）",
    State.SECOND_REVIEW: "复审中",
    State.UPHELD: "已维持",
    State.DISMISSED: "已撤销",
    State.DEDUCTED: "已扣款",
    State.COVERED: "已维持（同一明细已扣款）",
}
ACTION_LABELS: Final[dict[str, str]] = {
    Action.PUBLISH: "公示",
    Action.DROP: "不予公示（撤销）",
    Action.ACCEPT: "医院认可",
    Action.APPEAL: "医院申诉/答复",
    Action.EXPIRE: "逾期未答复，按原金额维持",
    Action.FIRST_UPHOLD: "初审维持",
    Action.FIRST_DISMISS: "初审撤销",
    Action.ACCEPT_FIRST: "医院认可初审",
    Action.REQUEST_SECOND: "医院申请复审",
    Action.SECOND_UPHOLD: "复审维持",
    Action.SECOND_DISMISS: "复审撤销",
    Action.DEDUCT: "计入月度结算单扣款",
    Action.COVER: "同一明细已扣款，本疑点不再扣款",
}
SIDE_LABELS: Final[dict[str, str]] = {
    Side.BUREAU: "医保局审核人员",
    Side.HOSPITAL: "医疗机构",
    Side.SYSTEM: "系统",
}
FINAL: Final = frozenset({State.UPHELD, State.DISMISSED, State.DEDUCTED, State.COVERED})
#: the findings the figures count — decision analysis (机构月度, 年度趋势) and 地图定位,
#: for a bureau and a hospital alike: published (公示) or later, not dismissed.  A
#: 待公示 finding is the bureau's candidate, not yet reviewed nor shown to the hospital
#: (ADR 0033 and 0037 amendments).
COUNTED: Final = frozenset(State) - {State.NEW, State.DISMISSED}


@dataclass(frozen=True, slots=True)
class Transition:
    source: State
    action: Action
    target: State
    side: Side


TRANSITIONS: Final[tuple[Transition, ...]] = (
    Transition(State.NEW, Action.PUBLISH, State.PUBLISHED, Side.BUREAU),
    Transition(State.NEW, Action.DROP, State.DISMISSED, Side.BUREAU),
    Transition(State.NEW, Action.DROP, State.DISMISSED, Side.SYSTEM),
    Transition(State.PUBLISHED, Action.ACCEPT, State.UPHELD, Side.HOSPITAL),
    Transition(State.PUBLISHED, Action.APPEAL, State.ANSWERED, Side.HOSPITAL),
    Transition(State.PUBLISHED, Action.EXPIRE, State.UPHELD, Side.SYSTEM),
    Transition(State.ANSWERED, Action.FIRST_UPHOLD, State.FIRST_UPHELD, Side.BUREAU),
    Transition(State.ANSWERED, Action.FIRST_DISMISS, State.DISMISSED, Side.BUREAU),
    Transition(State.FIRST_UPHELD, Action.ACCEPT_FIRST, State.UPHELD, Side.HOSPITAL),
    Transition(State.FIRST_UPHELD, Action.REQUEST_SECOND, State.SECOND_REVIEW, Side.HOSPITAL),
    Transition(State.FIRST_UPHELD, Action.EXPIRE, State.UPHELD, Side.SYSTEM),
    Transition(State.SECOND_REVIEW, Action.SECOND_UPHOLD, State.UPHELD, Side.BUREAU),
    Transition(State.SECOND_REVIEW, Action.SECOND_DISMISS, State.DISMISSED, Side.BUREAU),
    Transition(State.UPHELD, Action.DEDUCT, State.DEDUCTED, Side.SYSTEM),
    Transition(State.UPHELD, Action.COVER, State.COVERED, Side.SYSTEM),
)
_TABLE: Final = {(t.source, t.action, t.side): t.target for t in TRANSITIONS}


class InvalidTransition(Conflict):
    code = "invalid_transition"


def label(state: str) -> str:
    return STATE_LABELS.get(state, state)


def allowed(state: str, side: Side) -> list[Action]:
    """The actions ``side`` may take on a finding in ``state`` (in table order)."""
    return [t.action for t in TRANSITIONS if t.source == state and t.side == side]


def transition(state: str, action: Action, side: Side) -> State:
    """The state after ``action`` by ``side``; a step the machine does not allow raises
    :class:`InvalidTransition` (409) in Chinese naming the state and what is allowed."""
    target = _TABLE.get((State(state), action, side))
    if target is not None:
        return target
    allowed_here = [ACTION_LABELS[a] for a in allowed(state, side)]
    hint = "、".join(allowed_here) if allowed_here else "无"
    raise InvalidTransition(
        f"疑点当前状态为「{label(state)}」，{SIDE_LABELS[side]}不能执行「{ACTION_LABELS[action]}」"
        f"（此状态下可执行：{hint}）",
        field="action",
    )
