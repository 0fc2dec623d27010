"""Hospital performance rows of the decision-analysis summaries (ADR 0037): DRG
indices under the region's newest published weight plan (:func:`indices_table`, as the
indices page) with 入组率 from the stored grouping results, and the cases priced under
DIP (入组率, groups, points, cost against payment, low / high / extreme cases)."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import date
from decimal import Decimal
from typing import Any

from sqlalchemy import and_, case, func, select
from sqlalchemy.orm import Session

from yibao.audit.service import Actor
from yibao.cases.models import Case
from yibao.db.scoping import Scope, get_scope, set_scope
from yibao.engines.grouper import PlanRegistry
from yibao.engines.measure.params import ExclusionRules
from yibao.grouping.models import CaseGrouping
from yibao.measurement.models import MeasurementRun, WeightPlan
from yibao.measurement.service.indices import indices_table
from yibao.regions.models import Hospital, region_prefix
from yibao.settlement.models import CasePricing

ZERO = Decimal("0.00")
Progress = Callable[[str], None]


def weight_plan_of(session: Session, region_code: str) -> WeightPlan | None:
    """The region's newest published weight plan (the indices' weights)."""
    return session.scalar(
        select(WeightPlan)
        .where(WeightPlan.region_code == region_code, WeightPlan.status == "published")
        .order_by(WeightPlan.published_at.desc(), WeightPlan.id.desc())
        .limit(1)
    )


def _grouped_counts(
    session: Session, prefix: str, plan_id: str, year: int
) -> dict[str, tuple[int, int, int, int]]:
    """Per hospital code: (cases of the year, cases less the data exclusions of 入组率,
    eligible cases in a DRG under ``plan_id``, DRGs) — 入组率 = grouped ÷ eligible
    (domain.md §1.2, S14; the exclusions of :class:`ExclusionRules`' defaults, as
    :func:`yibao.engines.measure.base.grouping_rate` reads them)."""
    g = CaseGrouping
    ok = g.status == "ok"
    rules = ExclusionRules()
    eligible = and_(
        Case.los_days >= (rules.los_min_days or 0),
        Case.los_days <= (rules.los_max_days or 10**6),
        Case.total_cost >= (rules.cost_floor or 0),
    )
    stmt = (
        select(
            Case.hospital_code,
            func.count(Case.id),
            func.coalesce(func.sum(case((eligible, 1), else_=0)), 0),
            func.coalesce(func.sum(case((and_(ok, eligible), 1), else_=0)), 0),
            func.count(func.distinct(case((ok, g.drg)))),
        )
        .outerjoin(g, (g.case_id == Case.id) & (g.plan_id == plan_id))
        .where(
            Case.region_code.startswith(prefix),
            Case.discharge_date >= date(year, 1, 1),
            Case.discharge_date <= date(year, 12, 31),
        )
        .group_by(Case.hospital_code)
    )
    return {code: (int(n), int(e), int(k), int(d)) for code, n, e, k, d in session.execute(stmt)}


@contextmanager
def region_scope(session: Session, region_code: str) -> Iterator[None]:
    """Read as the region's bureau while a system session (global scope, or none)
    computes the region's indices: the case frame behind them reads the session's
    scope, and the whole database would otherwise be the "region".  A narrower
    scope (the job owner's) is kept."""
    before = get_scope(session)
    if before is not None and not before.is_global:
        yield
        return
    set_scope(session, Scope(region_code=region_code))
    try:
        yield
    finally:
        if before is None:
            session.info.pop("scope", None)
        else:
            set_scope(session, before)


# long: one year after another, each one indices table joined to its counts
def drg_year_rows(
    session: Session,
    region_code: str,
    actor: Actor,
    registry: PlanRegistry,
    progress: Progress | None = None,
) -> tuple[list[dict[str, Any]], int | None]:
    plan = weight_plan_of(session, region_code)
    if plan is None:
        return [], None
    run = session.get(MeasurementRun, plan.run_id)
    if run is None:
        return [], None
    prefix = region_prefix(region_code)
    year = func.extract("year", Case.discharge_date)
    years = [
        int(y)
        for y in session.scalars(
            select(year).where(Case.region_code.startswith(prefix)).group_by(year).order_by(year)
        )
    ]
    hospitals = {
        h.code: (h.id, h.region_code)
        for h in session.scalars(select(Hospital).where(Hospital.region_code.startswith(prefix)))
    }
    rows = []
    for y in years:
        if progress:
            progress(f"{y} 年 DRG 指标（权重方案 {plan.code} v{plan.version}）")
        with region_scope(session, region_code):
            table = indices_table(
                session, registry, weight_plan=plan, run=run, year=y, by="hospital", actor=actor
            )
        counts = _grouped_counts(session, prefix, run.plan_id, y)
        drgs = {r["hospital_code"]: r for r in table.iter_rows(named=True)}
        for code, (n_all, n_eligible, n_grouped, n_drgs) in counts.items():
            if code not in hospitals:
                continue
            r = drgs.get(code) or {}
            rows.append(
                {
                    "hospital_id": hospitals[code][0],
                    "region_code": hospitals[code][1],
                    "hospital_code": code,
                    "year": y,
                    "plan_id": run.plan_id,
                    "weight_plan_id": plan.id,
                    "cases_all": n_all,
                    "eligible": n_eligible,
                    "grouped": n_grouped,
                    "cases": int(r.get("cases") or 0),
                    "drgs": n_drgs,
                    "total_weight": Decimal(str(r.get("total_weight") or 0)),
                    "cmi": Decimal(str(r.get("cmi") or 0)),
                    "cost_index": _dec(r.get("cost_index")),
                    "time_index": _dec(r.get("time_index")),
                    "low_risk_cases": int(r.get("low_risk_cases") or 0),
                    "low_risk_deaths": int(r.get("low_risk_deaths") or 0),
                }
            )
    return rows, plan.id


def _dec(value: Any) -> Decimal | None:
    return None if value is None else Decimal(str(value)).quantize(Decimal("0.0001"))


# long: one pass over the DIP-priced cases, summed per hospital and year
def dip_year_rows(session: Session, prefix: str) -> list[dict[str, Any]]:
    """Per hospital and discharge year: the cases priced under DIP (ADR 0030)."""
    p = CasePricing
    year = func.extract("year", Case.discharge_date)
    stmt = (
        select(
            p.hospital_id,
            p.region_code,
            Case.hospital_code,
            year,
            p.payment_class,
            p.drg,
            p.terms,
            Case.total_cost,
            p.drg_payment,
        )
        .join(Case, Case.id == p.case_id)
        .where(p.region_code.startswith(prefix), p.payment_class.startswith("dip_"))
    )
    acc: dict[tuple[int, int], dict[str, Any]] = {}
    groups: dict[tuple[int, int], set[str]] = defaultdict(set)
    for hid, region, code, y, cls, group, terms, cost, payment in session.execute(stmt):
        key = (hid, int(y))
        row = acc.setdefault(
            key,
            {
                "hospital_id": hid,
                "region_code": region,
                "hospital_code": code,
                "year": int(y),
                "cases": 0,
                "grouped": 0,
                "groups": 0,
                "total_score": Decimal(0),
                "low": 0,
                "high": 0,
                "extreme": 0,
                "total_cost": ZERO,
                "payment": ZERO,
            },
        )
        row["cases"] += 1
        row["total_cost"] += cost or ZERO
        row["payment"] += payment or ZERO
        if cls != "dip_items":
            row["grouped"] += 1
            groups[key].add(group)
            score = (terms or {}).get("dip_score") if isinstance(terms, dict) else None
            row["total_score"] += Decimal(str(score)) if score is not None else 0
        for kind in ("low", "high", "extreme"):
            row[kind] += cls == f"dip_{kind}"
    for key, row in acc.items():
        row["groups"] = len(groups[key])
    return list(acc.values())
