"""The measurement objects of a region, listed, and the names the tables show.

The overview of a region (runs with their state, weight plans, rate plans,
simulations, standard sets with their item counts), each list on its own (filtered by
status, weight plan or rate plan), and the names of hospitals and DRGs.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from yibao.engines.grouper import PlanRegistry
from yibao.jobs.models import Job
from yibao.measurement.models import (
    MeasurementRun,
    PaymentStandardItem,
    PaymentStandardSet,
    RatePlanRow,
    Simulation,
    WeightPlan,
)
from yibao.measurement.service.runs import RunState, run_state
from yibao.regions.models import Hospital


@dataclass
class Overview:
    runs: list[tuple[MeasurementRun, RunState]]
    weight_plans: list[WeightPlan]
    rate_plans: list[RatePlanRow]
    simulations: list[Simulation]
    standards: list[PaymentStandardSet]
    item_counts: dict[int, int] = field(default_factory=dict)


def overview(session: Session, prefix: str, limit: int = 50) -> Overview:
    runs = list(
        session.scalars(
            select(MeasurementRun)
            .where(MeasurementRun.region_code.startswith(prefix))
            .order_by(MeasurementRun.id.desc())
            .limit(limit)
        )
    )
    job_ids = [r.job_id for r in runs if r.job_id]
    jobs = {j.id: j for j in session.scalars(select(Job).where(Job.id.in_(job_ids)))}
    sets = list_standard_sets(session, prefix)
    return Overview(
        runs=[(r, run_state(r, jobs.get(r.job_id or 0))) for r in runs],
        weight_plans=list_weight_plans(session, prefix),
        rate_plans=list_rate_plans(session, prefix),
        simulations=list_simulations(session, prefix, limit=limit),
        standards=sets,
        item_counts=standard_item_counts(session, [s.id for s in sets]),
    )


def list_weight_plans(session: Session, prefix: str, status: str | None = None) -> list[WeightPlan]:
    stmt = select(WeightPlan).where(WeightPlan.region_code.startswith(prefix))
    if status:
        stmt = stmt.where(WeightPlan.status == status)
    return list(session.scalars(stmt.order_by(WeightPlan.code, WeightPlan.version.desc())))


def list_rate_plans(
    session: Session, prefix: str, weight_plan_id: int | None = None
) -> list[RatePlanRow]:
    stmt = select(RatePlanRow).where(RatePlanRow.region_code.startswith(prefix))
    if weight_plan_id is not None:
        stmt = stmt.where(RatePlanRow.weight_plan_id == weight_plan_id)
    return list(session.scalars(stmt.order_by(RatePlanRow.id.desc())))


def list_simulations(
    session: Session, prefix: str, rate_plan_id: int | None = None, limit: int = 200
) -> list[Simulation]:
    stmt = select(Simulation).where(Simulation.region_code.startswith(prefix))
    if rate_plan_id is not None:
        stmt = stmt.where(Simulation.rate_plan_id == rate_plan_id)
    return list(session.scalars(stmt.order_by(Simulation.id.desc()).limit(limit)))


def list_standard_sets(session: Session, prefix: str) -> list[PaymentStandardSet]:
    return list(
        session.scalars(
            select(PaymentStandardSet)
            .where(PaymentStandardSet.region_code.startswith(prefix))
            .order_by(PaymentStandardSet.valid_from.desc(), PaymentStandardSet.id.desc())
        )
    )


def standard_item_counts(session: Session, set_ids: list[int]) -> dict[int, int]:
    if not set_ids:
        return {}
    rows = session.execute(
        select(PaymentStandardItem.set_id, func.count())
        .where(PaymentStandardItem.set_id.in_(set_ids))
        .group_by(PaymentStandardItem.set_id)
    ).all()
    return {int(k): int(v) for k, v in rows}


def hospital_names(session: Session) -> dict[str, tuple[str, str]]:
    """code → (name, level) of the hospitals in the session's scope."""
    rows = session.execute(select(Hospital.code, Hospital.name, Hospital.level)).all()
    return {c: (n, lv) for c, n, lv in rows}


def drg_names(registry: PlanRegistry, plan_id: str) -> dict[str, str]:
    try:
        return {code: spec.name for code, spec in registry.get(plan_id).plan.drgs.items()}
    except Exception:  # an unknown or broken plan only loses the names
        return {}
