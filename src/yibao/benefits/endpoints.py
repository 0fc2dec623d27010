"""JSON API for benefit policies (待遇政策): list, read, Excel export and import,
publish, delete a draft."""

from __future__ import annotations

from fastapi import APIRouter, File, Request, UploadFile
from fastapi.responses import Response

from yibao.accounts.models import User
from yibao.accounts.roles import Permission
from yibao.api.deps import Db, request_actor, require
from yibao.api.openapi import XLSX, download
from yibao.benefits import service
from yibao.benefits.schemas import ImportResult, PolicyDetail, PolicyList, PolicyOut, PublishIn
from yibao.kit.bounds import DbId
from yibao.kit.tables import table_limits

router = APIRouter(prefix="/api/benefits", tags=["benefits 待遇政策"])
VIEW = require(Permission.VIEW_POLICIES)
MANAGE = require(Permission.MANAGE_POLICIES)


@router.get("/policies", response_model=PolicyList, summary="待遇政策各版本（本统筹区）")
def list_policies(db: Db, user: User = VIEW) -> PolicyList:
    rows = service.list_policies(db, user.region_code)
    return PolicyList(items=[PolicyOut.model_validate(r) for r in rows])


@router.get(
    "/policies/export",
    summary="导出待遇政策（Excel，可修改后作为新版本导入）",
    response_class=Response,
    responses={200: {"content": {XLSX: {}}}},
)
def export_policies(db: Db, user: User = VIEW) -> Response:
    data = service.export_policies(service.list_policies(db, user.region_code))
    return download(data, XLSX, "benefit-policies.xlsx", "待遇政策.xlsx")


@router.get("/policies/{policy_id}", response_model=PolicyDetail, summary="一个待遇政策版本")
def get_policy(policy_id: DbId, db: Db, user: User = VIEW) -> PolicyDetail:
    return PolicyDetail.model_validate(service.get_policy(db, policy_id, user.region_code))


@router.post(
    "/policies/import",
    response_model=ImportResult,
    summary="导入待遇政策（Excel / CSV / JSON），保存为草稿",
)
def import_policies(
    request: Request, db: Db, user: User = MANAGE, file: UploadFile = File(...)
) -> ImportResult:
    rows = service.do_import_policy_file(
        db,
        file.file.read(),
        file.filename or "",
        actor=request_actor(request, user),
        limits=table_limits(request.app.state.settings),
    )
    return ImportResult(imported=[PolicyOut.model_validate(r) for r in rows])


@router.post(
    "/policies/{policy_id}/publish",
    response_model=PolicyOut,
    summary="发布草稿（同参保地同险种的上一版本在新版本生效前一天截止）",
)
def publish_policy(
    policy_id: DbId, request: Request, body: PublishIn, db: Db, user: User = MANAGE
) -> PolicyOut:
    row = service.do_publish_policy(
        db, policy_id, actor=request_actor(request, user), reason=body.reason
    )
    return PolicyOut.model_validate(row)


@router.delete("/policies/{policy_id}", status_code=204, summary="删除草稿（已发布的版本不能删除）")
def delete_policy(policy_id: DbId, request: Request, db: Db, user: User = MANAGE) -> Response:
    service.do_delete_draft(db, policy_id, actor=request_actor(request, user))
    return Response(status_code=204)
