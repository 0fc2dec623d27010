"""Login, logout and the user's own password."""

from __future__ import annotations

from urllib.parse import urlparse

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import RedirectResponse, Response

from yibao.accounts.login import LoginSettings, do_begin_login, do_finish_login
from yibao.accounts.service import do_change_password
from yibao.accounts.sessions import SESSION_KEY, do_end_session, do_start_session
from yibao.api.deps import CurrentUser, Db, check_csrf, csrf_token, request_actor
from yibao.kit.errors import DomainError, Unauthorized
from yibao.web.render import render

router = APIRouter()


def _safe_next(target: str | None) -> str:
    if not target:
        return "/"
    parsed = urlparse(target)
    if parsed.scheme or parsed.netloc or not target.startswith("/") or target.startswith("//"):
        return "/"
    return target


@router.get("/login")
def login_form(request: Request, next: str | None = None) -> Response:
    if request.session.get("user_id"):
        return RedirectResponse(_safe_next(next), status_code=303)
    return render(request, "login.html", {"next": _safe_next(next), "error": None})


@router.post("/login")
def login(
    request: Request,
    db: Db,
    username: str = Form("", max_length=200),
    password: str = Form("", max_length=1000),
    csrf: str = Form("", alias="csrf_token", max_length=200),
    next: str = Form("/", max_length=2000),
) -> Response:
    if not csrf or csrf != request.session.get("csrf"):
        return render(
            request,
            "login.html",
            {
                "next": _safe_next(next),
                "error": "页面已过期，请重新登录 / form expired",
                "username": username,
            },
            status_code=403,
        )
    settings = request.app.state.settings
    cfg = LoginSettings(settings.login_max_failures, settings.login_lock_minutes)
    ip = request.client.host if request.client else None
    # the attempt is counted and committed before the password is checked, so that
    # parallel attempts see each other (lock-out cannot be raced)
    attempt = do_begin_login(db, username.strip(), ip=ip, settings=cfg)
    db.commit()
    try:
        user = do_finish_login(db, attempt, password, settings=cfg)
    except Unauthorized as exc:
        db.commit()  # keep the failure in the audit log
        return render(
            request,
            "login.html",
            {"next": _safe_next(next), "error": exc.message, "username": username},
            status_code=401,
        )
    key = do_start_session(db, user, lifetime_s=settings.session_max_age_s, ip=ip)
    request.session.clear()
    request.session["user_id"] = user.id
    request.session[SESSION_KEY] = key
    csrf_token(request)
    return RedirectResponse(_safe_next(next), status_code=303)


@router.post("/logout", dependencies=[Depends(check_csrf)])
def logout(request: Request, db: Db) -> Response:
    do_end_session(db, request.session.get(SESSION_KEY))
    request.session.clear()
    return RedirectResponse("/login", status_code=303)


@router.get("/account/password")
def password_form(request: Request, user: CurrentUser) -> Response:
    return render(request, "password.html", {"error": None, "done": False})


@router.post("/account/password", dependencies=[Depends(check_csrf)])
def change_password(
    request: Request,
    db: Db,
    user: CurrentUser,
    current: str = Form("", max_length=1000),
    new: str = Form("", max_length=1000),
    confirm: str = Form("", max_length=1000),
) -> Response:
    try:
        if new != confirm:
            raise DomainError("两次输入的新密码不一致 / passwords differ", field="confirm")
        with db.begin_nested():
            do_change_password(
                db,
                user,
                current,
                new,
                actor=request_actor(request, user),
                keep_session=request.session.get(SESSION_KEY),
            )
    except DomainError as exc:  # the error's own status; a refused form is a 422
        status = 422 if exc.http_status in (400, 404) else exc.http_status
        return render(request, "password.html", {"error": exc, "done": False}, status_code=status)
    return render(request, "password.html", {"error": None, "done": True})
