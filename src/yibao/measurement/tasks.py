"""Measurement batch entry points run by the job runner."""

from __future__ import annotations

from yibao.grouping.plans import plan_registry
from yibao.jobs.runner import JobContext, JobOutcome, job_kind
from yibao.kit.errors import NotFound
from yibao.measurement.frames import case_frame, regroup_years
from yibao.measurement.models import MeasurementRun
from yibao.measurement.service import RUN_KIND, execute_run


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
