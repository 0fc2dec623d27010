"""用户管理 and 审计日志 for bureau administrators."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import RedirectResponse, Response

from yibao.accounts.models import User
from yibao.accounts.repository import users_in_reach
from yibao.accounts.roles import Permission, Role
from yibao.accounts.service import (
    do_change_role,
    do_create_user,
    do_reset_password,
    do_set_user_active,
    get_managed_user,
)
from yibao.accounts.tokens import do_issue_token, do_revoke_user_token, user_tokens
from yibao.api.deps import Db, PostedForm, check_csrf, request_actor, require
from yibao.api.inline import light_read
from yibao.audit.labels import action_label, describe, object_label
from yibao.audit.repository import audit_actions, audit_rows
from yibao.kit.bounds import DbId
from yibao.kit.errors import DomainError, NotFound
from yibao.kit.paging import clamp_page
from yibao.regions.repository import districts_under, hospital_choices
from yibao.web.forms import int_param
from yibao.web.render import render

router = APIRouter(prefix="/admin")


def _status(error: DomainError) -> int:
    """A refused form answers with its error's status (a 400 or 404 of the data: 422)."""
    return 422 if error.http_status in (400, 404) else error.http_status


def _user_page(request: Request, db: Db, admin: User, **extra: object) -> Response:
    qp = request.query_params
    page, size = clamp_page(int_param(qp.get("page"), "page"), int_param(qp.get("size"), "size"))
    ctx = {
        "result": users_in_reach(db, admin, page, size),
        "roles": list(Role),
        "regions": districts_under(db, admin.region_code),
        "hospitals": hospital_choices(db, cache_s=request.app.state.settings.figures_cache_s),
        "form": {},
        "error": None,
        "created": None,
    }
    ctx.update(extra)
    error = extra.get("error")
    status = _status(error) if isinstance(error, DomainError) else 200
    return render(request, "admin/users.html", ctx, status_code=status)


@router.get("/users")
@light_read
def users(request: Request, db: Db, admin: User = require(Permission.MANAGE_USERS)) -> Response:
    return _user_page(request, db, admin, created=request.query_params.get("created"))


@router.post("/users", dependencies=[Depends(check_csrf)])
def create_user(
    request: Request,
    db: Db,
    admin: User = require(Permission.MANAGE_USERS),
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
@light_read
def audit_log(
    request: Request, db: Db, admin: User = require(Permission.VIEW_AUDIT_LOG)
) -> Response:
    qp = request.query_params
    page, size = clamp_page(int_param(qp.get("page"), "page"), int_param(qp.get("size"), "size"))
    action = (qp.get("action") or "").strip()[:100]
    actor = (qp.get("actor") or "").strip()[:100]
    each_list = qp.get("each") == "1"
    return render(
        request,
        "admin/audit.html",
        {
            "result": audit_rows(
                db,
                admin.region_code,
                action=action,
                actor=actor,
                each_list=each_list,
                page=page,
                size=size,
            ),
            "action": action,
            "actor": actor,
            "each_list": each_list,
            "actions": [(a, action_label(a)) for a in audit_actions(db)],
            "action_label": action_label,
            "object_label": object_label,
            "describe": describe,
        },
    )


MANAGE = require(Permission.MANAGE_USERS)
#: page action → (service call, message shown after it)
_DONE = {
    "disable": "已停用，该用户的登录会话已全部失效",
    "enable": "已重新启用",
    "password": "密码已重置，该用户的登录会话已全部失效；请通过安全渠道告知新密码",
    "role": "角色已修改，该用户需重新登录",
    "revoke": "令牌已吊销",
}


def _manage_page(request: Request, db: Db, admin: User, target: User, **extra: object) -> Response:
    ctx: dict[str, object] = {
        "target": target,
        "roles": [r for r in Role if r.is_hospital == Role(target.role).is_hospital],
        "tokens": user_tokens(db, target) if target.role == Role.HIS_CLIENT else [],
        "error": None,
        "done": _DONE.get(request.query_params.get("done") or ""),
        "issued": None,
    }
    ctx.update(extra)
    error = extra.get("error")
    status = 200 if not isinstance(error, DomainError) else _status(error)
    return render(request, "admin/user.html", ctx, status_code=status)


@router.get("/users/{user_id}")
def user_page(user_id: DbId, request: Request, db: Db, admin: User = MANAGE) -> Response:
    return _manage_page(request, db, admin, get_managed_user(db, admin, user_id))


@router.post("/users/{user_id}/{action}", dependencies=[Depends(check_csrf)])
def user_action(
    user_id: DbId,
    action: str,
    request: Request,
    form: PostedForm,
    db: Db,
    admin: User = MANAGE,
) -> Response:
    target = get_managed_user(db, admin, user_id)
    actor = request_actor(request, admin)

    def field(name: str) -> str:
        value = form.get(name)
        return value if isinstance(value, str) else ""

    try:
        with db.begin_nested():
            if action in ("disable", "enable"):
                do_set_user_active(
                    db, admin, target, action == "enable", reason=field("reason"), actor=actor
                )
            elif action == "password":
                do_reset_password(
                    db, admin, target, field("password"), reason=field("reason"), actor=actor
                )
            elif action == "role":
                do_change_role(
                    db, admin, target, field("role"), reason=field("reason"), actor=actor
                )
            elif action == "token":
                plain = do_issue_token(db, admin, target, field("name"), actor=actor)
            elif action == "revoke":
                token_id = int_param(field("token_id"), "token_id") or 0
                do_revoke_user_token(db, admin, target, token_id, actor=actor)
            else:
                raise NotFound(f"没有这个操作：{action[:30]}")
    except DomainError as exc:
        db.rollback()
        db.refresh(target)
        return _manage_page(request, db, admin, target, error=exc, form=dict(form))
    if action == "token":
        # the plain token is shown once, on this answer; it is committed before it is sent
        return _manage_page(request, db, admin, target, issued=plain)
    return RedirectResponse(f"/admin/users/{target.id}?done={action}", status_code=303)
