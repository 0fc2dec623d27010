"""Batch entry points run by the job runner (:mod:`yibao.jobs.runner`)."""

from __future__ import annotations

from yibao.cases.repository import CaseFilter
from yibao.grouping.files import (
    BATCH_KIND,
    OUTPUT_FORMATS,
    group_frame,
    read_case_file,
    write_result,
)
from yibao.grouping.plans import plan_info, plan_registry
from yibao.grouping.service import REGROUP_KIND, do_group_stored_cases, status_counts
from yibao.jobs.runner import JobContext, JobOutcome, job_kind


@job_kind(BATCH_KIND, "批量分组（病例文件）")
def group_case_file(ctx: JobContext) -> JobOutcome:
    """Group an uploaded case file into ``result.<format>`` in the job's folder."""
    p = ctx.params
    registry = plan_registry(ctx.settings)
    info = plan_info(registry, p["plan_id"]) if p.get("plan_id") else None
    ctx.progress(0, None, f"读取病例文件 {p.get('upload_name', '')}")
    df = read_case_file(ctx.work_dir / p["input_file"], display_name=p.get("upload_name"))
    total = df.height
    label = info.id if info else "按出院日期选择"
    ctx.progress(0, total, f"分组中（方案 {label}）")
    grouped = group_frame(registry, df, info, progress=lambda done: ctx.progress(done, total))
    ctx.progress(total, total, "写出结果文件")
    name = f"result{OUTPUT_FORMATS[p['format']]}"
    write_result(grouped, p["format"], ctx.file(name))
    counts = status_counts(grouped)
    return JobOutcome(
        result_file=name,
        result_name=p.get("result_name") or name,
        summary={"rows": total, "plan_id": p.get("plan_id"), "by_status": counts},
        message=f"已分组 {total:,} 例（入组 {counts.get('ok', 0):,} 例）",
    )


@job_kind(REGROUP_KIND, "已存结算清单重新分组")
def regroup_stored_cases(ctx: JobContext) -> JobOutcome:
    """Group stored cases in the owner's scope and store the results."""
    p = ctx.params
    flt = CaseFilter(year=p.get("year"), hospital_code=p.get("hospital"))
    summary = do_group_stored_cases(
        ctx.session,
        plan_registry(ctx.settings),
        flt=flt,
        case_ids=p.get("case_ids"),
        plan_id=p.get("plan_id"),
        actor=ctx.actor,
        progress=lambda done, total: ctx.progress(done, total, f"已分组 {done:,} / {total:,} 例"),
    )
    message = f"已分组并保存 {summary['grouped']:,} 例"
    if summary["no_plan"]:
        message += f"，{summary['no_plan']:,} 例出院日期无有效方案"
    return JobOutcome(summary=summary, message=message)
