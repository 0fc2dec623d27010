"""JSON API for grouping: plans, one case (with trace), stored cases, files, regrouping."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Body, File, Form, Request, UploadFile
from fastapi.responses import JSONResponse, Response

from yibao.accounts.models import User
from yibao.accounts.roles import Permission
from yibao.api.deps import Db, grouped_file, registry_of, request_actor, require, runner_of
from yibao.api.openapi import CSV, PARQUET, XLSX, download, file_answers
from yibao.cases import repository as cases_repo
from yibao.grouping import tasks  # noqa: F401  (registers the job kinds)
from yibao.grouping.files import do_group_upload
from yibao.grouping.local_plans import (
    check_owner,
    do_delete_draft,
    do_import_plan,
    do_publish_plan,
    list_local_plans,
    local_plan,
    local_plan_payload,
    plan_workbook,
)
from yibao.grouping.plans import list_plans, plan_info, plan_payload
from yibao.grouping.region_plans import (
    do_set_region_plan,
    list_region_plans,
    own_region,
    user_region,
)
from yibao.grouping.schemas import (
    CaseIn,
    GroupOut,
    JobAccepted,
    LocalPlanOut,
    PlanOut,
    PlanTrialIn,
    ReasonIn,
    RegionPlanIn,
    RegionPlanOut,
    RegroupIn,
    StoredCaseGroupOut,
    parse_case_input,
)
from yibao.grouping.service import (
    REGROUP_KIND,
    case_input_of,
    group_case_input,
    result_payload,
    stored_groupings,
)
from yibao.jobs.models import Job
from yibao.jobs.service import do_submit_job
from yibao.kit.bounds import DbId
from yibao.kit.errors import ValidationFailed
from yibao.settlement.plan_trial import TRIAL_KIND

router = APIRouter(prefix="/api/grouping", tags=["grouping 分组"])
GROUP = require(Permission.GROUP_CASES)
MANAGE_PLANS = require(Permission.MANAGE_POLICIES)


def accepted(job: Job) -> JSONResponse:
    body = JobAccepted(
        job_id=job.id,
        status=job.status,
        status_url=f"/api/jobs/{job.id}",
        page_url=f"/jobs/{job.id}",
    )
    return JSONResponse(status_code=202, content=body.model_dump())


@router.get("/plans", response_model=list[PlanOut], summary="分组方案列表（最新的在前）")
def plans(request: Request, _user: User = GROUP) -> list[PlanOut]:
    """Grouping plans known to this service, newest first."""
    return [PlanOut.model_validate(plan_payload(i)) for i in list_plans(registry_of(request))]


@router.post(
    "/group",
    response_model=GroupOut,
    openapi_extra={
        "requestBody": {"content": {"application/json": {"schema": CaseIn.model_json_schema()}}}
    },
    summary="预分组一个病例：分组结果与逐步说明（不保存）",
)
def group(request: Request, db: Db, user: User = GROUP, body: Any = Body(...)) -> GroupOut:
    """Pre-group one case: result and the explained trace.  Nothing is stored."""
    case = parse_case_input(body)
    single = group_case_input(registry_of(request), case, session=db, region_code=user_region(user))
    return GroupOut.model_validate(result_payload(single))


@router.get(
    "/cases/{case_id}",
    response_model=StoredCaseGroupOut,
    summary="预分组一个已入库病例（本人权限内）及其已保存的分组结果",
)
def group_stored_case(
    case_id: DbId, request: Request, db: Db, plan: str | None = None, _user: User = GROUP
) -> StoredCaseGroupOut:
    """Pre-group a stored case (in your scope) with its trace, and its stored results."""
    case = cases_repo.get_case(db, case_id)
    single = group_case_input(
        registry_of(request), case_input_of(case, plan), session=db, region_code=case.region_code
    )
    stored = [
        {
            "plan_id": g.plan_id,
            "plan_version": g.plan_version,
            "plan_checksum": g.plan_checksum,
            "status": g.status,
            "mdc": g.mdc,
            "adrg": g.adrg,
            "drg": g.drg,
            "drg_name": g.drg_name,
            "grouped_at": g.grouped_at.isoformat(),
        }
        for g in stored_groupings(db, case.id)
    ]
    payload = {**result_payload(single), "case_pk": case.id, "setl_id": case.setl_id}
    return StoredCaseGroupOut.model_validate({**payload, "stored": stored})


@router.post(
    "/batch",
    responses={
        **file_answers(CSV, XLSX, PARQUET, json=False, description="分组结果文件"),
        202: {"model": JobAccepted},
    },
    summary="批量分组病例文件：小文件直接返回结果文件，大文件转为后台任务",
)
def group_file(
    request: Request,
    db: Db,
    user: User = GROUP,
    file: UploadFile | None = File(None, description="CSV / Parquet / XLSX 病例文件"),
    plan: str | None = Form(None, description="分组方案；不填则用当前有效方案"),
    format: str = Form("csv", description="结果格式 csv / xlsx / parquet"),
) -> Response:
    """Group a case file: small files return the result file at once, large ones a job
    (202; follow ``status_url``, then download ``/api/jobs/{id}/result``)."""
    if file is None or not file.filename:
        raise ValidationFailed("请选择要上传的病例文件（file）", field="file")
    outcome = do_group_upload(
        db,
        runner_of(request),
        request.app.state.settings,
        registry_of(request),
        filename=file.filename,
        stream=file.file,
        plan_id=(plan or "").strip() or None,
        fmt=format,
        actor=request_actor(request, user),
    )
    if outcome.job is not None:
        return accepted(outcome.job)
    return grouped_file(outcome)


@router.post(
    "/cases/regroup",
    status_code=202,
    response_model=JobAccepted,
    summary="重新分组本人权限内的已入库病例（可按年度、医院、病例编号），后台任务",
)
def regroup(body: RegroupIn, request: Request, db: Db, user: User = GROUP) -> JSONResponse:
    """Group the stored cases in your scope (optionally one year / hospital / id list) as
    a job; results go to ``case_groupings`` (one current row per case and plan)."""
    if body.plan:
        plan_info(registry_of(request), body.plan)  # unknown plan: 404 now, not in the job
    job = do_submit_job(
        db,
        runner_of(request),
        kind=REGROUP_KIND,
        params={
            "plan_id": body.plan,
            "year": body.year,
            "hospital": body.hospital,
            "case_ids": body.case_ids,
        },
        actor=request_actor(request, user),
        message="排队中：重新分组已存结算清单",
    )
    return accepted(job)


@router.get(
    "/region-plans", response_model=list[RegionPlanOut], summary="本地区的付费分组方案及其有效期"
)
def region_plans(db: Db, user: User = GROUP) -> list[RegionPlanOut]:
    rows = list_region_plans(db, user_region(user))
    return [RegionPlanOut.model_validate(r, from_attributes=True) for r in rows]


@router.post(
    "/region-plans",
    status_code=201,
    response_model=RegionPlanOut,
    summary="设定本地区自某日起按哪个分组方案付费（不重新分组已结算病例）",
)
def set_region_plan(
    body: RegionPlanIn, request: Request, db: Db, user: User = MANAGE_PLANS
) -> RegionPlanOut:
    row = do_set_region_plan(
        db,
        registry_of(request),
        region_code=own_region(user, body.region_code),
        plan_id=body.plan_id,
        valid_from=body.valid_from,
        valid_to=body.valid_to,
        reason=body.reason,
        actor=request_actor(request, user),
    )
    return RegionPlanOut.model_validate(row, from_attributes=True)


# ------------------------------------------------------------- local plans (ADR 0040)


@router.get(
    "/plans/{plan_id}/workbook",
    responses=file_answers(XLSX, json=False, description="分组方案工作簿"),
    summary="导出分组方案为 Excel 工作簿（结构、条件、编码表、CC/MCC 与排除表）",
)
def plan_workbook_file(plan_id: str, request: Request, _user: User = GROUP) -> Response:
    data, name = plan_workbook(registry_of(request), plan_id)
    return download(data, XLSX, f"plan-{plan_id}.xlsx", title=name)


@router.get(
    "/local-plans", response_model=list[LocalPlanOut], summary="本地分组方案（草稿与已发布）"
)
def local_plans(db: Db, user: User = GROUP) -> list[LocalPlanOut]:
    return [LocalPlanOut.model_validate(local_plan_payload(r, user)) for r in list_local_plans(db)]


@router.get("/local-plans/{plan_id}", response_model=LocalPlanOut, summary="一个本地分组方案")
def local_plan_one(plan_id: str, db: Db, user: User = GROUP) -> LocalPlanOut:
    return LocalPlanOut.model_validate(local_plan_payload(local_plan(db, plan_id), user))


@router.post(
    "/local-plans",
    status_code=201,
    response_model=LocalPlanOut,
    summary="导入修改后的方案工作簿为草稿（新编号，或替换同编号的草稿）；有误则按工作表和行列出，不保存",
)
def import_local_plan(
    request: Request,
    db: Db,
    user: User = MANAGE_PLANS,
    file: UploadFile | None = File(None, description="分组方案工作簿（.xlsx）"),
    plan_id: str = Form(..., description="新方案编号，如 city-2026"),
    title: str | None = Form(None, description="方案名称；不填则由基础方案名称生成"),
    reason: str = Form(..., description="导入依据或修改说明"),
) -> LocalPlanOut:
    if file is None or not file.filename:
        raise ValidationFailed("请选择方案工作簿（file）", field="file")
    row = do_import_plan(
        db,
        registry_of(request),
        request.app.state.settings,
        data=file.file.read(),
        filename=file.filename,
        plan_id=plan_id,
        title=title,
        reason=reason,
        actor=request_actor(request, user),
        user=user,
    )
    return LocalPlanOut.model_validate(local_plan_payload(row, user))


@router.post(
    "/local-plans/{plan_id}/trial",
    status_code=202,
    response_model=JobAccepted,
    summary="在已存病例上试算本地方案：多少病例改变分组、按现行支付标准支付如何变化（后台任务）",
)
def trial_local_plan(
    plan_id: str, body: PlanTrialIn, request: Request, db: Db, user: User = MANAGE_PLANS
) -> JSONResponse:
    check_owner(local_plan(db, plan_id), user)  # unknown plan: 404 now, not in the job
    job = do_submit_job(
        db,
        runner_of(request),
        kind=TRIAL_KIND,
        params={"plan_id": plan_id, "year": body.year, "hospital": body.hospital},
        actor=request_actor(request, user),
        message=f"排队中：试算本地方案 {plan_id}",
    )
    return accepted(job)


@router.post(
    "/local-plans/{plan_id}/publish",
    response_model=LocalPlanOut,
    summary="发布本地方案草稿：发布后不可修改，可设为本地区的付费方案",
)
def publish_local_plan(
    plan_id: str, body: ReasonIn, request: Request, db: Db, user: User = MANAGE_PLANS
) -> LocalPlanOut:
    row = do_publish_plan(
        db,
        registry_of(request),
        request.app.state.settings,
        plan_id=plan_id,
        reason=body.reason,
        actor=request_actor(request, user),
        user=user,
    )
    return LocalPlanOut.model_validate(local_plan_payload(row, user))


@router.delete(
    "/local-plans/{plan_id}", status_code=204, summary="删除本地方案草稿（已发布的不能删除）"
)
def delete_local_plan(
    plan_id: str, request: Request, db: Db, user: User = MANAGE_PLANS
) -> Response:
    do_delete_draft(
        db,
        registry_of(request),
        request.app.state.settings,
        plan_id=plan_id,
        actor=request_actor(request, user),
        user=user,
    )
    return Response(status_code=204)
