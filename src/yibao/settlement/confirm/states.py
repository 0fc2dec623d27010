"""Pure rules of period confirmation and closing: which states confirm, close, are done.

The states from which the machine allows ``confirm`` (:data:`CONFIRMABLE`) and
``close_out`` (:data:`CLOSABLE`), the states that settle a period (:data:`FINAL`,
:data:`DONE`), the ways to close a period with open lists, the role a confirmation
runs as, the key of a period's running batch and the period after a period.
Nothing here reads or writes the database.
"""

from __future__ import annotations

from yibao.audit.service import Actor
from yibao.engines.settlement import TRANSITIONS, Action, Role, State
from yibao.settlement.review import parse_period

#: States from which the machine allows ``confirm``.
CONFIRMABLE: frozenset[str] = frozenset(
    t.source.value for t in TRANSITIONS if t.action == Action.CONFIRM
)
#: A period closes when every list discharged in it is in one of these.
FINAL: frozenset[str] = frozenset({State.CONFIRMED.value, State.PAID.value})
#: nothing more to do for the period: settled, or closed out when the period closed
DONE: frozenset[str] = FINAL | {State.CLOSED_OUT.value, State.WITHDRAWN.value}


CLOSE_WAYS = {"carry": "结转到下一期间", "close_out": "关闭（不予结算）"}
#: states whose lists may be closed out with their period (the machine's close_out)
CLOSABLE: frozenset[str] = frozenset(
    t.source.value for t in TRANSITIONS if t.action == Action.CLOSE_OUT
)


def confirm_role(actor: Actor) -> Role:
    """The bureau confirms; a run without a user (CLI, recovery) is the system."""
    return Role.BUREAU if actor.user_id is not None else Role.SYSTEM


def running_key(region_code: str, period_code: str) -> str:
    return f"{region_code}:{period_code}"


def next_period(code: str) -> str:
    start, _ = parse_period(code)
    return f"{start.year + start.month // 12:04d}-{start.month % 12 + 1:02d}"
