"""Shapes of settlement review: the queue's filter, a bulk decision's result, periods.

:class:`ReviewFilter` (the review queue's filters), :class:`BulkResult` (one list's
outcome in a bulk approval, at most :data:`MAX_BULK` lists at once) and
:func:`parse_period`, which turns a ``YYYY-MM`` period code into its first and last
day for every settlement module.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date

from yibao.engines.settlement import State
from yibao.kit.errors import ValidationFailed
from yibao.settlement.review.states import QUEUE_STATES

MAX_BULK = 5_000


def parse_period(code: str, *, field_name: str = "period") -> tuple[date, date]:
    """``YYYY-MM`` → first and last day of the month (422 in Chinese otherwise)."""
    text = (code or "").strip()
    try:
        year, month = text.split("-")
        if len(year) != 4 or len(month) != 2 or not (year + month).isdigit():
            raise ValueError
        if not 1900 <= int(year) <= 2999:
            raise ValueError
        start = date(int(year), int(month), 1)
    except ValueError:
        raise ValidationFailed(
            f"结算期间 {field_name} 应为 YYYY-MM 格式的年月（1900–2999 年，收到 {code[:20]!r}）",
            field=field_name,
        ) from None
    nxt = date(start.year + start.month // 12, start.month % 12 + 1, 1)
    return start, date.fromordinal(nxt.toordinal() - 1)


@dataclass(frozen=True)
class ReviewFilter:
    """Filters of the review queue; ``states`` empty means :data:`QUEUE_STATES`,
    ``("all",)`` every state.  ``period`` is ``YYYY-MM`` of the discharge date."""

    hospital: str | None = None
    drg: str | None = None
    payment_class: str | None = None
    states: tuple[str, ...] = ()
    has_warnings: bool | None = None
    period: str | None = None
    #: a settlement id, or its beginning (at least 4 characters)
    setl_id: str | None = None

    def effective_states(self) -> tuple[str, ...] | None:
        if not self.states:
            return QUEUE_STATES
        if "all" in self.states:
            return None
        for s in self.states:
            if s not in {m.value for m in State}:
                allowed = "、".join(m.value for m in State)
                raise ValidationFailed(
                    f"状态 state：不认识的取值 {s!r}（可选：all、{allowed}）", field="state"
                )
        return self.states


@dataclass
class BulkResult:
    id: int
    ok: bool
    setl_id: str | None = None
    state_before: str | None = None
    state: str | None = None
    message: str | None = None
    steps: list[str] = field(default_factory=list)
