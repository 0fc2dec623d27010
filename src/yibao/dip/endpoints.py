"""DIP API (issue 14): build a catalogue from the region's cases (background job), list
and read catalogues, their groups (JSON or Excel), compare two versions, publish."""

from __future__ import annotations

from typing import Any, Literal

from fastapi import APIRouter, File, Form, Query, Request, UploadFile
from fastapi.responses import JSONResponse, Response

from yibao.accounts.models import User
from yibao.accounts.roles import Permission
from yibao.api.deps import Db, registry_of, request_actor, require, runner_of
from yibao.api.openapi import XLSX, download, file_answers
from yibao.dip import (  # noqa: F401  (tasks: jobs)
    compare,
    schemes,
    service,
    sheets,
    simulation,
    tasks,
)
from yibao.dip.models import (
    SCHEME_STATUSES,
    STATUS_LABELS,
    DipCatalogue,
    DipScheme,
    DipSimulation,
)
from yibao.dip.schemas import (
    CatalogueCreate,
    CatalogueOut,
    CatalogueStarted,
    ChangedGroup,
    CompareDrgRow,
    CompareOut,
    CompareRow,
    DiffOut,
    GroupOut,
    GroupPage,
    SchemeCreate,
    SchemeOut,
    SimulationCreate,
    SimulationDetail,
    SimulationHospitalOut,
    SimulationOut,
    SimulationStarted,
)
from yibao.kit.bounds import DbId, PageNo, PageSize
from yibao.kit.paging import clamp_page
from yibao.kit.tables import read_table, table_limits
from yibao.regions.models import region_prefix

router = APIRouter(prefix="/api/dip", tags=["dip 按病种分值付费"])
ANALYST = require(Permission.MEASURE)


def _region(user: User) -> str:
    return region_prefix(user.region_code or "\x00")


def _iso(value: Any) -> str | None:
    return value.isoformat() if value is not None else None


def catalogue_out(db: Db, row: DipCatalogue) -> dict[str, Any]:
    status, error = service.state(db, row)
    return {
        "id": row.id,
        "code": row.code,
        "version": row.version,
        "name": row.name,
        "plan_id": row.plan_id,
        "years": row.years,
        "status": status,
        "status_label": STATUS_LABELS.get(status, status),
        "error": error,
        "job_id": row.job_id,
        "params": row.params,
        "summary": row.summary,
        "overall_mean": _text(row.overall_mean),
        "created_by": row.created_by,
        "created_at": row.created_at.isoformat(),
        "built_at": _iso(row.built_at),
        "published_at": _iso(row.published_at),
    }


def _text(value: Any) -> str | None:
    return None if value is None else str(value)


def _group(r: dict[str, Any]) -> GroupOut:
    money = ("mean_cost", "score", "standard_3", "standard_2", "standard_1")
    return GroupOut.model_validate({**r, **{k: _text(r.get(k)) for k in money}})


@router.post(
    "/catalogues",
    status_code=202,
    response_model=CatalogueStarted,
    summary="新建 DIP 目录（后台任务）：由历史病例生成核心与综合病种并计算分值",
)
def create_catalogue(
    body: CatalogueCreate, request: Request, db: Db, user: User = ANALYST
) -> JSONResponse:
    row, job = service.start_build(
        db,
        runner_of(request),
        registry_of(request),
        region_code=user.region_code or "",
        code=body.code,
        name=body.name,
        plan_id=body.plan_id,
        years=body.years,
        params={"catalogue": body.catalogue, "scores": body.scores},
        actor=request_actor(request, user),
    )
    out = CatalogueStarted.model_validate(
        {**catalogue_out(db, row), "job_url": f"/api/jobs/{job.id}"}
    )
    return JSONResponse(status_code=202, content=out.model_dump())


@router.post(
    "/catalogues/import",
    status_code=201,
    response_model=CatalogueOut,
    summary="导入 DIP 目录（Excel / CSV，导出文件的格式）为新的草稿版本；有错误时不导入",
)
def import_catalogue(
    request: Request,
    db: Db,
    user: User = ANALYST,
    file: UploadFile = File(..., description="导出的 DIP 目录文件（可修改后导入）"),
    code: str = Form(..., max_length=40, description="目录编码（已有编码则为其新版本）"),
    name: str = Form(..., max_length=100, description="目录名称"),
    plan_id: str = Form("chs-drg-1.1", max_length=40, description="手术操作字典所在的分组方案"),
) -> JSONResponse:
    filename = file.filename or "upload.xlsx"
    frame = read_table(file.file.read(), filename, table_limits(request.app.state.settings))
    row = sheets.do_import(
        db,
        registry_of(request),
        sheets.read_groups(frame, filename),
        region_code=user.region_code or "",
        code=code,
        name=name,
        plan_id=plan_id,
        source=filename[:200],
        actor=request_actor(request, user),
    )
    out = CatalogueOut.model_validate(catalogue_out(db, row))
    return JSONResponse(status_code=201, content=out.model_dump())


@router.get("/catalogues", summary="DIP 目录列表（本人辖区）")
def list_catalogues(db: Db, user: User = ANALYST) -> list[CatalogueOut]:
    return [
        CatalogueOut.model_validate(catalogue_out(db, r))
        for r in service.list_catalogues(db, _region(user))
    ]


@router.get(
    "/catalogues/{catalogue_id}",
    response_model=CatalogueOut,
    summary="一个 DIP 目录版本：参数、状态与概要（format=xlsx 导出全部病种）",
    responses=file_answers(XLSX),
)
def get_catalogue(
    catalogue_id: DbId,
    db: Db,
    user: User = ANALYST,
    format: Literal["json", "xlsx"] = "json",
) -> CatalogueOut | Response:
    row = service.get_catalogue(db, catalogue_id, _region(user))
    if format == "xlsx":
        return download(
            service.export_xlsx(db, row),
            XLSX,
            f"dip-{row.code}-v{row.version}.xlsx",
            f"DIP目录-{row.code}-第{row.version}版.xlsx",
        )
    return CatalogueOut.model_validate(catalogue_out(db, row))


@router.get("/catalogues/{catalogue_id}/groups", summary="DIP 目录的病种与分值（分页）")
def list_groups(
    catalogue_id: DbId,
    db: Db,
    user: User = ANALYST,
    kind: Literal["core", "comprehensive"] | None = Query(None, description="病种类别"),
    q: str | None = Query(None, max_length=40, description="病种编码或诊断分类（前缀）"),
    page: PageNo = 1,
    size: PageSize = 50,
) -> GroupPage:
    row = service.get_catalogue(db, catalogue_id, _region(user))
    frame = service.groups_frame(db, row.id)
    if kind:
        frame = frame.filter(frame["kind"] == kind)
    if q:
        frame = frame.filter(frame["code"].str.starts_with(q.strip()))
    page, size = clamp_page(page, size)
    items = frame.slice((page - 1) * size, size).to_dicts()
    return GroupPage(total=frame.height, page=page, size=size, items=[_group(r) for r in items])


@router.get(
    "/catalogues/{catalogue_id}/diff/{other_id}",
    summary="比较两个 DIP 目录版本：新增、删除与分值或病例数变化的病种",
)
def diff_catalogues(catalogue_id: DbId, other_id: DbId, db: Db, user: User = ANALYST) -> DiffOut:
    base = service.get_catalogue(db, catalogue_id, _region(user))
    other = service.get_catalogue(db, other_id, _region(user))
    found = compare.diff(db, base, other)
    return DiffOut(
        base_id=base.id,
        other_id=other.id,
        added=[_group(r) for r in found.added],
        removed=[_group(r) for r in found.removed],
        changed=[
            ChangedGroup.model_validate(
                {
                    **c,
                    "score_before": _text(c["score_before"]),
                    "score_after": _text(c["score_after"]),
                }
            )
            for c in found.changed
        ],
    )


@router.post(
    "/catalogues/{catalogue_id}/publish",
    summary="发布 DIP 目录（发布后不可更改）",
)
def publish_catalogue(
    catalogue_id: DbId, request: Request, db: Db, user: User = ANALYST
) -> CatalogueOut:
    row = service.get_catalogue(db, catalogue_id, _region(user))
    service.do_publish(db, row, request_actor(request, user))
    return CatalogueOut.model_validate(catalogue_out(db, row))


def simulation_out(db: Db, sim: DipSimulation) -> dict[str, Any]:
    status, error = service.state(db, sim)
    return {
        "id": sim.id,
        "catalogue_id": sim.catalogue_id,
        "year": sim.year,
        "status": status,
        "status_label": STATUS_LABELS.get(status, status),
        "error": error,
        "job_id": sim.job_id,
        "params": sim.params,
        "point_value": _text(sim.point_value),
        "summary": sim.summary,
        "created_by": sim.created_by,
        "created_at": sim.created_at.isoformat(),
    }


@router.post(
    "/catalogues/{catalogue_id}/simulations",
    status_code=202,
    response_model=SimulationStarted,
    summary="按 DIP 目录模拟一个年度（后台任务）：分组、偏差调整、点值、各医院支付",
)
def create_simulation(
    catalogue_id: DbId, body: SimulationCreate, request: Request, db: Db, user: User = ANALYST
) -> JSONResponse:
    row = service.get_catalogue(db, catalogue_id, _region(user))
    params: dict[str, Any] = {
        "point_value": body.point_value,
        "budget": body.budget,
        "add_ons": body.add_ons,
        "deviation": body.deviation,
        "dynamic_add_ons": body.dynamic_add_ons or None,
    }
    if body.coefficients is not None:
        params["coefficients"] = body.coefficients
    sim, job = simulation.start_simulation(
        db,
        runner_of(request),
        row,
        year=body.year,
        params={k: v for k, v in params.items() if v is not None},
        actor=request_actor(request, user),
    )
    out = SimulationStarted.model_validate(
        {**simulation_out(db, sim), "job_url": f"/api/jobs/{job.id}"}
    )
    return JSONResponse(status_code=202, content=out.model_dump())


@router.get("/catalogues/{catalogue_id}/simulations", summary="一个 DIP 目录的模拟列表")
def list_simulations(catalogue_id: DbId, db: Db, user: User = ANALYST) -> list[SimulationOut]:
    row = service.get_catalogue(db, catalogue_id, _region(user))
    return [
        SimulationOut.model_validate(simulation_out(db, s))
        for s in simulation.simulations_of(db, row.id)
    ]


@router.get(
    "/simulations/{simulation_id}",
    response_model=SimulationDetail,
    summary="一次 DIP 模拟：点值、合计与各医院支付（format=xlsx 导出）",
    responses=file_answers(XLSX),
)
def get_simulation(
    simulation_id: DbId,
    db: Db,
    user: User = ANALYST,
    format: Literal["json", "xlsx"] = "json",
) -> SimulationDetail | Response:
    sim = simulation.get_simulation(db, simulation_id, _region(user))
    if format == "xlsx":
        return download(
            simulation.export_xlsx(db, sim),
            XLSX,
            f"dip-simulation-{sim.id}.xlsx",
            f"DIP模拟-{sim.year}-{sim.id}.xlsx",
        )
    counts = ("cases", "by_items", "low", "high", "extreme")
    hospitals = [
        SimulationHospitalOut.model_validate(
            {k: v if k in counts else str(v) for k, v in h.items()}
        )
        for h in simulation.hospitals_frame(db, sim.id).to_dicts()
    ]
    return SimulationDetail.model_validate({**simulation_out(db, sim), "hospitals": hospitals})


@router.get(
    "/simulations/{simulation_id}/compare/{drg_simulation_id}",
    response_model=CompareOut,
    summary="同一年度 DRG 与 DIP 模拟对比：各医院两种方式的支付、差额与变化率（format=xlsx 导出）",
    responses=file_answers(XLSX),
)
def compare_with_drg(
    simulation_id: DbId,
    drg_simulation_id: DbId,
    request: Request,
    db: Db,
    user: User = ANALYST,
    format: Literal["json", "xlsx"] = "json",
) -> CompareOut | Response:
    sim = simulation.get_simulation(db, simulation_id, _region(user))
    drg = compare.drg_simulation(db, drg_simulation_id, sim)
    frame = compare.compare(db, sim, drg)
    by_drg, note = compare.diseases(db, registry_of(request), sim, drg)
    if format == "xlsx":
        return download(
            compare.compare_xlsx(frame, by_drg),
            XLSX,
            f"drg-vs-dip-{sim.year}.xlsx",
            f"DRG与DIP对比-{sim.year}.xlsx",
        )
    money = ("total_cost", "drg_payment", "dip_payment", "difference")
    rows = [
        CompareRow.model_validate({**r, **{k: _text(r[k]) for k in money}})
        for r in frame.to_dicts()
    ]
    diseases = [
        CompareDrgRow.model_validate({**r, **{k: _text(r[k]) for k in money}})
        for r in by_drg.to_dicts()
    ]
    return CompareOut(
        dip_simulation_id=sim.id,
        drg_simulation_id=drg.id,
        year=sim.year,
        hospitals=rows,
        diseases=diseases,
        note=note,
    )


def scheme_out(db: Db, row: DipScheme) -> SchemeOut:
    cat = db.get(DipCatalogue, row.catalogue_id)
    return SchemeOut(
        id=row.id,
        catalogue_id=row.catalogue_id,
        catalogue=f"{cat.code} 第 {cat.version} 版" if cat else str(row.catalogue_id),
        name=row.name,
        valid_from=row.valid_from.isoformat(),
        valid_to=_iso(row.valid_to),
        point_value=str(row.point_value),
        params=row.params,
        status=row.status,
        status_label=SCHEME_STATUSES.get(row.status, row.status),
        created_by=row.created_by,
        created_at=row.created_at.isoformat(),
        published_by=row.published_by,
        published_at=_iso(row.published_at),
    )


@router.post(
    "/schemes",
    status_code=201,
    response_model=SchemeOut,
    summary="新建 DIP 付费方案：有效期内出院的病例按该目录、预算点值结算（发布后不可更改）",
)
def create_scheme(body: SchemeCreate, request: Request, db: Db, user: User = ANALYST) -> SchemeOut:
    catalogue = service.get_catalogue(db, body.catalogue_id, _region(user))
    params: dict[str, Any] = {"add_ons": body.add_ons, "deviation": body.deviation}
    if body.coefficients is not None:
        params["coefficients"] = body.coefficients
    row = schemes.create_scheme(
        db,
        catalogue,
        name=body.name,
        valid_from=body.valid_from,
        valid_to=body.valid_to,
        point_value=body.point_value,
        params=params,
        actor=request_actor(request, user),
        four_eyes=request.app.state.settings.publish_four_eyes,
    )
    return scheme_out(db, row)


@router.get("/schemes", summary="本辖区的 DIP 付费方案（新到旧）")
def list_schemes(db: Db, user: User = ANALYST) -> list[SchemeOut]:
    return [scheme_out(db, r) for r in schemes.list_schemes(db, _region(user))]


@router.post("/schemes/{scheme_id}/approve", summary="批准发布待批准的 DIP 付费方案（双人复核）")
def approve_scheme(scheme_id: DbId, request: Request, db: Db, user: User = ANALYST) -> SchemeOut:
    row = schemes.get_scheme(db, scheme_id, _region(user))
    schemes.do_approve_scheme(db, row, request_actor(request, user))
    return scheme_out(db, row)
