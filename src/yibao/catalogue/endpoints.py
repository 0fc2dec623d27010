"""JSON API of the medical-list catalogue (医保目录): versions, entry search, Excel
import into a draft, export, publish, delete a draft."""

from __future__ import annotations

from fastapi import APIRouter, File, Query, Request, UploadFile
from fastapi.responses import Response

from yibao.accounts.models import User
from yibao.accounts.roles import Permission
from yibao.api.deps import Db, request_actor, require
from yibao.api.openapi import XLSX, download
from yibao.catalogue import repository, service
from yibao.catalogue.auth import home_region, sees_drafts
from yibao.catalogue.schemas import (
    ClassCode,
    EntryOut,
    EntryPage,
    KindCode,
    PublishIn,
    VersionDetail,
    VersionIn,
    VersionList,
    VersionOut,
)
from yibao.kit.bounds import DbId
from yibao.kit.paging import MAX_PAGE, MAX_SIZE
from yibao.kit.tables import table_limits

router = APIRouter(prefix="/api/catalogue", tags=["catalogue 医保目录"])
VIEW = require(Permission.VIEW_CATALOGUE)
MANAGE = require(Permission.MANAGE_CATALOGUE)


@router.get("/versions", response_model=VersionList, summary="医保目录各版本（本辖区适用的）")
def list_versions(db: Db, user: User = VIEW) -> VersionList:
    rows = service.list_versions(db, home_region(user), drafts=sees_drafts(user))
    return VersionList(items=[VersionOut.model_validate(r) for r in rows])


@router.post(
    "/versions", response_model=VersionOut, status_code=201, summary="新建目录版本（草稿）"
)
def create_version(request: Request, body: VersionIn, db: Db, user: User = MANAGE) -> VersionOut:
    row = service.do_create_version(db, body, actor=request_actor(request, user))
    return VersionOut.model_validate(row)


@router.get("/versions/{version_id}", response_model=VersionDetail, summary="一个目录版本")
def get_version(version_id: DbId, db: Db, user: User = VIEW) -> VersionDetail:
    row = repository.get_version(db, version_id, home_region(user), drafts=sees_drafts(user))
    by_kind, by_class = repository.counts(db, row.id)
    out = VersionOut.model_validate(row).model_dump()
    return VersionDetail(**out, by_kind=by_kind, by_class=by_class)


@router.get(
    "/versions/{version_id}/entries",
    response_model=EntryPage,
    summary="查询目录条目（编码或名称前缀、甲乙丙类、目录类别，分页）",
)
def search_entries(
    version_id: DbId,
    db: Db,
    user: User = VIEW,
    q: str | None = Query(None, max_length=100, description="医保编码或名称的开头"),
    chrgitm_lv: ClassCode | None = Query(None, description="01 甲类、02 乙类、03 丙类"),
    kind: KindCode | None = Query(None, description="目录类别"),
    page: int = Query(1, ge=1, le=MAX_PAGE),
    size: int = Query(50, ge=1, le=MAX_SIZE),
) -> EntryPage:
    row = repository.get_version(db, version_id, home_region(user), drafts=sees_drafts(user))
    flt = repository.EntryFilter(q=(q or "").strip() or None, chrgitm_lv=chrgitm_lv, kind=kind)
    result = repository.search_entries(db, row.id, flt, page, size)
    return EntryPage(
        items=[EntryOut.model_validate(e) for e in result.items],
        total=result.total,
        page=result.page,
        size=result.size,
    )


@router.post(
    "/versions/{version_id}/import",
    response_model=VersionOut,
    summary="导入目录条目（Excel / CSV，替换草稿的全部条目；有错误时不导入任何条目）",
)
def import_entries(
    version_id: DbId, request: Request, db: Db, user: User = MANAGE, file: UploadFile = File(...)
) -> VersionOut:
    row = service.do_import_file(
        db,
        version_id,
        file.file.read(),
        file.filename or "",
        actor=request_actor(request, user),
        limits=table_limits(request.app.state.settings),
    )
    return VersionOut.model_validate(row)


@router.get(
    "/versions/{version_id}/export",
    summary="导出目录版本（Excel，可修改后导入新版本）",
    response_class=Response,
    responses={200: {"content": {XLSX: {}}}},
)
def export_version(version_id: DbId, db: Db, user: User = VIEW) -> Response:
    row = repository.get_version(db, version_id, home_region(user), drafts=sees_drafts(user))
    return download(
        service.export_version(db, row), XLSX, f"catalogue-{row.id}.xlsx", f"医保目录-{row.id}.xlsx"
    )


@router.post(
    "/versions/{version_id}/publish",
    response_model=VersionOut,
    summary="发布目录版本（发布后不能修改；同区划上一版本在其生效前一天截止）",
)
def publish_version(
    version_id: DbId, request: Request, body: PublishIn, db: Db, user: User = MANAGE
) -> VersionOut:
    row = service.do_publish_version(
        db, version_id, actor=request_actor(request, user), reason=body.reason
    )
    return VersionOut.model_validate(row)


@router.delete(
    "/versions/{version_id}", status_code=204, summary="删除草稿（已发布的版本不能删除）"
)
def delete_version(version_id: DbId, request: Request, db: Db, user: User = MANAGE) -> Response:
    service.do_delete_draft(db, version_id, actor=request_actor(request, user))
    return Response(status_code=204)
