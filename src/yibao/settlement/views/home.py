"""Read-only queries behind a hospital's home page (医院首页).

A hospital's own figures (the session is scoped to it): the CMI of its priced cases
in its latest year (cached for a while: a scan), the lists it must act on, what waits
for the bureau's review, the amount approved and not yet confirmed, its last
confirmed month, and its deadlines (special-case applications, open appeals).
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from yibao.cases.models import Case
from yibao.engines.settlement import State
from yibao.kit.cache import TTLCache
from yibao.measurement.models import PaymentStandardItem
from yibao.regions.models import Hospital
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


#: a hospital's CMI (a scan of its priced cases of the year)
_CMI: TTLCache[tuple[int | None, float | None, int]] = TTLCache()


def _hospital_cmi(session: Session, hospital: Hospital) -> tuple[int | None, float | None, int]:
    """(year, CMI, cases): the mean relative weight of the standards the hospital's
    cases of its latest discharge year were priced with."""
    last = session.scalar(
        select(func.max(Case.discharge_date)).join(CasePricing, CasePricing.case_id == Case.id)
    )
    if last is None:
        return None, None, 0
    cmi, n = session.execute(
        select(func.avg(PaymentStandardItem.relative_weight), func.count())
        .select_from(CasePricing)
        .join(Case, Case.id == CasePricing.case_id)
        .join(
            PaymentStandardItem,
            (PaymentStandardItem.set_id == CasePricing.standard_set_id)
            & (PaymentStandardItem.drg == CasePricing.drg)
            & (PaymentStandardItem.hospital_level == hospital.level),
        )
        .where(Case.discharge_date >= date(last.year, 1, 1))
    ).one()
    return last.year, None if cmi is None else round(float(cmi), 4), int(n)


def hospital_home(
    session: Session,
    hospital: Hospital,
    *,
    today: date,
    rules: special.SpecialRules,
    cache_s: float = 0,
) -> dict[str, Any]:
    """A hospital's own figures for its home page (the session is scoped to it): CMI of
    its priced cases in its latest year (up to ``cache_s`` seconds old), lists it must
    act on, what waits for the bureau, the amount approved and not yet confirmed, its
    last confirmed month, and the deadlines (special-case applications, appeals)."""
    year, cmi, cmi_cases = _CMI.get(
        (hospital.id, hospital.level), cache_s, lambda: _hospital_cmi(session, hospital)
    )
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
        "year": year,
        "cmi": cmi,
        "cmi_cases": cmi_cases,
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
