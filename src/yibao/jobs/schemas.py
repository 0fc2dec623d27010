"""Response models of the jobs API (status and progress, as pages show them too)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel

from yibao.jobs.models import Job
from yibao.jobs.runner import JobRunner, kind_label


class JobProgress(BaseModel):
    done: int
    total: int | None
    percent: int


class JobOut(BaseModel):
    id: int
    kind: str
    kind_label: str
    status: str
    status_label: str
    progress: JobProgress
    message: str | None
    error: str | None
    summary: dict[str, Any] | None
    created_at: datetime
    started_at: datetime | None
    finished_at: datetime | None
    result_url: str | None


def job_view(job: Job, runner: JobRunner) -> JobOut:
    """The job as the API shows it; a running job's progress comes from memory."""
    done, total, message = job.progress_done, job.progress_total, job.message
    live = runner.live(job.id) if job.status == "running" else None
    if live is not None:
        done, total = live.done, live.total if live.total is not None else total
        message = live.message or message
    if job.status == "succeeded":
        percent = 100
    elif total:
        percent = max(0, min(99, int(100 * done / total)))
    else:
        percent = 0
    has_file = runner.result_path(job) is not None
    return JobOut(
        id=job.id,
        kind=job.kind,
        kind_label=kind_label(job.kind),
        status=job.status,
        status_label=job.status_label,
        progress=JobProgress(done=done, total=total, percent=percent),
        message=message,
        error=job.error,
        summary=job.summary,
        created_at=job.created_at,
        started_at=job.started_at,
        finished_at=job.finished_at,
        result_url=f"/api/jobs/{job.id}/result" if has_file else None,
    )
