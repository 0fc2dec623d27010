"""Read-only queries behind the settlement pages (审核、结算确认、特例单议、结算单).

Nothing here changes a row: every decision goes through the services
(:mod:`~yibao.settlement.review`, :mod:`~yibao.settlement.special`,
:mod:`~yibao.settlement.tasks`).  The figures come from the same pieces the services
use — the state machine's transition table for what a list may do next, the special
case quota engine for the quota, :func:`~yibao.settlement.confirm.pending_report`
for the lists a confirmation would leave — so that a page shows what the service
would decide.  All queries run in the session's data scope.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

import polars as pl
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from yibao.cases.models import Case
from yibao.engines.settlement import TRANSITIONS, Action, Role, State
from yibao.engines.settlement.quota import special_case_quota
from yibao.kit.cache import TTLCache
from yibao.kit.money import ratio_text
from yibao.kit.paging import Page
from yibao.regions.models import Hospital, region_prefix
from yibao.settlement import special
from yibao.settlement.confirm import (
    CONFIRMABLE,
    DONE,
    batch_summary,
    in_period,
    pending_report,
    remaining_count,
)
from yibao.settlement.models import (
    CasePricing,
    SettlementConfirmation,
    SettlementConfirmBatch,
    SettlementList,
    SettlementListEvent,
    SettlementPeriod,
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
STATE_ORDER = {s.value: i for i, s in enumerate(State)}
MAX_LISTED = 200


def month_code(day: date) -> str:
    return day.strftime("%Y-%m")


def months_back(day: date, months: int) -> date:
    """The first day of the month ``months`` months before ``day``'s month."""
    index = day.year * 12 + day.month - 1 - months
    return date(index // 12, index % 12 + 1, 1)


# --------------------------------------------------------------------------- periods


def latest_period(session: Session, *, confirmed: bool = False) -> str | None:
    """``YYYY-MM`` of the latest discharge among the lists in scope (or of the latest
    confirmation with ``confirmed``); None when there is none."""
    if confirmed:
        return session.scalar(select(func.max(SettlementConfirmation.period_code)))
    # the month each list says it was discharged in (held lists too), by its index
    latest: str | None = session.scalar(select(func.max(SettlementList.discharge_month)))
    return latest


def confirmed_periods(session: Session, limit: int = 24) -> list[str]:
    """The latest ``YYYY-MM`` periods with confirmed lists in scope, newest first."""
    return list(
        session.scalars(
            select(SettlementConfirmation.period_code)
            .distinct()
            .order_by(SettlementConfirmation.period_code.desc())
            .limit(limit)
        )
    )


def period_labels(session: Session, periods: Iterable[SettlementPeriod]) -> dict[int, str]:
    """The state a person reads for each period: 未结算; 已确认，N 份待处理 (confirmed,
    with held or returned lists still open: close it by carrying or closing them out);
    已关闭 with what was carried or closed out."""
    rows = list(periods)
    done: dict[int, int] = {}
    for period_id, pending in session.execute(
        select(SettlementConfirmBatch.period_id, SettlementConfirmBatch.pending)
        .where(
            SettlementConfirmBatch.period_id.in_([p.id for p in rows] or [-1]),
            SettlementConfirmBatch.status == "done",
        )
        .order_by(SettlementConfirmBatch.id)
    ):
        done[period_id] = int((pending or {}).get("total") or 0)
    out = {}
    for p in rows:
        if p.status == "closed":
            parts = [f"结转 {p.carried} 份"] if p.carried else []
            parts += [f"关闭 {p.closed_out} 份"] if p.closed_out else []
            out[p.id] = "已结算" + (f"（{'，'.join(parts)}）" if parts else "")
        elif p.id in done:
            left = done[p.id]
            out[p.id] = f"已确认，{left} 份待处理（可结转或关闭）" if left else "已确认"
        else:
            out[p.id] = "未结算"
    return out


def period_overview(session: Session, region_code: str, period: str) -> dict[str, Any]:
    """Counts by state of the period's lists (discharged in the month, hospitals in the
    region's subtree; held lists by the discharge time of their message), the lists
    still to confirm, the lists not yet final (``pending``, as a finished confirmation
    reports them) and how many of those a confirmation would leave (``blocked``)."""
    start, end = parse_period(period)
    final = session.execute(
        select(SettlementList.state, func.count())
        .join(Case, Case.id == SettlementList.case_id)
        .where(
            SettlementList.region_code.startswith(region_prefix(region_code)),
            SettlementList.state.in_(sorted(DONE)),
            in_period(start, end),
        )
        .group_by(SettlementList.state)
    ).all()
    # the report a finished confirmation stores, computed now (a batch that is never saved)
    probe = SettlementConfirmBatch(region_code=region_code, period_code=period)
    pending = pending_report(session, probe)
    counts = {**pending["by_state"], **{state: int(n) for state, n in final}}
    ordered = sorted(counts.items(), key=lambda kv: STATE_ORDER.get(kv[0], 99))
    to_confirm = remaining_count(session, region_code, period)
    return {
        "counts": [(s, state_label(s), n) for s, n in ordered],
        "total": sum(counts.values()),
        "to_confirm": to_confirm,
        "pending": pending,
        # not final and not confirmable: under review, returned, held, special case …
        "blocked": pending["total"] - to_confirm,
        "confirmable": CONFIRMABLE,
    }


# --------------------------------------------------------------------------- special cases


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
            }
        )
    return Page(items, int(total), page, size)


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


# --------------------------------------------------------------------------- clearing


def clearing_hospitals(session: Session, region_code: str, year: int) -> list[tuple[str, str]]:
    """(code, name) of the hospitals with confirmed lists in ``year`` (the ones the
    year-end clearing needs an assessment score for)."""
    periods = [f"{year:04d}-{m:02d}" for m in range(1, 13)]
    codes = list(
        session.scalars(
            select(SettlementConfirmation.hospital_code)
            .distinct()
            .where(
                SettlementConfirmation.region_code.startswith(region_prefix(region_code)),
                SettlementConfirmation.period_code.in_(periods),
            )
        )
    )
    names = dict(
        session.execute(select(Hospital.code, Hospital.name).where(Hospital.code.in_(codes))).all()
    )
    return sorted((c, names.get(c, c)) for c in codes)


def hospital_names(session: Session, codes: list[str]) -> dict[str, str]:
    if not codes:
        return {}
    return dict(
        session.execute(select(Hospital.code, Hospital.name).where(Hospital.code.in_(codes))).all()
    )


# --------------------------------------------------------------------------- hospital home


#: list states waiting for the bureau's review, and approved ones not yet confirmed
WAITING_STATES = (State.PRICED.value, State.UNDER_REVIEW.value)
TO_CONFIRM_STATES = (State.APPROVED.value, State.ADJUSTED.value, State.SPECIAL_APPROVED.value)


#: a hospital's CMI (a scan of its priced cases of the year)
_CMI: TTLCache[tuple[int | None, float | None, int]] = TTLCache()


def _hospital_cmi(session: Session, hospital: Hospital) -> tuple[int | None, float | None, int]:
    """(year, CMI, cases): the mean relative weight of the standards the hospital's
    cases of its latest discharge year were priced with."""
    from yibao.measurement.models import PaymentStandardItem

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


# --------------------------------------------------------------------------- periods


def period_list(db: Session, code: str, year: int | None = None) -> dict[str, Any]:
    """The region's settlement periods (newest first, at most 240) and their status."""
    stmt = select(SettlementPeriod).where(SettlementPeriod.region_code == code)
    if year:
        stmt = stmt.where(SettlementPeriod.code.startswith(f"{year:04d}-"))
    rows = list(db.scalars(stmt.order_by(SettlementPeriod.code.desc()).limit(240)))
    labels = period_labels(db, rows)
    return {
        "items": [
            {
                "id": p.id,
                "region": p.region_code,
                "period": p.code,
                "start_date": p.start_date.isoformat(),
                "end_date": p.end_date.isoformat(),
                "status": p.status,
                "status_label": labels[p.id],
            }
            for p in rows
        ]
    }


def period_batches(db: Session, region: str, period: str) -> list[SettlementConfirmBatch]:
    return list(
        db.scalars(
            select(SettlementConfirmBatch)
            .where(
                SettlementConfirmBatch.region_code == region,
                SettlementConfirmBatch.period_code == period,
            )
            .order_by(SettlementConfirmBatch.id)
        )
    )


def period_summary(db: Session, code: str, period: str) -> dict[str, Any]:
    """A period of a region: status, closing, confirmation batches and totals, lists
    still to confirm."""
    parse_period(period)
    row = db.scalar(
        select(SettlementPeriod).where(
            SettlementPeriod.region_code == code, SettlementPeriod.code == period
        )
    )
    batches = period_batches(db, code, period)
    totals = db.execute(
        select(
            func.count(SettlementConfirmation.id),
            func.sum(SettlementConfirmation.amount_paid),
            func.sum(SettlementConfirmation.fund_amount),
        ).where(SettlementConfirmation.batch_id.in_([b.id for b in batches] or [-1]))
    ).one()
    return {
        "region": code,
        "period": period,
        "status": row.status if row else "open",
        "status_label": period_labels(db, [row])[row.id] if row else "未结算",
        "closed": None
        if row is None or row.status != "closed"
        else {
            "at": row.closed_at.isoformat() if row.closed_at else None,
            "by": row.closed_by,
            "reason": row.closed_reason,
            "carried": row.carried,
            "closed_out": row.closed_out,
        },
        "confirmed": int(totals[0] or 0),
        "amount_paid": f"{totals[1] or 0:.2f}",
        "fund_amount": f"{totals[2] or 0:.2f}",
        "batches": [batch_summary(db, b) for b in batches],
        "to_confirm": remaining_count(db, code, period),
    }
