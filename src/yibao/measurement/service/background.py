"""Rate plans, simulations and indices as background jobs (issue 14 item 7): each reads
(and, for rate plans and simulations, regroups) a whole year of cases, so a request
only checks its input and queues a job; the job runs the same service function the
command line does and says where its result is.

:func:`submit_rate_plan`, :func:`submit_simulation` and :func:`submit_indices` raise
the input errors at once (422, nothing queued); the job functions
(:mod:`yibao.measurement.tasks`) call :func:`run_rate_plan_job`,
:func:`run_simulation_job` and :func:`run_indices_job`.  An indices job keeps its
table in the job's summary (Arrow IPC, exact types) for the API and the page."""

from __future__ import annotations

import base64
import io
from typing import Any

import polars as pl
from sqlalchemy import select
from sqlalchemy.orm import Session

from yibao.audit.service import Actor
from yibao.engines import measure as m
from yibao.engines.grouper import PlanRegistry
from yibao.jobs.models import Job
from yibao.jobs.runner import JobRunner
from yibao.jobs.service import do_submit_job
from yibao.kit.errors import Conflict, NotFound, ValidationFailed
from yibao.measurement.frames import Progress
from yibao.measurement.models import MeasurementRun, RatePlanRow, Simulation, WeightPlan
from yibao.measurement.service.common import year_has_cases as _year_has_cases
from yibao.measurement.service.indices import indices_table
from yibao.measurement.service.rate_plans import create_rate_plan
from yibao.measurement.service.simulation import create_simulation

RATE_KIND = "measurement.rate_plan"
SIM_KIND = "measurement.simulation"
INDICES_KIND = "measurement.indices"


def submit_rate_plan(
    session: Session,
    runner: JobRunner,
    *,
    weight_plan: WeightPlan,
    name: str,
    volume_year: int,
    params: dict[str, Any],
    actor: Actor,
) -> Job:
    m.parse_params(m.RateParams, params)  # parameter errors before anything is queued
    _year_has_cases(session, weight_plan.region_code, volume_year, "volume_year")
    return do_submit_job(
        session,
        runner,
        kind=RATE_KIND,
        params={
            "weight_plan_id": weight_plan.id,
            "name": name,
            "volume_year": volume_year,
            "params": params,
        },
        actor=actor,
        message=f"排队中：按 {volume_year} 年病例量计算费率方案",
    )


def submit_simulation(
    session: Session,
    runner: JobRunner,
    *,
    weight_plan: WeightPlan,
    rate_row: RatePlanRow,
    name: str,
    year: int,
    params: dict[str, Any],
    solve_budget: bool,
    actor: Actor,
) -> Job:
    if rate_row.weight_plan_id != weight_plan.id:
        raise ValidationFailed("rate_plan_id：费率方案不是基于该权重方案", field="rate_plan_id")
    m.parse_params(m.SimulationParams, params)
    _year_has_cases(session, weight_plan.region_code, year, "year")
    return do_submit_job(
        session,
        runner,
        kind=SIM_KIND,
        params={
            "weight_plan_id": weight_plan.id,
            "rate_plan_id": rate_row.id,
            "name": name,
            "year": year,
            "params": params,
            "solve_budget": solve_budget,
        },
        actor=actor,
        message=f"排队中：模拟 {year} 年病例",
    )


def submit_indices(
    session: Session,
    runner: JobRunner,
    *,
    weight_plan: WeightPlan,
    year: int,
    by: str,
    actor: Actor,
) -> Job:
    _year_has_cases(session, weight_plan.region_code, year, "year")
    return do_submit_job(
        session,
        runner,
        kind=INDICES_KIND,
        params={"weight_plan_id": weight_plan.id, "year": year, "by": by},
        actor=actor,
        message=f"排队中：计算 {year} 年医院指标",
    )


def _plan_and_run(session: Session, weight_plan_id: int) -> tuple[WeightPlan, MeasurementRun]:
    plan = session.get(WeightPlan, weight_plan_id)
    run = session.get(MeasurementRun, plan.run_id) if plan is not None else None
    if plan is None or run is None:
        raise NotFound(f"权重方案 {weight_plan_id} 不存在")
    return plan, run


def run_rate_plan_job(
    session: Session,
    registry: PlanRegistry,
    params: dict[str, Any],
    actor: Actor,
    progress: Progress | None = None,
) -> RatePlanRow:
    plan, run = _plan_and_run(session, int(params["weight_plan_id"]))
    return create_rate_plan(
        session,
        registry,
        weight_plan=plan,
        run=run,
        name=str(params["name"]),
        volume_year=int(params["volume_year"]),
        params=dict(params["params"]),
        actor=actor,
        progress=progress,
    )


def run_simulation_job(
    session: Session,
    registry: PlanRegistry,
    params: dict[str, Any],
    actor: Actor,
    progress: Progress | None = None,
) -> Simulation:
    plan, run = _plan_and_run(session, int(params["weight_plan_id"]))
    rate_row = session.get(RatePlanRow, int(params["rate_plan_id"]))
    if rate_row is None:
        raise NotFound(f"费率方案 {params['rate_plan_id']} 不存在")
    return create_simulation(
        session,
        registry,
        weight_plan=plan,
        rate_row=rate_row,
        run=run,
        name=str(params["name"]),
        year=int(params["year"]),
        params=dict(params["params"]),
        solve_budget=bool(params["solve_budget"]),
        actor=actor,
        progress=progress,
    )


def run_indices_job(
    session: Session,
    registry: PlanRegistry,
    params: dict[str, Any],
    actor: Actor,
    progress: Progress | None = None,
) -> dict[str, Any]:
    plan, run = _plan_and_run(session, int(params["weight_plan_id"]))
    table = indices_table(
        session,
        registry,
        weight_plan=plan,
        run=run,
        year=int(params["year"]),
        by=str(params["by"]),
        actor=actor,
        progress=progress,
    )
    buf = io.BytesIO()
    table.write_ipc(buf, compression="zstd")
    return {
        "weight_plan_id": plan.id,
        "year": int(params["year"]),
        "by": params["by"],
        "units": table.height,
        "table": base64.b64encode(buf.getvalue()).decode("ascii"),
    }


def indices_of(session: Session, job_id: int) -> tuple[Job, pl.DataFrame]:
    """A finished indices job and its table (404 for another kind; 409 while running)."""
    job = session.scalar(select(Job).where(Job.id == job_id))  # the caller's scope
    if job is None or job.kind != INDICES_KIND:
        raise NotFound(f"医院指标任务 {job_id} 不存在 / not found")
    if job.status != "succeeded" or not job.summary or "table" not in job.summary:
        if job.status == "failed":
            raise Conflict(f"医院指标任务 {job_id} 失败：{job.error or '未知错误'}")
        raise Conflict(f"医院指标任务 {job_id} 尚未完成（{job.status}），请稍后再取")
    raw = base64.b64decode(job.summary["table"])
    return job, pl.read_ipc(io.BytesIO(raw))
