"""Page-level measurement operations: the multi-step work behind the 测算 forms.

Each function does what the matching ``/api/measurement`` endpoint does (one year's
case frame → rate plan / simulation / indices; publish / import standards), by the same
service functions, so that a page form and the API give the same result.  Nothing
here commits; the request does.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any

import polars as pl
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from yibao.audit.service import Actor
from yibao.cases.models import Case
from yibao.engines import measure as m
from yibao.engines.grouper import PlanRegistry
from yibao.grouping.models import CaseGrouping
from yibao.grouping.plans import plan_info
from yibao.jobs.models import Job
from yibao.jobs.runner import JobRunner
from yibao.jobs.service import do_submit_job
from yibao.kit.errors import Conflict, ValidationFailed
from yibao.kit.money import format_yuan
from yibao.measurement import service as svc
from yibao.measurement import tasks  # noqa: F401  (registers the job kind)
from yibao.measurement.frames import case_frame, regroup_years
from yibao.measurement.imports import read_standards_file
from yibao.measurement.models import (
    MeasurementRun,
    PaymentStandardSet,
    RatePlanRow,
    Simulation,
    WeightPlan,
)

#: only cases with missing fields stay out of a simulation (as in the API)
SIMULATION_RULES = m.ExclusionRules(
    los_min_days=None,
    los_max_days=None,
    cost_floor=None,
    exclude_ungroupable=False,
    exclude_qy=False,
)


# --------------------------------------------------------------------- base runs


def start_run(
    session: Session,
    runner: JobRunner,
    registry: PlanRegistry,
    *,
    region_code: str,
    name: str,
    plan_id: str,
    years: list[int],
    params: dict[str, Any],
    actor: Actor,
) -> tuple[MeasurementRun, Job]:
    """Create a run and submit its job (as ``POST /api/measurement/runs``)."""
    info = plan_info(registry, plan_id)
    run = svc.do_create_run(
        session,
        region_code=region_code,
        name=name,
        plan_id=info.id,
        plan_version=info.meta.version,
        years=years,
        params=params,
        actor=actor,
    )
    job = do_submit_job(
        session,
        runner,
        kind=svc.RUN_KIND,
        params={"run_id": run.id},
        actor=actor,
        message="排队中：DRG 测算",
    )
    run.job_id = job.id
    return run, job


# --------------------------------------------------------------------- year frames


def year_frame(
    session: Session,
    registry: PlanRegistry,
    plan_id: str,
    year: int,
    rules: m.ExclusionRules,
    actor: Actor,
    *,
    regroup: bool = True,
) -> pl.DataFrame:
    """One year's cases grouped under ``plan_id``, after ``rules`` (as the API does).

    ``regroup=False`` groups only when some case of the year has no result under the
    plan yet (for pages that only read).
    """
    if regroup or ungrouped_cases(session, plan_id, year):
        regroup_years(session, registry, plan_id, [year], actor)
    frame = case_frame(session, plan_id, [year])
    if frame.height == 0:
        return frame
    return m.apply_exclusions(frame, rules.model_copy(update={"years": (year,)})).kept


def ungrouped_cases(session: Session, plan_id: str, year: int) -> int:
    grouped = select(CaseGrouping.case_id).where(CaseGrouping.plan_id == plan_id)
    return int(
        session.scalar(
            select(func.count(Case.id)).where(
                Case.discharge_date >= date(year, 1, 1),
                Case.discharge_date <= date(year, 12, 31),
                Case.id.not_in(grouped),
            )
        )
        or 0
    )


def run_rules(run: MeasurementRun) -> m.ExclusionRules:
    return m.ExclusionRules.model_validate(run.params["exclusions"])


def create_rate_plan(
    session: Session,
    registry: PlanRegistry,
    *,
    weight_plan: WeightPlan,
    run: MeasurementRun,
    name: str,
    volume_year: int,
    params: dict[str, Any],
    actor: Actor,
) -> RatePlanRow:
    """As ``POST /api/measurement/rate-plans``."""
    m.parse_params(m.RateParams, params)  # parameter errors before any grouping
    paid = year_frame(session, registry, run.plan_id, volume_year, SIMULATION_RULES, actor)
    return svc.do_create_rate_plan(
        session,
        weight_plan=weight_plan,
        name=name,
        volume_year=volume_year,
        params=params,
        volume_frame=measured_cases(paid, run, volume_year),
        paid_total=paid_total(paid),
        actor=actor,
    )


def measured_cases(paid: pl.DataFrame, run: MeasurementRun, year: int) -> pl.DataFrame:
    """The year's case base of the run (its exclusions) out of the paid cases."""
    if paid.height == 0:
        return paid
    rules = run_rules(run).model_copy(update={"years": (year,)})
    return m.apply_exclusions(paid, rules).kept


def paid_total(paid: pl.DataFrame) -> Decimal | None:
    """Total cost of the cases a simulation pays: what the DRG budget covers (ADR 0011:
    LOS-excluded, ungroupable and QY cases are paid, by items, and counted)."""
    if paid.height == 0:
        return None
    total = paid.select(pl.col("total_cost").cast(pl.Decimal(18, 2)).sum()).item()
    return Decimal(total)


def check_budget(
    session: Session,
    registry: PlanRegistry,
    *,
    weight_plan: WeightPlan,
    rate_row: RatePlanRow,
    run: MeasurementRun,
    tolerance: Decimal,
    actor: Actor,
) -> dict[str, Any] | None:
    """Simulate the rate plan's volume year with its rates: None when the simulated
    payment meets the budget within ``tolerance`` (a share), else the figures."""
    rates = svc.rate_plan_of(rate_row)
    if rates.budget is None:
        return None
    year = rate_row.volume_year
    frame = year_frame(session, registry, run.plan_id, year, SIMULATION_RULES, actor)
    if frame.height == 0:
        return None
    table = m.payment_standards(svc.weight_plan_frame(session, weight_plan.id), rates)
    gap = svc.budget_gap(m.simulate(frame, table, m.SimulationParams(), budget=rates.budget))
    if gap is None:
        return None
    payment, budget, diff = gap
    if abs(diff) <= budget * tolerance:
        return None
    return {
        "year": year,
        "payment": payment,
        "budget": budget,
        "gap": diff,
        "share": (diff / budget).quantize(Decimal("0.0001")),
        "tolerance": tolerance,
    }


class BudgetMissed(Conflict):
    """Publishing standards whose simulated payment misses the budget (409)."""

    code = "budget_gap"


def create_simulation(
    session: Session,
    registry: PlanRegistry,
    *,
    weight_plan: WeightPlan,
    rate_row: RatePlanRow,
    run: MeasurementRun,
    name: str,
    year: int,
    params: dict[str, Any],
    solve_budget: bool,
    actor: Actor,
) -> Simulation:
    """As ``POST /api/measurement/simulations``."""
    m.parse_params(m.SimulationParams, params)
    frame = year_frame(session, registry, run.plan_id, year, SIMULATION_RULES, actor)
    if frame.height == 0:
        raise ValidationFailed(f"year：{year} 年没有可用病例", field="year")
    rates, result, extra = svc.run_simulation(
        session,
        weight_plan=weight_plan,
        rate_row=rate_row,
        frame=frame,
        params=params,
        solve_budget=solve_budget,
    )
    return svc.do_save_simulation(
        session,
        weight_plan=weight_plan,
        rate_row=rate_row,
        name=name,
        year=year,
        params=params,
        rates=rates,
        results=svc.simulation_results(result, extra),
        actor=actor,
    )


def indices_table(
    session: Session,
    registry: PlanRegistry,
    *,
    weight_plan: WeightPlan,
    run: MeasurementRun,
    year: int,
    by: str,
    actor: Actor,
) -> pl.DataFrame:
    """CMI, consumption indices and low-risk mortality per hospital (or department)."""
    frame = year_frame(session, registry, run.plan_id, year, run_rules(run), actor, regroup=False)
    if frame.height == 0:
        raise ValidationFailed(f"year：{year} 年没有可用病例", field="year")
    keys = ("hospital_code",) if by == "hospital" else ("hospital_code", "discharge_dept")
    return m.hospital_indices(frame, svc.weight_plan_frame(session, weight_plan.id), by=keys)


# --------------------------------------------------------------------- standards


# long: the checks before publishing standards (run, plans, rates, overlaps) in one sequence
def publish_standards(
    session: Session,
    *,
    weight_plan: WeightPlan,
    rate_row: RatePlanRow,
    run: MeasurementRun,
    name: str,
    valid_from: date,
    valid_to: date | None,
    actor: Actor,
    four_eyes: bool = False,
    registry: PlanRegistry | None = None,
    budget_tolerance: Decimal | None = None,
    confirm_budget_gap: bool = False,
) -> PaymentStandardSet:
    """As ``POST /api/measurement/standards``.

    With ``registry`` and ``budget_tolerance``: the rate plan's volume year is
    simulated first; a payment that misses the budget by more than the tolerance
    raises :class:`BudgetMissed` (with the figures) unless ``confirm_budget_gap``, and
    the confirmed gap is written into the audit row."""
    if weight_plan.status != "published":
        raise ValidationFailed(
            "weight_plan_id：只有已发布的权重方案才能生成支付标准", field="weight_plan_id"
        )
    if rate_row.weight_plan_id != weight_plan.id:
        raise ValidationFailed("rate_plan_id：费率方案不是基于该权重方案", field="rate_plan_id")
    gap = None
    if registry is not None and budget_tolerance is not None:
        gap = check_budget(
            session,
            registry,
            weight_plan=weight_plan,
            rate_row=rate_row,
            run=run,
            tolerance=budget_tolerance,
            actor=actor,
        )
        if gap is not None and not confirm_budget_gap:
            raise BudgetMissed(
                f"按费率方案 #{rate_row.id} 模拟 {gap['year']} 年病例：DRG 支付 "
                f"{format_yuan(gap['payment'])} 元，预算 {format_yuan(gap['budget'])} 元，"
                f"相差 {format_yuan(gap['gap'])} 元（{gap['share'] * 100:+.2f}%），"
                f"超过允许偏差 {budget_tolerance * 100:.2f}%。可先在模拟中按预算求解费率"
                "并应用到费率方案；确需按此费率发布，请确认后再发布",
                field="confirm_budget_gap",
            )
    table = m.payment_standards(
        svc.weight_plan_frame(session, weight_plan.id), svc.rate_plan_of(rate_row)
    )
    return svc.do_publish_standards(
        session,
        region_code=weight_plan.region_code,
        name=name,
        plan_id=run.plan_id,
        table=table,
        valid_from=valid_from,
        valid_to=valid_to,
        source="measured",
        weight_plan=weight_plan,
        rate_row=rate_row,
        actor=actor,
        four_eyes=four_eyes,
        budget_gap=None if gap is None else {k: str(v) for k, v in gap.items()},
    )


def import_standards(
    session: Session,
    registry: PlanRegistry,
    *,
    region_code: str,
    plan_id: str,
    content: bytes,
    filename: str,
    name: str,
    valid_from: date,
    valid_to: date | None,
    actor: Actor,
    four_eyes: bool = False,
) -> PaymentStandardSet:
    """As ``POST /api/measurement/standards/import``."""
    info = plan_info(registry, plan_id)
    table = read_standards_file(content, filename, registry.get(info.id))
    return svc.do_publish_standards(
        session,
        region_code=region_code,
        name=name or filename,
        plan_id=info.id,
        table=table,
        valid_from=valid_from,
        valid_to=valid_to,
        source="imported",
        weight_plan=None,
        rate_row=None,
        actor=actor,
        four_eyes=four_eyes,
    )
