"""Errors of the settlement engine: Chinese first, naming the field and the rule."""

from __future__ import annotations

from collections.abc import Sequence

from yibao.kit.errors import DomainError


class SettlementError(DomainError, ValueError):
    """Bad parameters, policies or input frames for a settlement step.

    ``message`` reads Chinese first and names the field and the broken rule, e.g.
    ``BenefitPolicy.levels.3.ratio：基金支付比例须在 0 到 1 之间（收到 1.2）``;
    ``problems`` lists every problem when several were collected at once.
    """

    code = "settlement_invalid"
    http_status = 422

    def __init__(
        self, message: str, *, field: str | None = None, problems: Sequence[str] = ()
    ) -> None:
        super().__init__(message, field=field)
        self.problems: tuple[str, ...] = tuple(problems) or (message,)


class IllegalTransition(DomainError):
    """A settlement-list state change that the transition table does not allow.

    The message names the current state, the action and what is allowed instead;
    ``state``, ``action`` and ``role`` keep the machine-readable values.
    """

    code = "settlement_illegal_transition"
    http_status = 409

    def __init__(self, message: str, *, state: str, action: str, role: str) -> None:
        super().__init__(message, field="action")
        self.state = state
        self.action = action
        self.role = role
