"""Measurement API: rate plans (费率方案) — create from a weight plan, read, set the
level rates of a draft by hand.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse

from yibao.accounts.models import User
from yibao.api.deps import Db, request_actor, runner_of
from yibao.kit.bounds import DbId
from yibao.measurement import service as svc
from yibao.measurement.endpoints.common import ANALYST, accepted, region_of
from yibao.measurement.models import RatePlanRow
from yibao.measurement.schemas import JobAccepted, RatePlanCreate, RatePlanOut, RatesSet
from yibao.measurement.service.background import submit_rate_plan

router = APIRouter()


def rp_out(row: RatePlanRow) -> dict[str, Any]:
    return svc.jsonable_record(
        {
            "id": row.id,
            "name": row.name,
            "weight_plan_id": row.weight_plan_id,
            "volume_year": row.volume_year,
            "params": row.params,
            "plan": row.plan,
            "status": row.status,
        }
    )


@router.post(
    "/rate-plans",
    status_code=202,
    response_model=JobAccepted,
    summary="新建费率方案（后台任务）：按病例量与预算计算各级费率",
)
def create_rate_plan(
    body: RatePlanCreate, request: Request, db: Db, user: User = ANALYST
) -> JSONResponse:
    job = submit_rate_plan(
        db,
        runner_of(request),
        weight_plan=svc.get_weight_plan(db, body.weight_plan_id, region_of(user)),
        name=body.name,
        volume_year=body.volume_year,
        params=body.params,
        actor=request_actor(request, user),
    )
    return accepted(job)


@router.get("/rate-plans/{plan_id}", summary="一个费率方案：预算、费率与参数")
def get_rate_plan(plan_id: DbId, db: Db, user: User = ANALYST) -> RatePlanOut:
    return RatePlanOut.model_validate(rp_out(svc.get_rate_plan(db, plan_id, region_of(user))))


@router.put("/rate-plans/{plan_id}/rates", summary="手工设定草稿费率方案的各级费率")
def set_rates(
    plan_id: DbId, body: RatesSet, request: Request, db: Db, user: User = ANALYST
) -> RatePlanOut:
    row = svc.get_rate_plan(db, plan_id, region_of(user))
    svc.do_set_rates(db, row, body.level_rates, actor=request_actor(request, user))
    return RatePlanOut.model_validate(rp_out(row))
