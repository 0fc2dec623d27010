"""Errors of the measurement engine: Chinese first, naming the field and the rule."""

from __future__ import annotations

from collections.abc import Sequence

from yibao.kit.errors import DomainError


class MeasureError(DomainError, ValueError):
    """Bad parameters or input frames for a measurement step.

    ``message`` reads Chinese first and names the field and the broken rule, e.g.
    ``TrimParams.iqr_lower_k：必须大于或等于 0（收到 -1）``; ``problems`` lists every
    problem found when several were collected at once.
    """

    code = "measure_invalid"
    http_status = 422

    def __init__(
        self, message: str, *, field: str | None = None, problems: Sequence[str] = ()
    ) -> None:
        super().__init__(message, field=field)
        self.problems: tuple[str, ...] = tuple(problems) or (message,)
