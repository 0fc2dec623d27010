"""互动交流 pages (issue 15 item 4): the user's notices and threads with unread marks,
a bureau's notice form, a new thread form, one thread with its replies."""

from __future__ import annotations

from datetime import date
from typing import Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import RedirectResponse, Response

from yibao.accounts.models import User
from yibao.accounts.roles import Permission
from yibao.api.deps import Db, PostedForm, check_csrf, request_actor, require
from yibao.kit.bounds import DbId
from yibao.kit.errors import DomainError, ValidationFailed
from yibao.messages import service
from yibao.messages.models import ABOUT
from yibao.regions.repository import hospital_choices
from yibao.web.forms import failure, text
from yibao.web.render import render

router = APIRouter(prefix="/messages")
VIEW = require(Permission.VIEW_CASES)
CSRF = [Depends(check_csrf)]


def _list(request: Request, db: Db, user: User, **extra: Any) -> Response:
    rows = service.threads(db, user)
    ctx = {
        "rows": rows,
        "unread": sum(1 for _, u in rows if u),
        "is_bureau": user.hospital_id is None,
        "hospitals": hospital_choices(db) if user.hospital_id is None else [],
        "about": ABOUT,
        "errors": {},
        "form": {},
        **extra,
    }
    error = next(iter(ctx["errors"].values()), None)
    return render(
        request, "messages/index.html", ctx, status_code=error["status"] if error else 200
    )


@router.get("")
def index(request: Request, db: Db, user: User = VIEW) -> Response:
    return _list(request, db, user)


def _day(raw: str) -> date | None:
    try:
        return date.fromisoformat(raw) if raw else None
    except ValueError:
        raise ValidationFailed(
            f"截止日期 deadline：日期格式应为 YYYY-MM-DD（收到 {raw!r}）"
        ) from None


@router.post("/notices", dependencies=CSRF)
def send_notice(request: Request, form: PostedForm, db: Db, user: User = VIEW) -> Response:
    try:
        audience = [str(v) for v in form.getlist("audience") if str(v).strip()]
        t = service.do_send_notice(
            db, user, subject=text(form, "subject"), body=text(form, "body"),
            audience=audience or None, deadline=_day(text(form, "deadline")),
            actor=request_actor(request, user),
        )  # fmt: skip
    except DomainError as exc:
        err = failure(db, exc)
        return _list(request, db, user, errors={"notice": err}, form=dict(form))
    return RedirectResponse(f"/messages/{t.id}", status_code=303)


@router.post("/threads", dependencies=CSRF)
def open_thread(request: Request, form: PostedForm, db: Db, user: User = VIEW) -> Response:
    try:
        raw = text(form, "about_id")
        if raw and not raw.isdigit():
            raise ValidationFailed(f"关联编号 about_id：应为数字（收到 {raw!r}）", field="about_id")
        t = service.do_open_thread(
            db, user, subject=text(form, "subject"), body=text(form, "body"),
            hospital_code=text(form, "hospital_code") or None,
            about_kind=text(form, "about_kind") or None,
            about_id=int(raw) if raw else None, actor=request_actor(request, user),
        )  # fmt: skip
    except DomainError as exc:
        err = failure(db, exc)
        return _list(request, db, user, errors={"thread": err}, form=dict(form))
    return RedirectResponse(f"/messages/{t.id}", status_code=303)


def _thread(request: Request, db: Db, user: User, thread_id: int, **extra: Any) -> Response:
    t = service.get_thread(db, user, thread_id)
    service.mark_read_now(request.app.state.aux_engine, t.id, user.id)
    ctx = {
        "t": t,
        "messages": service.messages_of(db, t.id),
        "about": ABOUT,
        "can_reply": not (t.kind == "notice" and user.hospital_id),
        "audience": [c for c in (t.audience or "").split(",") if c],
        "errors": {},
        **extra,
    }
    error = next(iter(ctx["errors"].values()), None)
    return render(
        request, "messages/thread.html", ctx, status_code=error["status"] if error else 200
    )


@router.get("/{thread_id}")
def thread(thread_id: DbId, request: Request, db: Db, user: User = VIEW) -> Response:
    return _thread(request, db, user, thread_id)


@router.post("/{thread_id}/replies", dependencies=CSRF)
def reply(
    thread_id: DbId, request: Request, form: PostedForm, db: Db, user: User = VIEW
) -> Response:
    try:
        service.do_reply(db, user, thread_id, text(form, "body"), request_actor(request, user))
    except DomainError as exc:
        return _thread(request, db, user, thread_id, errors={"reply": failure(db, exc)})
    return RedirectResponse(f"/messages/{thread_id}#end", status_code=303)
