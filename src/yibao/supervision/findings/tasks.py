"""The post-audit job (事后审核), run by the job runner (:mod:`yibao.jobs.runner`)."""

from __future__ import annotations

from yibao.jobs.runner import JobContext, JobOutcome, job_kind
from yibao.supervision.findings.run import POST_AUDIT_KIND, run_post_audit


@job_kind(POST_AUDIT_KIND, "事后审核（智能审核）")
def post_audit_job(ctx: JobContext) -> JobOutcome:
    """Audit the job's months in its owner's scope and store the findings."""
    months = list(ctx.params["months"])
    steps = iter(range(1, 1000))

    def note(message: str) -> None:
        ctx.progress(next(steps), None, message)

    summary = run_post_audit(ctx.session, months, actor=ctx.actor, job_id=ctx.job_id, note=note)
    span = months[0] if len(months) == 1 else f"{months[0]} 至 {months[-1]}"
    return JobOutcome(
        summary=summary,
        message=(
            f"{span} 事后审核完成：发现疑点 {summary['found']:,} 条，新增 {summary['new']:,} 条，"
            f"已有 {summary['refreshed'] + summary['kept']:,} 条，撤销 {summary['dropped']:,} 条"
        ),
    )
