"""DIP batch entry points run by the job runner."""

from __future__ import annotations

from yibao.dip.models import DipCatalogue
from yibao.dip.service import BUILD_KIND, execute_build
from yibao.grouping.plans import plan_registry
from yibao.jobs.runner import JobContext, JobOutcome, job_kind
from yibao.kit.errors import NotFound


@job_kind(BUILD_KIND, "DIP 目录：组合、核心与综合病种、病种分值")
def build_catalogue(ctx: JobContext) -> JobOutcome:
    row = ctx.session.get(DipCatalogue, ctx.params["catalogue_id"])
    if row is None:
        raise NotFound(f"DIP 目录 {ctx.params['catalogue_id']} 不存在")
    row.status = "running"
    ctx.progress(0, None, f"读取 {row.years} 年病例，建立 DIP 目录 {row.code}")
    summary = execute_build(ctx.session, row, plan_registry(ctx.settings))
    return JobOutcome(
        summary={"catalogue_id": row.id, **summary},
        message=(
            f"病例 {summary['cases']:,}，核心病种 {summary['core_groups']:,}，"
            f"综合病种 {summary['comprehensive_groups']:,}，"
            f"核心病种覆盖 {summary['core_share']:.1%} 病例"
        ),
    )
