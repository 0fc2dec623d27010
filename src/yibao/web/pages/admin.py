"""用户管理 and 审计日志 for bureau administrators."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import RedirectResponse, Response
from sqlalchemy import func, select

from yibao.accounts.models import User
from yibao.accounts.roles import Permission, Role
from yibao.accounts.service import do_create_user
from yibao.api.deps import Db, check_csrf, request_actor, require
from yibao.audit.models import AuditLog
from yibao.kit.errors import DomainError
from yibao.kit.paging import Page, clamp_page
from yibao.regions.models import Hospital, region_prefix
from yibao.regions.repository import districts_under, hospital_choices
from yibao.web.pages.cases import _int
from yibao.web.render import render

router = APIRouter(prefix="/admin")


def _users_in_scope(db: Db, admin: User, page: int, size: int) -> Page[User]:
    prefix = region_prefix(admin.region_code or "")
    hospital_ids = select(Hospital.id)  # scoped by the session to the admin's region
    stmt = select(User).where(
        User.region_code.startswith(prefix) | User.hospital_id.in_(hospital_ids)
    )
    total = db.scalar(select(func.count()).select_from(stmt.subquery())) or 0
    rows = db.scalars(stmt.order_by(User.id).offset((page - 1) * size).limit(size)).all()
    return Page(list(rows), int(total), page, size)


def _user_page(request: Request, db: Db, admin: User, **extra: object) -> Response:
    qp = request.query_params
    page, size = clamp_page(_int(qp.get("page"), "page"), _int(qp.get("size"), "size"))
    ctx = {
        "result": _users_in_scope(db, admin, page, size),
        "roles": list(Role),
        "regions": districts_under(db, admin.region_code),
        "hospitals": hospital_choices(db, cache_s=request.app.state.settings.figures_cache_s),
        "form": {},
        "error": None,
        "created": None,
    }
    ctx.update(extra)
    return render(request, "admin/users.html", ctx, status_code=400 if extra.get("error") else 200)


@router.get("/users")
def users(request: Request, db: Db, admin=require(Permission.MANAGE_USERS)) -> Response:
    return _user_page(request, db, admin, created=request.query_params.get("created"))


@router.post("/users", dependencies=[Depends(check_csrf)])
def create_user(
    request: Request,
    db: Db,
    admin=require(Permission.MANAGE_USERS),
    username: str = Form(""),
    display_name: str = Form(""),
    password: str = Form(""),
    role: str = Form(""),
    region_code: str = Form(""),
    hospital_code: str = Form(""),
) -> Response:
    form = {
        "username": username,
        "display_name": display_name,
        "role": role,
        "region_code": region_code,
        "hospital_code": hospital_code,
    }
    try:
        is_hospital_role = role in {r.value for r in Role} and Role(role).is_hospital
        region = None if is_hospital_role else (region_code or admin.region_code)
        with db.begin_nested():
            do_create_user(
                db,
                username=username.strip(),
                password=password,
                role=role,
                display_name=display_name.strip() or None,
                region_code=region,
                hospital_code=(hospital_code or None) if is_hospital_role else None,
                actor=request_actor(request, admin),
                creator=admin,
            )
    except DomainError as exc:
        return _user_page(request, db, admin, form=form, error=exc)
    return RedirectResponse(f"/admin/users?created={username.strip()}", status_code=303)


@router.get("/audit")
def audit_log(request: Request, db: Db, admin=require(Permission.VIEW_AUDIT_LOG)) -> Response:
    qp = request.query_params
    page, size = clamp_page(_int(qp.get("page"), "page"), _int(qp.get("size"), "size"))
    prefix = region_prefix(admin.region_code or "")
    stmt = select(AuditLog).where(
        AuditLog.region_code.startswith(prefix) | AuditLog.region_code.is_(None)
    )
    action = (qp.get("action") or "").strip()
    if action:
        stmt = stmt.where(AuditLog.action.startswith(action))
    actor = (qp.get("actor") or "").strip()
    if actor:
        stmt = stmt.where(AuditLog.actor_name == actor)
    total = db.scalar(select(func.count()).select_from(stmt.subquery())) or 0
    rows = db.scalars(stmt.order_by(AuditLog.id.desc()).offset((page - 1) * size).limit(size)).all()
    actions = [
        a for (a,) in db.execute(select(AuditLog.action).distinct().order_by(AuditLog.action))
    ]
    return render(
        request,
        "admin/audit.html",
        {
            "result": Page(list(rows), int(total), page, size),
            "action": action,
            "actor": actor,
            "actions": actions,
        },
    )
