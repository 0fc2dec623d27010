"""医保目录 pages: the versions a user's region uses, one version with its entries
searched (code or name prefix, class, kind), Excel export; for a bureau admin, a new
draft, Excel import into it, publish and delete."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import RedirectResponse, Response
from pydantic import ValidationError
from starlette.datastructures import UploadFile

from yibao.accounts.models import User
from yibao.accounts.roles import Permission, has_permission
from yibao.api.deps import Db, PostedForm, check_csrf, request_actor, require
from yibao.api.openapi import XLSX, download
from yibao.catalogue import repository, service
from yibao.catalogue.auth import home_region, sees_drafts
from yibao.catalogue.schemas import VersionIn
from yibao.engines.catalogue import CLASSES, FEE_TYPES, KINDS, describe, parse_restrictions
from yibao.kit.bounds import DbId
from yibao.kit.errors import DomainError, ValidationFailed
from yibao.kit.paging import clamp_page
from yibao.kit.tables import table_limits
from yibao.web.forms import int_param, text
from yibao.web.render import render

router = APIRouter(prefix="/catalogue")
VIEW = require(Permission.VIEW_CATALOGUE)
MANAGE = require(Permission.MANAGE_CATALOGUE)
CSRF = [Depends(check_csrf)]


def _status(response: Response, error: DomainError | None) -> Response:
    if error is not None:
        response.status_code = 422 if error.http_status in (400, 404) else error.http_status
    return response


def _list_page(
    request: Request,
    db: Db,
    user: User,
    *,
    error: DomainError | None = None,
    form: dict[str, str] | None = None,
) -> Response:
    rows = service.list_versions(db, home_region(user), drafts=sees_drafts(user))
    response = render(
        request,
        "catalogue/list.html",
        {
            "rows": rows,
            "can_manage": has_permission(user.role, Permission.MANAGE_CATALOGUE),
            "error": error,
            "form": form or {},
        },
    )
    return _status(response, error)


@router.get("")
def versions_page(request: Request, db: Db, user: User = VIEW) -> Response:
    return _list_page(request, db, user)


@router.post("", dependencies=CSRF)
def create(request: Request, form: PostedForm, db: Db, user: User = MANAGE) -> Response:
    fields = {
        k: text(form, k)
        for k in ("region_code", "region_name", "name", "valid_from", "valid_to", "source", "note")
    }
    try:
        data = VersionIn.model_validate({k: v for k, v in fields.items() if v})
        row = service.do_create_version(db, data, actor=request_actor(request, user))
    except ValidationError as exc:
        db.rollback()
        error = ValidationFailed(_words(exc), field="form")
        return _list_page(request, db, user, error=error, form=fields)
    except DomainError as exc:
        db.rollback()
        return _list_page(request, db, user, error=exc, form=fields)
    return RedirectResponse(f"/catalogue/{row.id}", status_code=303)


_FIELD_WORDS = {
    "region_code": "区划代码",
    "region_name": "区划名称",
    "name": "目录名称",
    "valid_from": "生效日期",
    "valid_to": "失效日期",
    "source": "来源",
    "note": "说明",
}


def _words(exc: ValidationError) -> str:
    out = []
    for err in exc.errors():
        field = _FIELD_WORDS.get(str(err["loc"][0]), "") if err["loc"] else ""
        if err["type"] == "missing":
            out.append(f"{field}不能为空")
        elif err["type"] == "string_pattern_mismatch":
            out.append(f"{field}须为 6 位区划代码，统筹区以 00 结尾（如 990100）")
        elif err["type"] in ("greater_than_equal", "less_than_equal"):
            out.append(f"{field}须在 1900-01-01 到 2100-12-31 之间")
        elif "date" in err["type"]:
            out.append(f"{field}须为日期，如 2026-01-01")
        else:
            out.append(f"{field}：{err['msg'].removeprefix('Value error, ')}")
    return "；".join(out)


def _detail_page(
    request: Request, db: Db, user: User, version_id: int, *, error: DomainError | None = None
) -> Response:
    row = repository.get_version(db, version_id, home_region(user), drafts=sees_drafts(user))
    qp = request.query_params
    page, size = clamp_page(int_param(qp.get("page"), "page"), int_param(qp.get("size"), "size"))
    flt = repository.EntryFilter(
        q=(qp.get("q") or "").strip()[:100] or None,
        chrgitm_lv=qp.get("chrgitm_lv") if qp.get("chrgitm_lv") in CLASSES else None,
        kind=qp.get("kind") if qp.get("kind") in KINDS else None,
    )
    result = repository.search_entries(db, row.id, flt, page, size)
    by_kind, by_class = repository.counts(db, row.id)
    context: dict[str, Any] = {
        "row": row,
        "result": result,
        "flt": flt,
        "by_kind": by_kind,
        "by_class": by_class,
        "kinds": KINDS,
        "classes": CLASSES,
        "fee_types": FEE_TYPES,
        "rules_text": lambda data: "；".join(describe(r) for r in parse_restrictions(data)),
        "can_manage": has_permission(user.role, Permission.MANAGE_CATALOGUE),
        "error": error,
    }
    template = "catalogue/detail.html"
    if request.headers.get("hx-request") and error is None:
        template = "catalogue/_entries.html"
    return _status(render(request, template, context), error)


@router.get("/{version_id}")
def detail(version_id: DbId, request: Request, db: Db, user: User = VIEW) -> Response:
    return _detail_page(request, db, user, version_id)


@router.get("/{version_id}/export.xlsx")
def export(version_id: DbId, db: Db, user: User = VIEW) -> Response:
    row = repository.get_version(db, version_id, home_region(user), drafts=sees_drafts(user))
    return download(
        service.export_version(db, row), XLSX, f"catalogue-{row.id}.xlsx", f"医保目录-{row.id}.xlsx"
    )


def _act(
    request: Request, db: Db, user: User, version_id: int, action: Callable[[], object]
) -> Response | None:
    try:
        with db.begin_nested():
            action()
    except DomainError as exc:
        db.rollback()
        return _detail_page(request, db, user, version_id, error=exc)
    return None


@router.post("/{version_id}/import", dependencies=CSRF)
def import_file(
    version_id: DbId, request: Request, form: PostedForm, db: Db, user: User = MANAGE
) -> Response:
    upload = form.get("file")

    def run() -> None:
        if not isinstance(upload, UploadFile) or not upload.filename:
            raise ValidationFailed("文件：请选择要导入的 .xlsx 或 .csv 文件", field="file")
        upload.file.seek(0)
        service.do_import_file(
            db,
            version_id,
            upload.file.read(),
            upload.filename,
            actor=request_actor(request, user),
            limits=table_limits(request.app.state.settings),
        )

    failed = _act(request, db, user, version_id, run)
    return failed or RedirectResponse(f"/catalogue/{version_id}", status_code=303)


@router.post("/{version_id}/publish", dependencies=CSRF)
def publish(
    version_id: DbId, request: Request, form: PostedForm, db: Db, user: User = MANAGE
) -> Response:
    reason = text(form, "reason")
    failed = _act(
        request,
        db,
        user,
        version_id,
        lambda: service.do_publish_version(
            db, version_id, actor=request_actor(request, user), reason=reason
        ),
    )
    return failed or RedirectResponse(f"/catalogue/{version_id}", status_code=303)


@router.post("/{version_id}/delete", dependencies=CSRF)
def delete(version_id: DbId, request: Request, db: Db, user: User = MANAGE) -> Response:
    failed = _act(
        request,
        db,
        user,
        version_id,
        lambda: service.do_delete_draft(db, version_id, actor=request_actor(request, user)),
    )
    return failed or RedirectResponse("/catalogue", status_code=303)
