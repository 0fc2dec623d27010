"""Request dependencies: one DB transaction per request, the principal, permissions."""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Request
from sqlalchemy.orm import Session

from yibao.accounts.models import User
from yibao.accounts.roles import Permission, has_permission
from yibao.accounts.scoping import set_scope
from yibao.accounts.service import actor_of, scope_of, user_for_token
from yibao.audit.service import Actor
from yibao.kit.errors import Forbidden, Unauthorized

SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


@dataclass(frozen=True)
class Principal:
    """A detached snapshot of the logged-in user for templates and error pages."""

    id: int
    username: str
    display_name: str
    role: str
    region_code: str | None
    hospital_id: int | None
    hospital_code: str | None
    hospital_name: str | None

    @classmethod
    def of(cls, user: User) -> Principal:
        h = user.hospital
        return cls(
            user.id,
            user.username,
            user.display_name,
            user.role,
            user.region_code,
            user.hospital_id,
            h.code if h else None,
            h.name if h else None,
        )


def get_db(request: Request) -> Iterator[Session]:
    """One transaction per request: commit when the handler returns, roll back on error."""
    session: Session = request.app.state.sessionmaker()
    request.state.db = session
    try:
        yield session
        session.commit()
    except BaseException:
        session.rollback()
        raise
    finally:
        session.close()


Db = Annotated[Session, Depends(get_db)]


def csrf_token(request: Request) -> str:
    token = request.session.get("csrf")
    if not token:
        token = secrets.token_urlsafe(24)
        request.session["csrf"] = token
    return token


async def check_csrf(request: Request) -> None:
    """Unsafe requests authenticated by the session cookie must carry the CSRF token."""
    if request.method in SAFE_METHODS or "user_id" not in request.session:
        return
    if request.headers.get("authorization", "").lower().startswith("bearer "):
        return
    sent = request.headers.get("x-csrf-token")
    if sent is None and request.headers.get("content-type", "").startswith(
        ("application/x-www-form-urlencoded", "multipart/form-data")
    ):
        form = await request.form()
        value = form.get("csrf_token")
        sent = value if isinstance(value, str) else None
    expected = request.session.get("csrf")
    if not expected or not sent or not secrets.compare_digest(sent, expected):
        raise Forbidden("CSRF 校验失败，请刷新页面后重试 / CSRF check failed", code="csrf")


def optional_user(request: Request, db: Db) -> User | None:
    """The principal from a Bearer token or the browser session; sets the data scope."""
    user: User | None = None
    auth = request.headers.get("authorization", "")
    if auth.lower().startswith("bearer "):
        user = user_for_token(db, auth[7:].strip())
        if user is None:
            raise Unauthorized("API 令牌无效或已吊销 / invalid or revoked API token")
    elif (uid := request.session.get("user_id")) is not None:
        user = db.get(User, uid)
        if user is None or not user.is_active:
            request.session.clear()
            user = None
    if user is not None:
        set_scope(db, scope_of(user))
        request.state.user = Principal.of(user)
    return user


def current_user(user: Annotated[User | None, Depends(optional_user)]) -> User:
    if user is None:
        raise Unauthorized("请先登录 / login required")
    return user


CurrentUser = Annotated[User, Depends(current_user)]


def require(permission: Permission):  # type: ignore[no-untyped-def]
    """Dependency factory: 403 unless the user's role has ``permission``."""

    def _dep(user: CurrentUser) -> User:
        if not has_permission(user.role, permission):
            raise Forbidden(
                f"当前角色无此权限（{permission.value}）/ your role lacks this permission"
            )
        return user

    return Depends(_dep)


def request_actor(request: Request, user: User) -> Actor:
    ip = request.client.host if request.client else None
    return actor_of(user, ip)
