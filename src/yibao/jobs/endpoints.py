"""JSON API for jobs (status, progress, result download) and the runner's lifespan."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import datetime
from typing import Any

from fastapi import APIRouter, FastAPI, Request
from fastapi.responses import FileResponse
from pydantic import BaseModel

from yibao.api.deps import CurrentUser, Db
from yibao.api.openapi import CSV, JSON, PARQUET, XLSX, file_answers
from yibao.jobs.models import Job
from yibao.jobs.runner import JobRunner, kind_label
from yibao.jobs.service import get_job
from yibao.kit.bounds import DbId
from yibao.kit.errors import Conflict, NotFound

MEDIA_TYPES = {
    ".csv": "text/csv; charset=utf-8",
    ".parquet": "application/vnd.apache.parquet",
    ".xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    ".json": "application/json",
}


def start_runner(app: FastAPI) -> JobRunner:
    """Create the process's runner on ``app.state.jobs`` and recover interrupted jobs."""
    settings = app.state.settings
    runner = JobRunner(
        app.state.sessionmaker,
        settings.var_dir / "jobs",
        workers=settings.job_workers,
        settings=settings,
    )
    app.state.jobs = runner
    runner.recover()
    return runner


@asynccontextmanager
async def jobs_lifespan(app: FastAPI) -> AsyncIterator[None]:
    runner = start_runner(app)
    try:
        yield
    finally:
        await asyncio.to_thread(runner.shutdown)


def runner_of(request: Request) -> JobRunner:
    runner = getattr(request.app.state, "jobs", None)
    if runner is None:  # app used without its lifespan (e.g. a bare TestClient)
        runner = start_runner(request.app)
    return runner


router = APIRouter(prefix="/api/jobs", tags=["jobs 任务"], lifespan=jobs_lifespan)


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


@router.get("/{job_id}", response_model=JobOut, summary="后台任务状态与进度")
def job_status(job_id: DbId, request: Request, db: Db, _user: CurrentUser) -> JobOut:
    return job_view(get_job(db, job_id), runner_of(request))


@router.get(
    "/{job_id}/result",
    responses=file_answers(CSV, XLSX, PARQUET, JSON, json=False, description="任务结果文件"),
    summary="下载后台任务的结果文件",
)
def job_result(job_id: DbId, request: Request, db: Db, _user: CurrentUser) -> FileResponse:
    job = get_job(db, job_id)
    if job.status != "succeeded":
        raise Conflict(f"任务 {job_id} 尚未完成（{job.status_label}），没有结果文件")
    path = runner_of(request).result_path(job)
    if path is None:
        raise NotFound(f"任务 {job_id} 没有结果文件 / no result file")
    return FileResponse(
        path,
        filename=job.result_name or path.name,
        media_type=MEDIA_TYPES.get(path.suffix, "application/octet-stream"),
    )
