"""Read-only queries behind a hospital's home page (医院首页).

A hospital's own figures (the session is scoped to it): the lists it must act on,
what waits for the bureau's review, the amount approved and not yet confirmed, its
last confirmed month, and its deadlines (special-case applications, open appeals).
Its CMI is the decision analysis' (:func:`yibao.analysis.service.hospital_cmi`, ADR
0037): one figure for a hospital-year on every page.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from yibao.engines.settlement import State
from yibao.settlement import special
from yibao.settlement.models import (
    CasePricing,
    SettlementConfirmation,
    SettlementList,
    SettlementListEvent,
)
from yibao.settlement.review import state_label
from yibao.settlement.views.special_cases import APPEAL_SOURCES, special_window

#: list states waiting for the bureau's review, and approved ones not yet confirmed
WAITING_STATES = (State.PRICED.value, State.UNDER_REVIEW.value)
TO_CONFIRM_STATES = (State.APPROVED.value, State.ADJUSTED.value, State.SPECIAL_APPROVED.value)


def hospital_home(
    session: Session,
    *,
    today: date,
    rules: special.SpecialRules,
) -> dict[str, Any]:
    """A hospital's own figures for its home page (the session is scoped to it): lists
    it must act on, what waits for the bureau, the amount approved and not yet
    confirmed, its last confirmed month, and the deadlines (special-case applications,
    appeals)."""
    by_state = dict(
        session.execute(
            select(SettlementList.state, func.count()).group_by(SettlementList.state)
        ).all()
    )
    to_confirm = session.execute(
        select(func.count(), func.coalesce(func.sum(CasePricing.drg_payment), 0))
        .select_from(SettlementList)
        .join(CasePricing, CasePricing.case_id == SettlementList.case_id)
        .where(SettlementList.state.in_(TO_CONFIRM_STATES))
    ).one()
    last_period = session.scalar(select(func.max(SettlementConfirmation.period_code)))
    last = None
    if last_period is not None:
        paid, fund, n = session.execute(
            select(
                func.sum(SettlementConfirmation.amount_paid),
                func.sum(SettlementConfirmation.fund_amount),
                func.count(),
            ).where(SettlementConfirmation.period_code == last_period)
        ).one()
        last = {"period": last_period, "amount_paid": paid, "fund_amount": fund, "lists": n}
    earliest, _ = special_window(today, rules)
    appeals = (
        open_appeals(session, today=today, rules=rules)
        if any(by_state.get(s) for s in APPEAL_SOURCES)
        else []
    )
    return {
        "qc_failed": by_state.get(State.QC_FAILED.value, 0),
        "returned": by_state.get(State.RETURNED.value, 0),
        "waiting": sum(by_state.get(s, 0) for s in WAITING_STATES),
        "to_confirm": int(to_confirm[0]),
        "to_confirm_amount": to_confirm[1],
        "last": last,
        "special_deadline": special.month_end(earliest, rules.window_months),
        "special_earliest": earliest,
        "appeals": appeals,
    }


def open_appeals(
    session: Session, *, today: date, rules: special.SpecialRules, limit: int = 5
) -> list[dict[str, Any]]:
    """The hospital's decisions it may still appeal, nearest deadline first (one query:
    only decisions of the last ``appeal_days`` can still be open)."""
    since = datetime.combine(today - timedelta(days=rules.appeal_days + 1), time.min, UTC)
    decided = func.max(SettlementListEvent.created_at)
    rows = session.execute(
        select(SettlementList.id, SettlementList.setl_id, SettlementList.state, decided)
        .join(
            SettlementListEvent,
            (SettlementListEvent.list_id == SettlementList.id)
            & (SettlementListEvent.to_state == SettlementList.state),
        )
        .where(
            SettlementList.state.in_(sorted(APPEAL_SOURCES)),
            SettlementListEvent.created_at >= since,
        )
        .group_by(SettlementList.id, SettlementList.setl_id, SettlementList.state)
    ).all()
    out: list[dict[str, Any]] = []
    for list_id, setl_id, state, at in rows:
        deadline = special.appeal_deadline(at, rules)
        if deadline >= today:
            out.append(
                {
                    "id": list_id,
                    "setl_id": setl_id,
                    "state_label": state_label(state),
                    "deadline": deadline,
                    "days_left": (deadline - today).days,
                }
            )
    return sorted(out, key=lambda a: a["deadline"])[:limit]
