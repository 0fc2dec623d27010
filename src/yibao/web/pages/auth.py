"""Login and logout."""

from __future__ import annotations

from urllib.parse import urlparse

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import RedirectResponse, Response

from yibao.accounts.service import LoginSettings, do_login
from yibao.api.deps import Db, check_csrf, csrf_token
from yibao.kit.errors import Unauthorized
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
    username: str = Form(""),
    password: str = Form(""),
    csrf: str = Form("", alias="csrf_token"),
    next: str = Form("/"),
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
    ip = request.client.host if request.client else None
    try:
        user = do_login(
            db,
            username.strip(),
            password,
            ip=ip,
            settings=LoginSettings(settings.login_max_failures, settings.login_lock_minutes),
        )
    except Unauthorized as exc:
        db.commit()  # keep the failure in the audit log and the lock-out counter
        return render(
            request,
            "login.html",
            {"next": _safe_next(next), "error": exc.message, "username": username},
            status_code=401,
        )
    request.session.clear()
    request.session["user_id"] = user.id
    csrf_token(request)
    return RedirectResponse(_safe_next(next), status_code=303)


@router.post("/logout", dependencies=[Depends(check_csrf)])
def logout(request: Request) -> Response:
    request.session.clear()
    return RedirectResponse("/login", status_code=303)
