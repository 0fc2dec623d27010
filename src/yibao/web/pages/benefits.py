"""待遇政策 pages: the versions of the bureau's benefit policies, one version in full,
Excel export and import (as drafts), publish and delete a draft."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import RedirectResponse, Response
from starlette.datastructures import UploadFile

from yibao.accounts.models import User
from yibao.accounts.roles import Permission, has_permission
from yibao.api.deps import Db, PostedForm, check_csrf, request_actor, require
from yibao.api.openapi import XLSX, download
from yibao.benefits import service
from yibao.engines.measure.params import LEVEL_NAMES, LEVELS
from yibao.engines.settlement.policy import INSUTYPE_NAMES, SCOPE_NAMES
from yibao.kit.bounds import DbId
from yibao.kit.errors import DomainError, ValidationFailed
from yibao.kit.tables import table_limits
from yibao.web.render import render

router = APIRouter(prefix="/benefits")
VIEW = require(Permission.VIEW_POLICIES)
MANAGE = require(Permission.MANAGE_POLICIES)
CSRF = [Depends(check_csrf)]


def _list_page(
    request: Request, db: Db, user: User, *, error: DomainError | None = None
) -> Response:
    rows = service.list_policies(db, user.region_code)
    response = render(
        request,
        "benefits/list.html",
        {
            "rows": rows,
            "insutypes": INSUTYPE_NAMES,
            "can_manage": has_permission(user.role, Permission.MANAGE_POLICIES),
            "error": error,
            "imported": request.query_params.get("imported"),
        },
    )
    if error is not None:
        db.rollback()
        response.status_code = 422 if error.http_status in (400, 404) else error.http_status
    return response


@router.get("/policies")
def policies_page(request: Request, db: Db, user: User = VIEW) -> Response:
    return _list_page(request, db, user)


@router.get("/policies/export.xlsx")
def export(request: Request, db: Db, user: User = VIEW) -> Response:
    data = service.export_policies(service.list_policies(db, user.region_code))
    return download(data, XLSX, "benefit-policies.xlsx", "待遇政策.xlsx")


@router.post("/policies/import", dependencies=CSRF)
def import_file(request: Request, form: PostedForm, db: Db, user: User = MANAGE) -> Response:
    upload = form.get("file")
    try:
        if not isinstance(upload, UploadFile) or not upload.filename:
            raise ValidationFailed("文件：请选择要导入的 .xlsx、.csv 或 .json 文件", field="file")
        upload.file.seek(0)
        rows = service.do_import_policy_file(
            db,
            upload.file.read(),
            upload.filename,
            actor=request_actor(request, user),
            limits=table_limits(request.app.state.settings),
        )
    except DomainError as exc:
        return _list_page(request, db, user, error=exc)
    return RedirectResponse(f"/benefits/policies?imported={len(rows)}", status_code=303)


def _detail_page(
    request: Request, db: Db, user: User, policy_id: int, *, error: DomainError | None = None
) -> Response:
    row = service.get_policy(db, policy_id, user.region_code)
    policy = service.to_engine(row)
    levels = [(LEVEL_NAMES[lv], policy.levels[lv]) for lv in LEVELS]
    cross = [
        (SCOPE_NAMES[scope], policy.cross_region[scope])
        for scope in ("in_province", "out_of_province")
        if scope in policy.cross_region
    ]
    response = render(
        request,
        "benefits/detail.html",
        {
            "row": row,
            "policy": policy,
            "levels": levels,
            "cross": cross,
            "insutypes": INSUTYPE_NAMES,
            "can_manage": has_permission(user.role, Permission.MANAGE_POLICIES),
            "error": error,
        },
    )
    if error is not None:
        response.status_code = 422 if error.http_status in (400, 404) else error.http_status
    return response


@router.get("/policies/{policy_id}")
def detail(policy_id: DbId, request: Request, db: Db, user: User = VIEW) -> Response:
    return _detail_page(request, db, user, policy_id)


def _act(request: Request, db: Db, user: User, policy_id: int, action: Any) -> Response | None:
    try:
        with db.begin_nested():
            action()
    except DomainError as exc:
        db.rollback()
        return _detail_page(request, db, user, policy_id, error=exc)
    return None


@router.post("/policies/{policy_id}/publish", dependencies=CSRF)
def publish(
    policy_id: DbId, request: Request, form: PostedForm, db: Db, user: User = MANAGE
) -> Response:
    reason = form.get("reason")
    failed = _act(
        request,
        db,
        user,
        policy_id,
        lambda: service.do_publish_policy(
            db,
            policy_id,
            actor=request_actor(request, user),
            reason=reason if isinstance(reason, str) else "",
        ),
    )
    return failed or RedirectResponse(f"/benefits/policies/{policy_id}", status_code=303)


@router.post("/policies/{policy_id}/delete", dependencies=CSRF)
def delete(policy_id: DbId, request: Request, db: Db, user: User = MANAGE) -> Response:
    failed = _act(
        request,
        db,
        user,
        policy_id,
        lambda: service.do_delete_draft(db, policy_id, actor=request_actor(request, user)),
    )
    return failed or RedirectResponse("/benefits/policies", status_code=303)
