"""特例单议/申诉.

* A hospital user sees its quota per open discharge month (admitted / slots), the lists
  it may still apply for (with the deadline and the figures the criteria use) and
  applies with a reason and attachments; it sees the decisions it may appeal with the
  appeal deadline and appeals with a reason.
* A reviewer sees the pending applications (with their quota figures and
  attachments) and appeals and records the decision.

Every action calls the service the JSON API calls (:mod:`yibao.settlement.special`);
a refusal (window, quota, eligibility, deadline, state) is shown on the page in the
service's words and nothing is stored.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import FileResponse, RedirectResponse, Response
from starlette.datastructures import UploadFile

from yibao.accounts.models import User
from yibao.accounts.roles import Permission, has_permission
from yibao.api.deps import Db, PostedForm, request_actor
from yibao.engines.settlement import CLASS_NAMES
from yibao.kit.bounds import DbId
from yibao.kit.errors import DomainError, NotFound, ValidationFailed
from yibao.kit.paging import clamp_page
from yibao.kit.timeutil import local
from yibao.regions.repository import hospital_ids
from yibao.settlement import special, views
from yibao.settlement.models import APPEAL_STATUSES, SPECIAL_STATUSES
from yibao.web.forms import failure, flash, page_arg, take_flash, text
from yibao.web.pages.settlement.common import (
    CSRF,
    REVIEW,
    SPECIAL_USER,
    STATUS_BADGES,
    SUBMIT,
)
from yibao.web.render import render

router = APIRouter()
PAGE = "/settlement/special"
CANDIDATES_PER_PAGE = 20


def _status(request: Request, name: str, default: str, allowed: dict[str, str]) -> str:
    value = request.query_params.get(name)
    if value is None:
        return default
    if value and value != "all" and value not in allowed:
        raise ValidationFailed(
            f"状态 {name}：不认识的取值 {value!r}（可选：all、{'、'.join(allowed)}）", field=name
        )
    return value


def _live_quotas(db: Db, items: list[dict[str, Any]]) -> dict[tuple[str, str], dict[str, Any]]:
    """Today's quota figures of each (hospital, month) among the applications shown."""
    pairs = {(i["hospital_code"], i["period"]) for i in items}
    ids = hospital_ids(db, {h for h, _ in pairs})
    return {(h, p): views.quota_status(db, ids[h], h, p) for h, p in sorted(pairs) if h in ids}


def _hospital_context(request: Request, db: Db, user: User) -> dict[str, Any]:
    rules = special.SpecialRules()
    today = local(special.CLOCK()).date()
    hospital = user.hospital
    assert hospital is not None
    _, months = views.special_window(today, rules)
    return {
        "today": today,
        "rules": rules,
        "quotas": [views.quota_status(db, hospital.id, hospital.code, m) for m in months],
        "candidates": views.special_candidates(
            db,
            today=today,
            rules=rules,
            page=page_arg(request, "cpage"),
            size=CANDIDATES_PER_PAGE,
        ),
        "appealable": views.appeal_candidates(db, today=today, rules=rules),
        "returned": views.returned_lists(db),
    }


def special_page(
    request: Request, db: Db, user: User, status_code: int = 200, **extra: Any
) -> Response:
    is_reviewer = has_permission(user.role, Permission.REVIEW_SETTLEMENT)
    is_hospital = user.hospital_id is not None and has_permission(
        user.role, Permission.SUBMIT_LISTS
    )
    page, size = clamp_page(page_arg(request), 50)
    sstatus = _status(request, "sstatus", "applied" if is_reviewer else "all", SPECIAL_STATUSES)
    astatus = _status(request, "astatus", "pending" if is_reviewer else "all", APPEAL_STATUSES)
    specials = special.list_special_cases(
        db,
        status=None if sstatus == "all" else sstatus,
        hospital=None,
        period=None,
        page=page,
        size=size,
    )
    appeals = special.list_appeals(
        db, status=None if astatus == "all" else astatus, hospital=None, page=1, size=100
    )
    ctx: dict[str, Any] = {
        "is_reviewer": is_reviewer,
        "is_hospital": is_hospital,
        "specials": specials,
        "appeals": appeals,
        "live_quotas": _live_quotas(db, specials.items) if is_reviewer else {},
        "sstatus": sstatus,
        "astatus": astatus,
        "special_statuses": SPECIAL_STATUSES,
        "appeal_statuses": APPEAL_STATUSES,
        "methods": special.METHODS,
        "badges": STATUS_BADGES,
        "class_names": CLASS_NAMES,
        "flash": take_flash(request),
        "error": None,
        "form": {},
    }
    if is_hospital:
        ctx.update(_hospital_context(request, db, user))
    ctx.update(extra)
    return render(request, "settlement/special.html", ctx, status_code=status_code)


@router.get(PAGE)
def special_view(request: Request, db: Db, user: User = SPECIAL_USER) -> Response:
    return special_page(request, db, user)


def _shown(form: Any) -> dict[str, str]:
    return {k: text(form, k) for k in ("reason", "method", "amount", "decision", "new_tech")}


def _files(form: Any, rules: special.SpecialRules) -> list[tuple[str, bytes]]:
    """The chosen files (an empty file input sends one nameless part: skipped); each
    read up to one byte past the limit so that the service can refuse it."""
    out = []
    for f in form.getlist("files"):
        if isinstance(f, UploadFile) and f.filename:
            f.file.seek(0)
            out.append((f.filename, f.file.read(rules.max_attachment_bytes + 1)))
    return out


@router.post("/settlement/lists/{list_id}/special-case", dependencies=CSRF)
def apply(
    list_id: DbId, request: Request, form: PostedForm, db: Db, user: User = SUBMIT
) -> Response:
    """申请特例单议 (hospital): reason, new technology flag, attachments."""
    rules = special.SpecialRules()
    try:
        app = special.do_apply_special_case(
            db,
            list_id,
            reason=text(form, "reason") or None,
            new_tech=bool(form.get("new_tech")),
            files=_files(form, rules),
            user_role=user.role,
            actor=request_actor(request, user),
            var_dir=request.app.state.settings.var_dir,
            rules=rules,
        )
        db.flush()
    except DomainError as exc:
        err = failure(db, exc, list_id=list_id, action="apply")
        return special_page(request, db, user, err["status"], error=err, form=_shown(form))
    quota = app.quota or {}
    flash(
        request,
        f"结算清单 {app.setl_id} 的特例单议申请已受理（{quota.get('period')} 名额 "
        f"{quota.get('quota')} 个，已受理 {int(quota.get('used_before', 0)) + 1} 个），"
        "等待专家评审",
    )
    return RedirectResponse(PAGE, status_code=303)


@router.post("/settlement/lists/{list_id}/appeal", dependencies=CSRF)
def appeal(
    list_id: DbId, request: Request, form: PostedForm, db: Db, user: User = SUBMIT
) -> Response:
    """提出申诉 (hospital) against an adjustment or a rejected special case."""
    try:
        row = special.do_file_appeal(
            db,
            list_id,
            reason=text(form, "reason") or None,
            user_role=user.role,
            actor=request_actor(request, user),
        )
        db.flush()
    except DomainError as exc:
        err = failure(db, exc, list_id=list_id, action="appeal")
        return special_page(request, db, user, err["status"], error=err, form=_shown(form))
    flash(request, f"结算清单 {row.setl_id} 的申诉已提交（申诉期限 {row.deadline}），等待处理")
    return RedirectResponse(PAGE, status_code=303)


def _decision(form: Any, allowed: dict[str, str]) -> str:
    value = text(form, "decision")
    if value not in allowed:
        options = "、".join(f"{k}（{v}）" for k, v in allowed.items())
        raise ValidationFailed(
            f"处理结论 decision 必选：{options}（收到 {value!r}）", field="decision"
        )
    return value


@router.post(PAGE + "/{special_id}/decide", dependencies=CSRF)
def decide_special(
    special_id: DbId, request: Request, form: PostedForm, db: Db, user: User = REVIEW
) -> Response:
    """特例单议评审 (reviewer records the expert panel's decision)."""
    try:
        decision = _decision(form, {"approve": "通过", "reject": "不通过"})
        app = special.do_decide_special_case(
            db,
            special_id,
            approve=decision == "approve",
            method=text(form, "method") or None,
            amount=text(form, "amount") or None,
            reason=text(form, "reason") or None,
            user_role=user.role,
            actor=request_actor(request, user),
        )
        db.flush()
    except DomainError as exc:
        err = failure(db, exc, special_id=special_id, action="decide_special")
        return special_page(request, db, user, err["status"], error=err, form=_shown(form))
    paid = f"，支付 {app.new_payment} 元" if app.new_payment is not None else ""
    flash(request, f"特例单议申请 #{app.id}（{app.setl_id}）：{app.status_label}{paid}")
    return RedirectResponse(PAGE, status_code=303)


@router.post("/settlement/appeals/{appeal_id}/decide", dependencies=CSRF)
def decide_appeal(
    appeal_id: DbId, request: Request, form: PostedForm, db: Db, user: User = REVIEW
) -> Response:
    """申诉处理: uphold or reject (a reason is required to reject)."""
    try:
        decision = _decision(form, {"uphold": "申诉成立", "reject": "驳回"})
        row = special.do_decide_appeal(
            db,
            appeal_id,
            uphold=decision == "uphold",
            reason=text(form, "reason") or None,
            method=text(form, "method") or None,
            amount=text(form, "amount") or None,
            user_role=user.role,
            actor=request_actor(request, user),
        )
        db.flush()
    except DomainError as exc:
        err = failure(db, exc, appeal_id=appeal_id, action="decide_appeal")
        return special_page(request, db, user, err["status"], error=err, form=_shown(form))
    flash(request, f"申诉 #{row.id}（{row.setl_id}）：{row.status_label}")
    return RedirectResponse(PAGE + "?astatus=all", status_code=303)


@router.get(PAGE + "/{special_id}/attachments/{index}")
def attachment(
    special_id: DbId, index: int, request: Request, db: Db, user: User = SPECIAL_USER
) -> Response:
    """One attachment of an application (病历摘要 and the like): its hospital and the
    bureau's reviewers in scope — the roles of the special-case page, not every role
    that may read cases."""
    app = special.get_application(db, special_id)
    if app is None:  # another hospital's application looks like none
        raise NotFound(f"特例单议申请 {special_id} 不存在或不在您的权限范围内")
    files = app.attachments or []
    if not 1 <= index <= len(files):
        raise NotFound(f"特例单议申请 {special_id} 没有第 {index} 个附件")
    folder = Path(request.app.state.settings.var_dir) / "attachments" / str(app.id)
    path = (folder / files[index - 1]["stored_as"]).resolve()
    if path.parent != folder.resolve() or not path.is_file():
        raise NotFound(f"特例单议申请 {special_id} 的附件 {files[index - 1]['name']} 已不存在")
    return FileResponse(path, filename=files[index - 1]["name"])
