"""Measurement API: hospital (or department) indices — CMI, cost and time indices,
low-risk mortality — of a year under a weight plan.
"""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, Response

from yibao.accounts.models import User
from yibao.api.deps import Db, request_actor, runner_of
from yibao.api.openapi import CSV, XLSX, file_answers
from yibao.kit.bounds import DbId
from yibao.measurement import service as svc
from yibao.measurement.endpoints.common import (
    ANALYST,
    Fmt,
    accepted,
    region_of,
    table_response,
)
from yibao.measurement.schemas import IndexRow, IndicesCreate, JobAccepted
from yibao.measurement.service.background import indices_of, submit_indices

router = APIRouter()


@router.post(
    "/indices",
    status_code=202,
    response_model=JobAccepted,
    summary="计算医院（或科室）CMI、费用与时间消耗指数、低风险组死亡率（后台任务）",
)
def start_indices(
    body: IndicesCreate, request: Request, db: Db, user: User = ANALYST
) -> JSONResponse:
    job = submit_indices(
        db,
        runner_of(request),
        weight_plan=svc.get_weight_plan(db, body.weight_plan_id, region_of(user)),
        year=body.year,
        by=body.by,
        actor=request_actor(request, user),
    )
    return accepted(job)


@router.get(
    "/indices/{job_id}",
    response_model=list[IndexRow],
    responses=file_answers(CSV, XLSX),
    summary="一次医院指标计算的结果（任务完成后；format=csv/xlsx 导出）",
)
def indices(job_id: DbId, db: Db, user: User = ANALYST, format: Fmt = "json") -> Response:
    job, table = indices_of(db, job_id)
    params = job.summary or {}
    return table_response(table, format, f"indices_{params.get('year')}_{params.get('by')}")
