"""The home page's case figures from the case months (ADR 0037): the same figures as
:func:`yibao.cases.service._case_figures`, read from a few thousand summary rows plus
the cases stored since the refresh, instead of a scan of every case in scope."""

from __future__ import annotations

from collections import defaultdict
from decimal import Decimal
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from yibao.analysis.models import AnalysisState, CaseMonth
from yibao.analysis.refresh import case_month_rows
from yibao.cases.service import CaseFigures
from yibao.db.scoping import get_scope
from yibao.regions.models import HOSPITAL_LEVELS, Hospital

INSUTYPES = {"310": "职工医保", "390": "居民医保"}


def all_case_months(session: Session, state: AnalysisState) -> list[dict[str, Any]]:
    """Every case month in the session's scope: stored, plus cases after the refresh."""
    stored = session.execute(
        select(
            CaseMonth.hospital_code,
            CaseMonth.month,
            CaseMonth.insutype,
            CaseMonth.cases,
            CaseMonth.los_days,
            CaseMonth.total_cost,
        )
    )
    rows = [
        {
            "hospital_code": h,
            "month": m,
            "insutype": t,
            "cases": n,
            "los_days": los,
            "total_cost": cost,
        }
        for h, m, t, n, los, cost in stored
    ]
    scope = get_scope(session)
    prefix = (scope.region_prefix if scope else None) or ""
    return rows + case_month_rows(session, prefix, after_id=state.case_watermark)


def home_figures(session: Session, state: AnalysisState) -> CaseFigures:
    rows = all_case_months(session, state)
    levels = dict(session.execute(select(Hospital.code, Hospital.level)).all())
    years: dict[int, list[Any]] = defaultdict(lambda: [0, Decimal(0)])
    months: dict[str, int] = defaultdict(int)
    by_level: dict[str, int] = defaultdict(int)
    by_type: dict[str, int] = defaultdict(int)
    los = 0
    for r in rows:
        y = int(r["month"][:4])
        years[y][0] += r["cases"]
        years[y][1] += Decimal(r["total_cost"])
        months[r["month"]] += r["cases"]
        by_level[levels.get(r["hospital_code"], "")] += r["cases"]
        by_type[r["insutype"]] += r["cases"]
        los += r["los_days"]
    n = sum(v[0] for v in years.values())
    last = max(years) if years else None
    hospitals = session.scalar(select(func.count(Hospital.id))) or 0
    return CaseFigures(
        cases=n,
        hospitals=int(hospitals),
        total_cost=sum((v[1] for v in years.values()), Decimal(0)),
        avg_los=los / n if n else 0.0,
        by_year=[(y, years[y][0], years[y][1]) for y in sorted(years)],
        by_month=[(m, k) for m, k in sorted(months.items()) if last and m.startswith(f"{last}-")],
        by_level=[
            (HOSPITAL_LEVELS.get(lv, lv), k)
            for lv, k in sorted(by_level.items(), reverse=True)
            if k
        ],
        by_insutype=[(INSUTYPES.get(t, t), k) for t, k in sorted(by_type.items())],
    )
