"""JSON API for jobs (status, progress, result download) and the runner's lifespan."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import APIRouter, FastAPI
from fastapi.responses import FileResponse

from yibao.api.deps import CurrentUser, Db, Runner, start_runner
from yibao.api.openapi import CSV, JSON, PARQUET, XLSX, file_answers
from yibao.jobs.schemas import JobOut, job_view
from yibao.jobs.service import get_job
from yibao.kit.bounds import DbId
from yibao.kit.errors import Conflict, NotFound

MEDIA_TYPES = {
    ".csv": "text/csv; charset=utf-8",
    ".parquet": "application/vnd.apache.parquet",
    ".xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    ".json": "application/json",
}


@asynccontextmanager
async def jobs_lifespan(app: FastAPI) -> AsyncIterator[None]:
    runner = start_runner(app)
    try:
        yield
    finally:
        await asyncio.to_thread(runner.shutdown)


router = APIRouter(prefix="/api/jobs", tags=["jobs 任务"], lifespan=jobs_lifespan)


@router.get("/{job_id}", response_model=JobOut, summary="后台任务状态与进度")
def job_status(job_id: DbId, db: Db, runner: Runner, user: CurrentUser) -> JobOut:
    return job_view(get_job(db, job_id, user), runner)


@router.get(
    "/{job_id}/result",
    responses=file_answers(CSV, XLSX, PARQUET, JSON, json=False, description="任务结果文件"),
    summary="下载后台任务的结果文件",
)
def job_result(job_id: DbId, db: Db, runner: Runner, user: CurrentUser) -> FileResponse:
    job = get_job(db, job_id, user)
    if job.status != "succeeded":
        raise Conflict(f"任务 {job_id} 尚未完成（{job.status_label}），没有结果文件")
    path = runner.result_path(job)
    if path is None:
        raise NotFound(f"任务 {job_id} 没有结果文件 / no result file")
    return FileResponse(
        path,
        filename=job.result_name or path.name,
        media_type=MEDIA_TYPES.get(path.suffix, "application/octet-stream"),
    )
