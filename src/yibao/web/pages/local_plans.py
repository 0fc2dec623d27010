"""本地分组方案: export a plan as a workbook, import an edited one as a draft, see its
changes, try it on stored cases, publish it (issue 16 item 4, ADR 0040)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, File, Form, Request, UploadFile
from fastapi.responses import RedirectResponse, Response

from yibao.accounts.models import User
from yibao.accounts.roles import Permission, has_permission
from yibao.api.deps import (
    Db,
    PostedForm,
    check_csrf,
    registry_of,
    request_actor,
    require,
    runner_of,
)
from yibao.api.openapi import XLSX, download
from yibao.grouping.local_plans import (
    WorkbookInvalid,
    check_owner,
    do_delete_draft,
    do_import_plan,
    do_publish_plan,
    list_local_plans,
    local_plan,
    local_plan_payload,
    plan_workbook,
)
from yibao.grouping.plans import list_plans, plan_payload
from yibao.jobs.service import do_submit_job
from yibao.kit.errors import DomainError, Forbidden, ValidationFailed
from yibao.regions.repository import hospital_choices
from yibao.settlement.plan_trial import TRIAL_KIND
from yibao.web.forms import failure, flash, int_param, take_flash, text
from yibao.web.render import render

router = APIRouter()
VIEW = require(Permission.GROUP_CASES)


def _page(request: Request, db: Db, user: User, error: dict[str, Any] | None = None) -> Response:
    ctx = {
        "rows": [local_plan_payload(r, user) for r in list_local_plans(db)],
        "plans": [plan_payload(i) for i in list_plans(registry_of(request))],
        "can_manage": has_permission(user.role, Permission.MANAGE_POLICIES)
        and user.hospital_id is None,
        "hospitals": hospital_choices(db),
        "error": error,
        "flash": take_flash(request),
    }
    status = error["status"] if error else 200
    return render(request, "grouping/local_plans.html", ctx, status_code=status)


def _manager(user: User) -> None:
    if not has_permission(user.role, Permission.MANAGE_POLICIES) or user.hospital_id is not None:
        raise Forbidden("只有医保局管理员可以制定本地分组方案")


@router.get("/grouping/local-plans")
def local_plans_page(request: Request, db: Db, user: User = VIEW) -> Response:
    """本地分组方案：导出、导入、对比、试算、发布。"""
    return _page(request, db, user)


@router.get("/grouping/local-plans/export")
def export_plan(request: Request, plan: str, _user: User = VIEW) -> Response:
    data, name = plan_workbook(registry_of(request), plan)
    return download(data, XLSX, f"plan-{plan}.xlsx", title=name)


@router.post("/grouping/local-plans", dependencies=[Depends(check_csrf)])
def import_plan(
    request: Request,
    db: Db,
    user: User = VIEW,
    file: UploadFile | None = File(None),
    plan_id: str = Form(""),
    title: str = Form(""),
    reason: str = Form(""),
) -> Response:
    try:
        _manager(user)
        if file is None or not file.filename:
            raise ValidationFailed("请选择方案工作簿（.xlsx 文件）", field="file")
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
    except WorkbookInvalid as exc:
        return _page(request, db, user, failure(db, exc, issues=exc.issues))
    except DomainError as exc:
        return _page(request, db, user, failure(db, exc))
    flash(request, f"已导入草稿方案 {row.plan_id}（校验和 {row.checksum[:12]}…）")
    return RedirectResponse("/grouping/local-plans", status_code=303)


@router.post("/grouping/local-plans/{plan_id}/action", dependencies=[Depends(check_csrf)])
def plan_action(
    plan_id: str, request: Request, form: PostedForm, db: Db, user: User = VIEW
) -> Response:
    action = text(form, "action")
    actor = request_actor(request, user)
    try:
        _manager(user)
        if action == "trial":
            check_owner(local_plan(db, plan_id), user)
            year = int_param(text(form, "year"), "year")
            job = do_submit_job(
                db,
                runner_of(request),
                kind=TRIAL_KIND,
                params={"plan_id": plan_id, "year": year, "hospital": text(form, "hospital")},
                actor=actor,
                message=f"排队中：试算本地方案 {plan_id}",
            )
            return RedirectResponse(f"/jobs/{job.id}", status_code=303)
        settings, registry = request.app.state.settings, registry_of(request)
        if action == "publish":
            reason = text(form, "reason")
            do_publish_plan(
                db, registry, settings, plan_id=plan_id, reason=reason, actor=actor, user=user
            )
            flash(request, f"已发布方案 {plan_id}，可在“付费方案设置”中设为本地区付费方案")
        elif action == "delete":
            do_delete_draft(db, registry, settings, plan_id=plan_id, actor=actor, user=user)
            flash(request, f"已删除草稿 {plan_id}")
    except DomainError as exc:
        return _page(request, db, user, failure(db, exc))
    return RedirectResponse("/grouping/local-plans", status_code=303)
