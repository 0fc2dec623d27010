"""Measurement API: base runs (基础测算) — start one, list them, read one, its weights
and its trim fences.
"""

from __future__ import annotations

from typing import Any

import polars as pl
from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, Response
from sqlalchemy import select

from yibao.accounts.models import User
from yibao.api.deps import Db, registry_of, request_actor, runner_of
from yibao.api.openapi import CSV, XLSX, file_answers
from yibao.kit.bounds import DbId
from yibao.measurement import service as svc
from yibao.measurement.endpoints.common import ANALYST, Fmt, region_of, table_response
from yibao.measurement.models import MeasurementRun, RunFence
from yibao.measurement.schemas import RunCreate, RunFenceRow, RunOut, RunStarted, RunWeightRow

router = APIRouter()


def run_out(db: Db, run: MeasurementRun) -> dict[str, Any]:
    state = svc.run_with_state(db, run)
    return svc.jsonable_record(
        {
            "id": run.id,
            "name": run.name,
            "plan_id": run.plan_id,
            "plan_version": run.plan_version,
            "years": run.years,
            "status": state.status,
            "error": state.error,
            "job_id": run.job_id,
            "params": run.params,
            "summary": run.summary,
            "created_by": run.created_by,
            "created_at": run.created_at.isoformat(),
        }
    )


@router.post(
    "/runs",
    status_code=202,
    response_model=RunStarted,
    summary="新建基础测算（后台任务）：排除、裁剪、相对权重",
)
def create_run(body: RunCreate, request: Request, db: Db, user: User = ANALYST) -> JSONResponse:
    # answered as before through JSONResponse (json.dumps), the body checked by the model
    run, job = svc.start_run(
        db,
        runner_of(request),
        registry_of(request),
        region_code=user.region_code or "",
        name=body.name,
        plan_id=body.plan_id,
        years=body.years,
        params={"exclusions": body.exclusions, "trim": body.trim, "weights": body.weights},
        actor=request_actor(request, user),
    )
    started = RunStarted.model_validate({**run_out(db, run), "job_url": f"/api/jobs/{job.id}"})
    return JSONResponse(status_code=202, content=started.model_dump())


@router.get("/runs", summary="基础测算列表（本人辖区）")
def list_runs(db: Db, user: User = ANALYST) -> list[RunOut]:
    rows = db.scalars(
        select(MeasurementRun)
        .where(MeasurementRun.region_code.startswith(region_of(user)))
        .order_by(MeasurementRun.id.desc())
    )
    return [RunOut.model_validate(run_out(db, r)) for r in rows]


@router.get("/runs/{run_id}", summary="一次基础测算：参数、状态与结果概要")
def get_run(run_id: DbId, db: Db, user: User = ANALYST) -> RunOut:
    return RunOut.model_validate(run_out(db, svc.get_run(db, run_id, region_of(user))))


@router.get(
    "/runs/{run_id}/weights",
    response_model=list[RunWeightRow],
    responses=file_answers(CSV, XLSX),
    summary="基础测算的 DRG 相对权重（JSON、CSV 或 Excel）",
)
def run_weights(
    run_id: DbId,
    db: Db,
    user: User = ANALYST,
    mdc: str | None = None,
    flagged: bool | None = None,
    format: Fmt = "json",
) -> Response:
    run = svc.get_run(db, run_id, region_of(user))
    frame = svc.run_weights_frame(db, run.id)
    if mdc:
        frame = frame.filter(pl.col("mdc") == mdc)
    if flagged is not None:
        frame = frame.filter(pl.col("needs_review") == flagged)
    return table_response(frame, format, f"run{run.id}_weights")


@router.get(
    "/runs/{run_id}/fences",
    response_model=list[RunFenceRow],
    responses=file_answers(CSV, XLSX),
    summary="基础测算的裁剪界值（各 DRG × 年度，JSON、CSV 或 Excel）",
)
def run_fences(
    run_id: DbId,
    db: Db,
    user: User = ANALYST,
    drg: str | None = None,
    format: Fmt = "json",
) -> Response:
    run = svc.get_run(db, run_id, region_of(user))
    stmt = select(RunFence).where(RunFence.run_id == run.id).order_by(RunFence.drg, RunFence.year)
    if drg:
        stmt = stmt.where(RunFence.drg == drg)
    cols = ("drg", "year", "lower", "upper", "below", "above", "kept", "applied")
    frame = pl.DataFrame(
        [tuple(getattr(f, c) for c in cols) for f in db.scalars(stmt)],
        schema=list(cols),
        orient="row",
    )
    if format != "json":  # a file is read by people: the fences in yuan to the fen
        frame = frame.with_columns(pl.col("lower", "upper").cast(pl.Float64).round(2))
    return table_response(frame, format, f"run{run.id}_fences")
