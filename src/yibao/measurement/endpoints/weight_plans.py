"""Measurement API: weight plans (权重方案) — create from a run, list, read, items,
adjust a draft, approve / publish / reopen / retire.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import Response
from sqlalchemy import select

from yibao.accounts.models import User
from yibao.api.deps import Db, request_actor
from yibao.api.openapi import CSV, XLSX, file_answers
from yibao.kit.bounds import DbId
from yibao.measurement import service as svc
from yibao.measurement.endpoints.common import ANALYST, Fmt, region_of, table_response
from yibao.measurement.models import WeightPlan
from yibao.measurement.schemas import (
    WeightPlanCreate,
    WeightPlanItemRow,
    WeightPlanOut,
    WeightPlanUpdate,
)

router = APIRouter()


def wp_out(plan: WeightPlan) -> dict[str, Any]:
    return svc.jsonable_record(
        {
            "id": plan.id,
            "code": plan.code,
            "version": plan.version,
            "name": plan.name,
            "run_id": plan.run_id,
            "status": plan.status,
            "adjustments": plan.adjustments,
            "total_before": plan.total_before,
            "total_after": plan.total_after,
            "scale": plan.scale,
        }
    )


@router.post("/weight-plans", status_code=201, summary="由基础测算新建权重方案（可调整、倾斜）")
def create_weight_plan(
    body: WeightPlanCreate, request: Request, db: Db, user: User = ANALYST
) -> WeightPlanOut:
    run = svc.get_run(db, body.run_id, region_of(user))
    plan = svc.do_create_weight_plan(
        db,
        run=run,
        code=body.code,
        name=body.name,
        adjustments=body.adjustments,
        actor=request_actor(request, user),
    )
    return WeightPlanOut.model_validate(wp_out(plan))


@router.get("/weight-plans", summary="权重方案列表（本人辖区）")
def list_weight_plans(db: Db, user: User = ANALYST) -> list[WeightPlanOut]:
    rows = db.scalars(
        select(WeightPlan)
        .where(WeightPlan.region_code.startswith(region_of(user)))
        .order_by(WeightPlan.code, WeightPlan.version.desc())
    )
    return [WeightPlanOut.model_validate(wp_out(p)) for p in rows]


@router.get("/weight-plans/{plan_id}", summary="一个权重方案：状态、调整与合计")
def get_weight_plan(plan_id: DbId, db: Db, user: User = ANALYST) -> WeightPlanOut:
    return WeightPlanOut.model_validate(wp_out(svc.get_weight_plan(db, plan_id, region_of(user))))


@router.get(
    "/weight-plans/{plan_id}/items",
    response_model=list[WeightPlanItemRow],
    responses=file_answers(CSV, XLSX),
    summary="权重方案的各 DRG 权重（JSON、CSV 或 Excel）",
)
def weight_plan_items(
    plan_id: DbId,
    db: Db,
    user: User = ANALYST,
    format: Fmt = "json",
) -> Response:
    plan = svc.get_weight_plan(db, plan_id, region_of(user))
    return table_response(
        svc.weight_plan_frame(db, plan.id), format, f"{plan.code}_v{plan.version}"
    )


@router.patch("/weight-plans/{plan_id}", summary="修改草稿权重方案的调整（倾斜、人工权重）")
def update_weight_plan(
    plan_id: DbId, body: WeightPlanUpdate, request: Request, db: Db, user: User = ANALYST
) -> WeightPlanOut:
    plan = svc.get_weight_plan(db, plan_id, region_of(user))
    svc.do_update_weight_plan(
        db, plan, adjustments=body.adjustments, actor=request_actor(request, user)
    )
    return WeightPlanOut.model_validate(wp_out(plan))


@router.post("/weight-plans/{plan_id}/{action}", summary="权重方案审批、发布、退回草稿或停用")
def transition_weight_plan(
    plan_id: DbId, action: str, request: Request, db: Db, user: User = ANALYST
) -> WeightPlanOut:
    plan = svc.get_weight_plan(db, plan_id, region_of(user))
    svc.do_transition_weight_plan(
        db,
        plan,
        action,
        actor=request_actor(request, user),
        four_eyes=request.app.state.settings.publish_four_eyes,
    )
    return WeightPlanOut.model_validate(wp_out(plan))
