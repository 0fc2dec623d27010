"""医疗机构 list with filters and pagination."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import RedirectResponse, Response

from yibao.accounts.models import User
from yibao.accounts.roles import Permission, has_permission
from yibao.accounts.service import scope_of
from yibao.api.deps import Db, PostedForm, check_csrf, request_actor, require
from yibao.api.inline import light_read
from yibao.kit.errors import DomainError
from yibao.kit.paging import clamp_page
from yibao.regions.models import HOSPITAL_LEVELS
from yibao.regions.repository import (
    case_counts,
    districts_under,
    get_hospital_by_code,
    list_hospitals,
)
from yibao.regions.service import do_create_hospital, do_update_hospital
from yibao.web.forms import int_param
from yibao.web.render import render

router = APIRouter()


@router.get("/hospitals")
@light_read
def hospitals_page(
    request: Request, db: Db, user: User = require(Permission.VIEW_HOSPITALS)
) -> Response:
    return hospital_list(request, db, user)


def hospital_list(request: Request, db: Db, user: Any, **extra: Any) -> Response:
    qp = request.query_params
    page, size = clamp_page(int_param(qp.get("page"), "page"), int_param(qp.get("size"), "size"))
    result = list_hospitals(
        db,
        district=qp.get("district") or None,
        level=qp.get("level") or None,
        q=(qp.get("q") or "").strip() or None,
        page=page,
        size=size,
    )
    counts = case_counts(
        db, [h.id for h in result.items], cache_s=request.app.state.settings.figures_cache_s
    )
    regions = {r.code: r.name for r in districts_under(db, user.region_code)}
    return render(
        request,
        "hospitals/list.html",
        {
            "result": result,
            "counts": counts,
            "regions": regions,
            "levels": HOSPITAL_LEVELS,
            "district": qp.get("district") or "",
            "level": qp.get("level") or "",
            "q": qp.get("q") or "",
            "can_manage": has_permission(user.role, Permission.MANAGE_HOSPITALS),
            "district_choices": [
                r for r in districts_under(db, user.region_code) if r.level == "district"
            ],
            "created": qp.get("created"),
            "error": None,
            "form": {},
            **extra,
        },
    )


MANAGE = require(Permission.MANAGE_HOSPITALS)


def _field(form: Any, name: str) -> str:
    value = form.get(name)
    return value.strip() if isinstance(value, str) else ""


@router.post("/hospitals", dependencies=[Depends(check_csrf)])
def create_hospital(request: Request, form: PostedForm, db: Db, user: User = MANAGE) -> Response:
    try:
        with db.begin_nested():
            h = do_create_hospital(
                db,
                scope_of(user),
                code=_field(form, "code"),
                name=_field(form, "name"),
                level=_field(form, "level"),
                region_code=_field(form, "region_code"),
                actor=request_actor(request, user),
            )
    except DomainError as exc:
        db.rollback()
        response = hospital_list(request, db, user, error=exc, form=dict(form))
        response.status_code = 422 if exc.http_status in (400, 404) else exc.http_status
        return response
    return RedirectResponse(f"/hospitals?q={h.code}&created={h.code}", status_code=303)


def _edit_page(request: Request, db: Db, user: Any, hospital: Any, **extra: Any) -> Response:
    ctx = {
        "h": hospital,
        "levels": HOSPITAL_LEVELS,
        "regions": {r.code: r.name for r in districts_under(db, user.region_code)},
        "error": None,
        "form": {},  # the posted fields, when a refused change is shown again
        "saved": request.query_params.get("saved"),
    }
    ctx.update(extra)
    error = ctx["error"]
    status = (
        200 if error is None else (422 if error.http_status in (400, 404) else error.http_status)
    )
    return render(request, "hospitals/edit.html", ctx, status_code=status)


@router.get("/hospitals/{code}")
def edit_page(code: str, request: Request, db: Db, user: User = MANAGE) -> Response:
    return _edit_page(request, db, user, get_hospital_by_code(db, code[:20]))


@router.post("/hospitals/{code}", dependencies=[Depends(check_csrf)])
def update_hospital(
    code: str, request: Request, form: PostedForm, db: Db, user: User = MANAGE
) -> Response:
    hospital = get_hospital_by_code(db, code[:20])
    try:
        with db.begin_nested():
            do_update_hospital(
                db,
                scope_of(user),
                hospital,
                name=_field(form, "name"),
                level=_field(form, "level"),
                region_code=_field(form, "region_code"),
                reason=_field(form, "reason"),
                actor=request_actor(request, user),
            )
    except DomainError as exc:
        db.rollback()
        db.refresh(hospital)
        return _edit_page(request, db, user, hospital, error=exc, form=dict(form))
    return RedirectResponse(f"/hospitals/{hospital.code}?saved=1", status_code=303)
