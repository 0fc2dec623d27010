"""Read-only queries behind the hospital's special-case and appeal pages (特例单议、申诉).

What a hospital may still do with its lists, figured as the services decide it: the
lists it may still apply for a special case for (state and application window), its
quota of a discharge month as :mod:`~yibao.settlement.special` admits applications,
the decisions it may appeal with their deadlines, and its returned lists with the
reviewer's reason.  All queries run in the session's data scope.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any

import polars as pl
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from yibao.cases.models import Case
from yibao.engines.settlement import TRANSITIONS, Action, Role, State
from yibao.engines.settlement.quota import special_case_quota
from yibao.kit.money import ratio_text
from yibao.kit.paging import Page
from yibao.settlement import special
from yibao.settlement.models import (
    CasePricing,
    SettlementList,
    SettlementListEvent,
    SpecialCaseApplication,
)
from yibao.settlement.review import latest_adjustments, parse_period, state_label

#: States from which a hospital may apply for a special case / file an appeal.
SPECIAL_SOURCES: frozenset[str] = frozenset(
    t.source.value
    for t in TRANSITIONS
    if t.action == Action.APPLY_SPECIAL and Role.HOSPITAL in t.roles
)
APPEAL_SOURCES: frozenset[str] = frozenset(
    t.source.value
    for t in TRANSITIONS
    if t.action == Action.FILE_APPEAL and Role.HOSPITAL in t.roles
)
MAX_LISTED = 200


def month_code(day: date) -> str:
    return day.strftime("%Y-%m")


def months_back(day: date, months: int) -> date:
    """The first day of the month ``months`` months before ``day``'s month."""
    index = day.year * 12 + day.month - 1 - months
    return date(index // 12, index % 12 + 1, 1)


def quota_status(
    session: Session, hospital_id: int, hospital_code: str, period: str
) -> dict[str, Any]:
    """A hospital's special-case quota of a discharge month as the service admits
    applications (:func:`special._admit`): DRG cases, slots, admitted so far."""
    start, end = parse_period(period)
    probe = SettlementList(hospital_id=hospital_id, hospital_code=hospital_code)  # never saved
    cases, earlier = special._quota_frames(session, probe, start, end)
    none = pl.DataFrame(schema={"setl_id": pl.String, "hospital_code": pl.String})
    quotas = special_case_quota(cases, none, special.QUOTA_PARAMS).quotas
    mine = quotas.filter(pl.col("hospital_code") == hospital_code)
    drg_cases = int(mine["drg_cases"][0]) if mine.height else 0
    quota = int(mine["quota"][0]) if mine.height else 0
    return {
        "period": period,
        "drg_cases": drg_cases,
        "rate": special.QUOTA_PARAMS.rate,
        "quota": quota,
        "used": len(earlier),
        "remaining": max(0, quota - len(earlier)),
    }


def special_window(today: date, rules: special.SpecialRules) -> tuple[date, list[str]]:
    """The earliest discharge date still open for an application and the months open."""
    earliest = months_back(today, rules.window_months)
    months = [month_code(months_back(today, n)) for n in range(rules.window_months, -1, -1)]
    return earliest, months


def special_candidates(
    session: Session, *, today: date, rules: special.SpecialRules, page: int, size: int
) -> Page[dict[str, Any]]:
    """The hospital's lists it may still apply for (state and window), newest first,
    with the figures the eligibility criteria use (cost ÷ standard, length of stay)."""
    earliest, _ = special_window(today, rules)
    stmt = (
        select(SettlementList, Case.discharge_date, Case.total_cost, Case.los_days, CasePricing)
        .join(Case, Case.id == SettlementList.case_id)
        .join(CasePricing, CasePricing.case_id == SettlementList.case_id)
        .where(
            SettlementList.state.in_(sorted(SPECIAL_SOURCES)),
            Case.discharge_date >= earliest,
            Case.discharge_date <= today,
        )
    )
    total = session.scalar(select(func.count()).select_from(stmt.subquery())) or 0
    rows = session.execute(
        stmt.order_by(Case.discharge_date.desc(), SettlementList.id.desc())
        .offset((page - 1) * size)
        .limit(size)
    ).all()
    applied = set(
        session.scalars(
            select(SpecialCaseApplication.list_id).where(
                SpecialCaseApplication.list_id.in_([r[0].id for r in rows] or [-1])
            )
        )
    )
    items = []
    for lst, discharge, total_cost, los, pricing in rows:
        standard = pricing.payment_standard
        items.append(
            {
                "id": lst.id,
                "setl_id": lst.setl_id,
                "state": lst.state,
                "state_label": state_label(lst.state),
                "discharge_date": discharge,
                "period": month_code(discharge),
                "deadline": special.month_end(discharge, rules.window_months),
                "drg": pricing.drg,
                "payment_class": pricing.payment_class,
                "total_cost": total_cost,
                "payment_standard": standard,
                "cost_ratio": (total_cost / standard) if standard else None,
                "cost_ratio_text": ratio_text(total_cost, standard) if standard else None,
                "los_days": los,
                "drg_payment": pricing.drg_payment,
                "applied_before": lst.id in applied,
                **_criteria(total_cost, standard, los),
            }
        )
    return Page(items, int(total), page, size)


def _criteria(cost: Decimal, standard: Decimal | None, los: int | None) -> dict[str, Any]:
    """Which of the eligibility criteria (special.QUOTA_PARAMS) a list meets by its
    figures; without either, only a new drug, device or technique makes it eligible."""
    p = special.QUOTA_PARAMS
    by_cost = bool(
        p.min_cost_multiple is not None and standard and cost >= p.min_cost_multiple * standard
    )
    by_los = bool(p.min_los_days is not None and los is not None and los >= p.min_los_days)
    note = None
    if not (by_cost or by_los):
        parts = []
        if p.min_cost_multiple is not None:
            parts.append(f"费用未达支付标准 {p.min_cost_multiple.normalize():f} 倍")
        if p.min_los_days is not None:
            parts.append(f"住院未达 {p.min_los_days} 天")
        note = "，".join(parts) + "：须使用新药品、新耗材或新技术方可申请"
    return {"meets_cost": by_cost, "meets_los": by_los, "criteria_note": note}


def _decision(session: Session, row: SettlementList) -> SettlementListEvent | None:
    """The event that put ``row`` in its current state (the decision a hospital reads
    and appeals), None when there is none."""
    try:
        return special._decision_event(session, row)
    except special.Refused:
        return None


def appeal_candidates(
    session: Session, *, today: date, rules: special.SpecialRules
) -> list[dict[str, Any]]:
    """The hospital's lists whose decision it may appeal (adjusted, special case
    rejected) with the decision, its reason and the deadline."""
    rows = list(
        session.scalars(
            select(SettlementList)
            .where(SettlementList.state.in_(sorted(APPEAL_SOURCES)))
            .order_by(SettlementList.id.desc())
            .limit(MAX_LISTED)
        )
    )
    adjustments = latest_adjustments(session, rows)
    out = []
    for row in rows:
        event = _decision(session, row)
        if event is None:  # no decision to appeal (the service would refuse)
            continue
        deadline = special.appeal_deadline(event.created_at, rules)
        adj = adjustments.get(row.id)
        out.append(
            {
                "id": row.id,
                "setl_id": row.setl_id,
                "state": row.state,
                "state_label": state_label(row.state),
                "decided_at": event.created_at,
                "reason": event.reason,
                "actor": event.actor_name,
                "original_payment": adj.original_payment if adj else None,
                "adjusted_payment": adj.adjusted_payment if adj else None,
                "deadline": deadline,
                "days_left": (deadline - today).days,
                "expired": today > deadline,
            }
        )
    return out


def returned_lists(session: Session) -> list[dict[str, Any]]:
    """The hospital's returned lists with the reviewer's reason (corrected and sent
    again, not appealed)."""
    rows = list(
        session.scalars(
            select(SettlementList)
            .where(SettlementList.state == State.RETURNED.value)
            .order_by(SettlementList.id.desc())
            .limit(MAX_LISTED)
        )
    )
    out = []
    for row in rows:
        event = _decision(session, row)
        out.append(
            {
                "id": row.id,
                "setl_id": row.setl_id,
                "decided_at": event.created_at if event else None,
                "reason": event.reason if event else None,
            }
        )
    return out
