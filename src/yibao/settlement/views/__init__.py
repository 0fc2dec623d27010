"""Read-only queries behind the settlement pages (审核、结算确认、特例单议、结算单).

Nothing here changes a row: every decision goes through the services
(:mod:`~yibao.settlement.review`, :mod:`~yibao.settlement.special`,
:mod:`~yibao.settlement.tasks`).  The figures come from the same pieces the services
use — the state machine's transition table for what a list may do next, the special
case quota engine for the quota, :func:`~yibao.settlement.confirm.pending_report`
for the lists a confirmation would leave — so that a page shows what the service
would decide.  All queries run in the session's data scope.  By page:
:mod:`~yibao.settlement.views.periods` (periods, confirmation, clearing),
:mod:`~yibao.settlement.views.special_cases` (special cases, appeals, returned
lists) and :mod:`~yibao.settlement.views.home` (a hospital's home page).
"""

from __future__ import annotations

from yibao.settlement.views.home import (
    TO_CONFIRM_STATES,
    WAITING_STATES,
    hospital_home,
    open_appeals,
)
from yibao.settlement.views.periods import (
    STATE_ORDER,
    clearing_hospitals,
    confirmed_periods,
    hospital_names,
    latest_period,
    period_batches,
    period_labels,
    period_list,
    period_overview,
    period_summary,
)
from yibao.settlement.views.special_cases import (
    APPEAL_SOURCES,
    MAX_LISTED,
    SPECIAL_SOURCES,
    appeal_candidates,
    month_code,
    months_back,
    quota_status,
    returned_lists,
    special_candidates,
    special_window,
)

__all__ = [
    "APPEAL_SOURCES",
    "MAX_LISTED",
    "SPECIAL_SOURCES",
    "STATE_ORDER",
    "TO_CONFIRM_STATES",
    "WAITING_STATES",
    "appeal_candidates",
    "clearing_hospitals",
    "confirmed_periods",
    "hospital_home",
    "hospital_names",
    "latest_period",
    "month_code",
    "months_back",
    "open_appeals",
    "period_batches",
    "period_labels",
    "period_list",
    "period_overview",
    "period_summary",
    "quota_status",
    "returned_lists",
    "special_candidates",
    "special_window",
]
