"""Read-only queries behind the settlement period pages (结算确认) and year-end clearing.

A region's periods and what a person reads of each (未结算, 已确认 with the lists
still open, 已结算 with what was carried or closed out), a period's counts by state
with the lists a confirmation would leave (from
:func:`~yibao.settlement.confirm.pending_report`, so that the page shows what the
service would decide), its confirmation batches and totals, and the hospitals the
year-end clearing needs a score for.  All queries run in the session's data scope.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from yibao.cases.models import Case
from yibao.db.scoping import get_scope
from yibao.engines.settlement import State
from yibao.regions.models import Hospital, region_prefix
from yibao.settlement.confirm import (
    CONFIRMABLE,
    DONE,
    batch_summary,
    in_period,
    pending_report,
    remaining_count,
)
from yibao.settlement.models import (
    SettlementConfirmation,
    SettlementConfirmBatch,
    SettlementList,
    SettlementPeriod,
)
from yibao.settlement.review import parse_period, state_label

STATE_ORDER = {s.value: i for i, s in enumerate(State)}


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
    # a confirmation is the region's, not one hospital's: a hospital reads that its
    # period is confirmed (it was "未结算" to it), but not the region's open lists
    scope = get_scope(session)
    hospital_side = scope is not None and scope.hospital_id is not None
    for period_id, pending in session.execute(
        select(SettlementConfirmBatch.period_id, SettlementConfirmBatch.pending)
        .where(
            SettlementConfirmBatch.period_id.in_([p.id for p in rows] or [-1]),
            SettlementConfirmBatch.status == "done",
        )
        .order_by(SettlementConfirmBatch.id)
        .execution_options(skip_scope=True)
    ):
        done[period_id] = 0 if hospital_side else int((pending or {}).get("total") or 0)
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
