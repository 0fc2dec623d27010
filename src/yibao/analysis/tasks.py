"""The refresh of a region's decision-analysis summaries, run by the job runner."""

from __future__ import annotations

from yibao.analysis.refresh import do_refresh
from yibao.analysis.service import REFRESH_KIND
from yibao.grouping.plans import plan_registry
from yibao.jobs.runner import JobContext, JobOutcome, job_kind


@job_kind(REFRESH_KIND, "决策分析：刷新汇总表")
def refresh(ctx: JobContext) -> JobOutcome:
    region = ctx.params["region_code"]
    state = do_refresh(
        ctx.session,
        region,
        ctx.actor,
        progress=lambda text: ctx.progress(0, None, text),
        registry=plan_registry(ctx.settings),
    )
    s = state.summary
    return JobOutcome(
        summary={"region_code": region, **s},
        message=(
            f"已汇总病例 {s['cases']:,} 例（{s['case_months']:,} 行），"
            f"审核 {s['audit_months']:,} 行，"
            f"结算单 {s['fund_months']:,} 行，DRG 指标 {s['drg_years']:,} 行"
        ),
    )
