"""Measurement API: payment standards (支付标准) — publish from a weight plan and a rate
plan, approve a pending table, import a table, list them, read one (JSON, CSV, XLSX).
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from fastapi import APIRouter, File, Form, Request, UploadFile
from fastapi.responses import JSONResponse, Response
from sqlalchemy import select

from yibao.accounts.models import User
from yibao.api.deps import Db, registry_of, request_actor
from yibao.api.inline import light_read
from yibao.api.openapi import CSV, XLSX, download, file_answers
from yibao.kit.bounds import Day, DbId
from yibao.measurement import service as svc
from yibao.measurement.endpoints.common import ANALYST, Fmt, region_of, table_response
from yibao.measurement.models import PaymentStandardSet
from yibao.measurement.schemas import StandardSetDetail, StandardSetOut, StandardsPublish

router = APIRouter()


def std_out(row: PaymentStandardSet) -> dict[str, Any]:
    return svc.jsonable_record(
        {
            "id": row.id,
            "name": row.name,
            "plan_id": row.plan_id,
            "source": row.source,
            "weight_plan_id": row.weight_plan_id,
            "rate_plan_id": row.rate_plan_id,
            "valid_from": row.valid_from,
            "valid_to": row.valid_to,
            "status": row.status,
            "checksum": row.checksum,
            "payment_rules": svc.rules_json(svc.payment_rules(row.payment_rules)),
        }
    )


@router.post(
    "/standards", status_code=201, summary="由权重方案与费率方案发布支付标准（先校验预算偏差）"
)
def publish_standards(
    body: StandardsPublish, request: Request, db: Db, user: User = ANALYST
) -> StandardSetOut:
    region = region_of(user)
    wp = svc.get_weight_plan(db, body.weight_plan_id, region)
    row = svc.publish_standards(
        db,
        weight_plan=wp,
        rate_row=svc.get_rate_plan(db, body.rate_plan_id, region),
        run=svc.get_run(db, wp.run_id, region),
        name=body.name,
        valid_from=body.valid_from,
        valid_to=body.valid_to,
        actor=request_actor(request, user),
        four_eyes=request.app.state.settings.publish_four_eyes,
        registry=registry_of(request),
        budget_tolerance=Decimal(str(request.app.state.settings.budget_tolerance)),
        confirm_budget_gap=body.confirm_budget_gap,
        rules=body.payment_rules or None,
    )
    return StandardSetOut.model_validate(std_out(row))


@router.post("/standards/{set_id}/approve")
def approve_standards(
    set_id: DbId, request: Request, db: Db, user: User = ANALYST
) -> StandardSetOut:
    """批准发布待批准的支付标准（启用双人复核时；须由提交人以外的用户批准）。"""
    row = svc.get_standard_set(db, set_id, region_of(user))
    svc.do_approve_standards(db, row, actor=request_actor(request, user))
    return StandardSetOut.model_validate(std_out(row))


@router.post("/standards/import", status_code=201, summary="导入已有的支付标准表（Excel 或 CSV）")
def import_standards(
    request: Request,
    db: Db,
    user: User = ANALYST,
    file: UploadFile = File(...),
    plan_id: str = Form("chs-drg-1.1", max_length=40),
    valid_from: Day = Form(...),
    valid_to: Day | None = Form(None),
    name: str = Form("", max_length=100),
    payment_rules: str = Form(
        "", max_length=10_000, description="支付规则（JSON，与发布接口的 payment_rules 相同）"
    ),
) -> StandardSetOut:
    row = svc.import_standards(
        db,
        registry_of(request),
        region_code=user.region_code or "",
        plan_id=plan_id,
        content=file.file.read(),
        filename=file.filename or "upload",
        name=name,
        valid_from=valid_from,
        valid_to=valid_to,
        actor=request_actor(request, user),
        four_eyes=request.app.state.settings.publish_four_eyes,
        rules=svc.rules_text(payment_rules),
    )
    return StandardSetOut.model_validate(std_out(row))


@router.get("/standards", summary="支付标准列表（本人辖区）")
@light_read
def list_standards(db: Db, user: User = ANALYST) -> list[StandardSetOut]:
    rows = db.scalars(
        select(PaymentStandardSet)
        .where(PaymentStandardSet.region_code.startswith(region_of(user)))
        .order_by(PaymentStandardSet.valid_from.desc(), PaymentStandardSet.id.desc())
    )
    return [StandardSetOut.model_validate(std_out(r)) for r in rows]


@router.get(
    "/standards/{set_id}",
    response_model=StandardSetDetail,
    responses=file_answers(CSV, XLSX),
    summary="一套支付标准（JSON、CSV 或 Excel）",
)
def get_standards(
    set_id: DbId,
    db: Db,
    user: User = ANALYST,
    format: Fmt = "json",
) -> Response:
    row = svc.get_standard_set(db, set_id, region_of(user))
    if format == "csv":
        data = svc.standards_csv(svc.standards_frame(db, row.id))
        return download(data, CSV, f"standards_{row.id}.csv", f"支付标准_{row.id}.csv")
    if format == "xlsx":
        return table_response(svc.standards_frame(db, row.id), "xlsx", f"standards_{row.id}")
    # answered as before through JSONResponse (json.dumps), the body checked by the model
    detail = StandardSetDetail.model_validate(
        {**std_out(row), "items": svc._jsonable(svc.standards_frame(db, row.id).to_dicts())}
    )
    return JSONResponse(detail.model_dump())
