"""Measurement batch entry points run by the job runner."""

from __future__ import annotations

from collections.abc import Callable

from yibao.grouping.plans import plan_registry
from yibao.jobs.runner import JobContext, JobOutcome, job_kind
from yibao.kit.errors import NotFound
from yibao.measurement.frames import case_frame, regroup_years
from yibao.measurement.models import MeasurementRun
from yibao.measurement.service import RUN_KIND, execute_run
from yibao.measurement.service.background import (
    INDICES_KIND,
    RATE_KIND,
    SIM_KIND,
    run_indices_job,
    run_rate_plan_job,
    run_simulation_job,
)


@job_kind(RUN_KIND, "DRG 测算：分组、排除、裁剪、相对权重")
def measurement_run(ctx: JobContext) -> JobOutcome:
    """Group the run's years under its plan, then exclusions → trimming → weights."""
    run = ctx.session.get(MeasurementRun, ctx.params["run_id"])
    if run is None:
        raise NotFound(f"测算运行 {ctx.params['run_id']} 不存在")
    run.status = "running"
    ctx.progress(0, None, f"按方案 {run.plan_id} 分组 {run.years} 年病例")
    regroup_years(
        ctx.session,
        plan_registry(ctx.settings),
        run.plan_id,
        run.years,
        ctx.actor,
        progress=lambda done, total: ctx.progress(done, total, f"分组 {done:,} / {total:,} 例"),
    )
    ctx.progress(0, None, "读取病例、排除、裁剪、计算权重")
    frame = case_frame(ctx.session, run.plan_id, run.years)
    summary = execute_run(ctx.session, run, frame)
    q = summary["quality"]
    return JobOutcome(
        summary={"run_id": run.id, **summary},
        message=(
            f"病例 {summary['cases']:,}，入基数 {summary['base_cases']:,}，"
            f"DRG {summary['drgs']}，RIV {q.get('riv') or 0:.3f}"
        ),
    )


def _grouping(ctx: JobContext) -> Callable[[int, int], None]:
    """Progress of the year's grouping, as the base run reports it."""
    return lambda done, total: ctx.progress(done, total, f"分组 {done:,} / {total:,} 例")


@job_kind(RATE_KIND, "费率方案：按病例量与预算计算费率")
def rate_plan(ctx: JobContext) -> JobOutcome:
    ctx.progress(0, None, f"读取并分组 {ctx.params['volume_year']} 年病例，计算费率")
    row = run_rate_plan_job(
        ctx.session, plan_registry(ctx.settings), ctx.params, ctx.actor, _grouping(ctx)
    )
    url = f"/measurement/rate-plans/{row.id}"
    return JobOutcome(
        summary={"rate_plan_id": row.id, "url": url, "url_label": "查看费率方案"},
        message=f"费率方案 #{row.id} 已建立",
    )


@job_kind(SIM_KIND, "模拟测算：按支付标准模拟一年病例")
def simulation(ctx: JobContext) -> JobOutcome:
    ctx.progress(0, None, f"读取并分组 {ctx.params['year']} 年病例，模拟支付")
    sim = run_simulation_job(
        ctx.session, plan_registry(ctx.settings), ctx.params, ctx.actor, _grouping(ctx)
    )
    url = f"/measurement/simulations/{sim.id}"
    return JobOutcome(
        summary={"simulation_id": sim.id, "url": url, "url_label": "查看模拟结果"},
        message=f"模拟 #{sim.id} 完成",
    )


@job_kind(INDICES_KIND, "医院指标：CMI、消耗指数、低风险组死亡率")
def indices(ctx: JobContext) -> JobOutcome:
    ctx.progress(0, None, f"读取 {ctx.params['year']} 年病例，计算医院指标")
    summary = run_indices_job(
        ctx.session, plan_registry(ctx.settings), ctx.params, ctx.actor, _grouping(ctx)
    )
    url = f"/measurement/indices?job={ctx.job_id}"
    return JobOutcome(
        summary={**summary, "url": url, "url_label": "查看医院指标"},
        message=f"{summary['units']} 个单位的指标已计算",
    )
