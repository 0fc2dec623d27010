"""JSON API for measurement (测算): runs, weight plans, rate plans, simulations, standards."""

from __future__ import annotations

import io
from decimal import Decimal
from typing import Any, Literal

import polars as pl
from fastapi import APIRouter, File, Form, Query, Request, UploadFile
from fastapi.responses import JSONResponse, Response
from pydantic import BaseModel, Field
from sqlalchemy import select

from yibao.accounts.models import User
from yibao.accounts.roles import Permission
from yibao.api.deps import Db, registry_of, request_actor, require, runner_of
from yibao.api.openapi import CSV, XLSX, file_answers
from yibao.kit.bounds import INT4_MAX, Day, DbId, Number, Year
from yibao.kit.errors import ValidationFailed
from yibao.kit.exports import csv_safe, labelled, write_xlsx
from yibao.measurement import service as svc
from yibao.measurement import (
    tasks,  # noqa: F401  (registers the job kind)
    views,
    workflows,
)
from yibao.measurement.models import (
    MeasurementRun,
    PaymentStandardSet,
    RatePlanRow,
    RunFence,
    Simulation,
    WeightPlan,
)

router = APIRouter(prefix="/api/measurement", tags=["measurement 测算"])
ANALYST = require(Permission.MEASURE)


def region_of(user: User) -> str:
    return views.region_of(user.region_code)


def table_response(frame: pl.DataFrame, fmt: str, name: str) -> Response:
    """A frame as JSON rows, CSV or XLSX (every table can be exported; text stays text)."""
    if fmt == "csv":
        return Response(
            csv_safe(frame).write_csv().encode("utf-8-sig"),
            media_type="text/csv; charset=utf-8",
            headers={"content-disposition": f'attachment; filename="{name}.csv"'},
        )
    if fmt == "xlsx":
        buf = io.BytesIO()
        shown = labelled(frame, views.EXPORT_LABELS, views.EXPORT_VALUES)
        write_xlsx(shown, buf, worksheet=name[:31], autofit=True)
        return Response(
            buf.getvalue(),
            media_type=XLSX,
            headers={"content-disposition": f'attachment; filename="{name}.xlsx"'},
        )
    return JSONResponse(svc._jsonable(frame.to_dicts()))


Fmt = Literal["json", "csv", "xlsx"]


# ---------------------------------------------------------------- runs


class RunCreate(BaseModel):
    name: str = Field(min_length=1, max_length=100)
    plan_id: str = Field("chs-drg-1.1", max_length=40)
    years: list[Year] = Field(min_length=1, max_length=10)
    exclusions: dict[str, Any] = {}
    trim: dict[str, Any] = {}
    weights: dict[str, Any] = {}


def run_out(db: Db, run: MeasurementRun) -> dict[str, Any]:
    state = views.run_with_state(db, run)
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


@router.post("/runs", status_code=202, summary="新建基础测算（后台任务）：排除、裁剪、相对权重")
def create_run(body: RunCreate, request: Request, db: Db, user: User = ANALYST) -> JSONResponse:
    run, job = workflows.start_run(
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
    return JSONResponse(
        status_code=202, content={**run_out(db, run), "job_url": f"/api/jobs/{job.id}"}
    )


@router.get("/runs", summary="基础测算列表（本人辖区）")
def list_runs(db: Db, user: User = ANALYST) -> list[dict[str, Any]]:
    rows = db.scalars(
        select(MeasurementRun)
        .where(MeasurementRun.region_code.startswith(region_of(user)))
        .order_by(MeasurementRun.id.desc())
    )
    return [run_out(db, r) for r in rows]


@router.get("/runs/{run_id}", summary="一次基础测算：参数、状态与结果概要")
def get_run(run_id: DbId, db: Db, user: User = ANALYST) -> dict[str, Any]:
    return run_out(db, svc.get_run(db, run_id, region_of(user)))


@router.get(
    "/runs/{run_id}/weights",
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
    return table_response(frame, format, f"run{run.id}_fences")


# ---------------------------------------------------------------- weight plans


class WeightPlanCreate(BaseModel):
    run_id: DbId
    code: str = Field(min_length=1, max_length=40)
    name: str = Field("", max_length=100)
    adjustments: dict[str, Any] = {}


class WeightPlanUpdate(BaseModel):
    adjustments: dict[str, Any]


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
) -> dict[str, Any]:
    run = svc.get_run(db, body.run_id, region_of(user))
    plan = svc.do_create_weight_plan(
        db,
        run=run,
        code=body.code,
        name=body.name,
        adjustments=body.adjustments,
        actor=request_actor(request, user),
    )
    return wp_out(plan)


@router.get("/weight-plans", summary="权重方案列表（本人辖区）")
def list_weight_plans(db: Db, user: User = ANALYST) -> list[dict[str, Any]]:
    rows = db.scalars(
        select(WeightPlan)
        .where(WeightPlan.region_code.startswith(region_of(user)))
        .order_by(WeightPlan.code, WeightPlan.version.desc())
    )
    return [wp_out(p) for p in rows]


@router.get("/weight-plans/{plan_id}", summary="一个权重方案：状态、调整与合计")
def get_weight_plan(plan_id: DbId, db: Db, user: User = ANALYST) -> dict[str, Any]:
    return wp_out(svc.get_weight_plan(db, plan_id, region_of(user)))


@router.get(
    "/weight-plans/{plan_id}/items",
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
) -> dict[str, Any]:
    plan = svc.get_weight_plan(db, plan_id, region_of(user))
    svc.do_update_weight_plan(
        db, plan, adjustments=body.adjustments, actor=request_actor(request, user)
    )
    return wp_out(plan)


@router.post("/weight-plans/{plan_id}/{action}", summary="权重方案审批、发布、退回草稿或停用")
def transition_weight_plan(
    plan_id: DbId, action: str, request: Request, db: Db, user: User = ANALYST
) -> dict[str, Any]:
    plan = svc.get_weight_plan(db, plan_id, region_of(user))
    svc.do_transition_weight_plan(
        db,
        plan,
        action,
        actor=request_actor(request, user),
        four_eyes=request.app.state.settings.publish_four_eyes,
    )
    return wp_out(plan)


# ---------------------------------------------------------------- rate plans


class RatePlanCreate(BaseModel):
    weight_plan_id: DbId
    name: str = Field("", max_length=100)
    volume_year: Year
    params: dict[str, Any] = {}


class RatesSet(BaseModel):
    level_rates: dict[str, Number]


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


@router.post("/rate-plans", status_code=201, summary="新建费率方案：预算与各级费率")
def create_rate_plan(
    body: RatePlanCreate, request: Request, db: Db, user: User = ANALYST
) -> dict[str, Any]:
    wp = svc.get_weight_plan(db, body.weight_plan_id, region_of(user))
    row = workflows.create_rate_plan(
        db,
        registry_of(request),
        weight_plan=wp,
        run=svc.get_run(db, wp.run_id, region_of(user)),
        name=body.name,
        volume_year=body.volume_year,
        params=body.params,
        actor=request_actor(request, user),
    )
    return rp_out(row)


@router.get("/rate-plans/{plan_id}", summary="一个费率方案：预算、费率与参数")
def get_rate_plan(plan_id: DbId, db: Db, user: User = ANALYST) -> dict[str, Any]:
    return rp_out(svc.get_rate_plan(db, plan_id, region_of(user)))


@router.put("/rate-plans/{plan_id}/rates", summary="手工设定草稿费率方案的各级费率")
def set_rates(
    plan_id: DbId, body: RatesSet, request: Request, db: Db, user: User = ANALYST
) -> dict[str, Any]:
    row = svc.get_rate_plan(db, plan_id, region_of(user))
    svc.do_set_rates(db, row, body.level_rates, actor=request_actor(request, user))
    return rp_out(row)


# ---------------------------------------------------------------- simulations


class SimulationCreate(BaseModel):
    weight_plan_id: DbId
    rate_plan_id: DbId
    year: Year
    name: str = Field("", max_length=100)
    params: dict[str, Any] = {}
    solve_budget: bool = False


def sim_out(sim: Simulation) -> dict[str, Any]:
    return svc.jsonable_record(
        {
            "id": sim.id,
            "name": sim.name,
            "weight_plan_id": sim.weight_plan_id,
            "rate_plan_id": sim.rate_plan_id,
            "year": sim.year,
            "params": sim.params,
            "rates": sim.rates,
            "results": sim.results,
        }
    )


@router.post(
    "/simulations",
    status_code=201,
    summary="模拟测算：按支付标准模拟一年病例的支付（可按预算求解费率）",
)
def create_simulation(
    body: SimulationCreate, request: Request, db: Db, user: User = ANALYST
) -> dict[str, Any]:
    region = region_of(user)
    wp = svc.get_weight_plan(db, body.weight_plan_id, region)
    rate_row = svc.get_rate_plan(db, body.rate_plan_id, region)
    if rate_row.weight_plan_id != wp.id:
        raise ValidationFailed("rate_plan_id：费率方案不是基于该权重方案", field="rate_plan_id")
    sim = workflows.create_simulation(
        db,
        registry_of(request),
        weight_plan=wp,
        rate_row=rate_row,
        run=svc.get_run(db, wp.run_id, region),
        name=body.name,
        year=body.year,
        params=body.params,
        solve_budget=body.solve_budget,
        actor=request_actor(request, user),
    )
    return sim_out(sim)


@router.post("/simulations/{sim_id}/apply-rates")
def apply_simulation_rates(
    sim_id: DbId, request: Request, db: Db, user: User = ANALYST
) -> dict[str, Any]:
    """应用求解的费率：把按预算求解的费率写入该模拟所用的费率方案（草稿）。"""
    region = region_of(user)
    sim = svc.get_simulation(db, sim_id, region)
    row = svc.get_rate_plan(db, sim.rate_plan_id, region)
    svc.do_apply_simulation_rates(db, sim, row, actor=request_actor(request, user))
    return rp_out(row)


@router.get("/simulations/{sim_id}", summary="一次模拟测算的结果")
def get_simulation(sim_id: DbId, db: Db, user: User = ANALYST) -> dict[str, Any]:
    return sim_out(svc.get_simulation(db, sim_id, region_of(user)))


@router.get("/simulations", summary="对比多个模拟方案的合计与各级结果")
def compare_simulations(
    db: Db,
    ids: str = Query(max_length=200, description="方案编号，逗号分隔，如 1,2,3"),
    user: User = ANALYST,
) -> dict[str, Any]:
    """Side-by-side totals and level figures of several scenarios (``ids=1,2,3``)."""
    try:
        wanted = [int(x) for x in ids.split(",") if x.strip()]
    except ValueError:
        raise ValidationFailed(f"ids：应为逗号分隔的编号（收到 {ids!r}）", field="ids") from None
    if not all(1 <= i <= INT4_MAX for i in wanted):
        raise ValidationFailed(f"ids：编号应在 1 到 {INT4_MAX} 之间（收到 {ids!r}）", field="ids")
    sims = [svc.get_simulation(db, i, region_of(user)) for i in wanted]
    return {
        "scenarios": [
            {
                "id": s.id,
                "name": s.name,
                "year": s.year,
                "rates": s.rates,
                "totals": s.results.get("totals"),
                "by_level": s.results.get("by_level"),
                "by_class": s.results.get("by_class"),
            }
            for s in sims
        ]
    }


# ---------------------------------------------------------------- indices


@router.get("/indices", summary="医院（或科室）CMI、费用与时间消耗指数、低风险死亡率")
def indices(
    request: Request,
    db: Db,
    weight_plan_id: DbId,
    year: Year,
    user: User = ANALYST,
    by: Literal["hospital", "department"] = "hospital",
    format: Fmt = "json",
) -> Response:
    wp = svc.get_weight_plan(db, weight_plan_id, region_of(user))
    table = workflows.indices_table(
        db,
        registry_of(request),
        weight_plan=wp,
        run=svc.get_run(db, wp.run_id, region_of(user)),
        year=year,
        by=by,
        actor=request_actor(request, user),
    )
    return table_response(table, format, f"indices_{year}_{by}")


# ---------------------------------------------------------------- standards


class StandardsPublish(BaseModel):
    weight_plan_id: DbId
    rate_plan_id: DbId
    valid_from: Day
    valid_to: Day | None = None
    name: str = Field("", max_length=100)
    confirm_budget_gap: bool = Field(
        False, description="模拟支付与预算偏差超过允许范围时，确认仍按此费率发布"
    )


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
        }
    )


@router.post(
    "/standards", status_code=201, summary="由权重方案与费率方案发布支付标准（先校验预算偏差）"
)
def publish_standards(
    body: StandardsPublish, request: Request, db: Db, user: User = ANALYST
) -> dict[str, Any]:
    region = region_of(user)
    wp = svc.get_weight_plan(db, body.weight_plan_id, region)
    row = workflows.publish_standards(
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
    )
    return std_out(row)


@router.post("/standards/{set_id}/approve")
def approve_standards(
    set_id: DbId, request: Request, db: Db, user: User = ANALYST
) -> dict[str, Any]:
    """批准发布待批准的支付标准（启用双人复核时；须由提交人以外的用户批准）。"""
    row = svc.get_standard_set(db, set_id, region_of(user))
    svc.do_approve_standards(db, row, actor=request_actor(request, user))
    return std_out(row)


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
) -> dict[str, Any]:
    row = workflows.import_standards(
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
    )
    return std_out(row)


@router.get("/standards", summary="支付标准列表（本人辖区）")
def list_standards(db: Db, user: User = ANALYST) -> list[dict[str, Any]]:
    rows = db.scalars(
        select(PaymentStandardSet)
        .where(PaymentStandardSet.region_code.startswith(region_of(user)))
        .order_by(PaymentStandardSet.valid_from.desc(), PaymentStandardSet.id.desc())
    )
    return [std_out(r) for r in rows]


@router.get(
    "/standards/{set_id}",
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
        return Response(
            data,
            media_type="text/csv; charset=utf-8",
            headers={"content-disposition": f'attachment; filename="standards_{row.id}.csv"'},
        )
    if format == "xlsx":
        return table_response(svc.standards_frame(db, row.id), "xlsx", f"standards_{row.id}")
    return JSONResponse(
        {**std_out(row), "items": svc._jsonable(svc.standards_frame(db, row.id).to_dicts())}
    )
