"""Request dependencies: one DB transaction per request, the principal, permissions.

The request/transaction model (ADR 0009):

1. :func:`receive_body` reads the whole body (and parses a form) on the event loop
   **before** any database work, within the size limits of
   :mod:`yibao.api.limits`, and refuses text no database stores (NUL, lone
   surrogates) in it, the query and the path.
2. Handlers are plain ``def`` functions: FastAPI runs them, and :func:`get_db`,
   in worker threads, so no database call ever blocks the event loop and no
   transaction is held across an ``await``.
3. :func:`get_db` commits when the handler returns and **before the response is
   sent** (``Depends(..., scope="function")``): a client that sees 200 can rely on
   the write being durable.  GET/HEAD requests use a read-only transaction that
   never waits for writers (SQLite) — see :mod:`yibao.db.session`.
4. Bookkeeping writes (an API token's or a browser session's last use) are kept out
   of the business transaction: throttled, written after the commit in a short
   transaction of their own (:mod:`yibao.api.touch`).
"""

from __future__ import annotations

import secrets
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Annotated, Any

import anyio
import anyio.to_thread
from fastapi import Depends, FastAPI, Request
from fastapi.responses import Response
from sqlalchemy.orm import Session
from starlette.datastructures import FormData

from yibao.accounts.models import User
from yibao.accounts.roles import PERMISSION_LABELS, Permission, Role, has_permission
from yibao.accounts.service import actor_of, scope_of
from yibao.accounts.sessions import SESSION_KEY, active_session
from yibao.accounts.tokens import user_for_token
from yibao.api import touch
from yibao.api.inline import is_light, runs_inline
from yibao.api.limits import check_rate, check_text_input, read_body
from yibao.api.openapi import download
from yibao.audit.service import Actor
from yibao.db.scoping import set_scope
from yibao.db.session import reader
from yibao.engines.grouper import PlanRegistry
from yibao.grouping.files import UploadOutcome
from yibao.grouping.plans import plan_registry
from yibao.jobs.runner import JobRunner
from yibao.kit.errors import Forbidden, Unauthorized

SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
FORM_TYPES = ("application/x-www-form-urlencoded", "multipart/form-data")


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


@dataclass(frozen=True)
class Received:
    """The request body, read in full before the handler and its transaction run."""

    raw: bytes
    form: FormData | None


async def receive_body(request: Request) -> AsyncIterator[Received]:
    """Read the body (bounded) and, for a form, parse it — on the event loop, before
    any database work (every :data:`Db` depends on this); refuse NUL and lone
    surrogates (:func:`~yibao.api.limits.check_text_input`); then wait on the event loop
    for a turn at the gates (:class:`~yibao.api.limits.Gate`: writers first at the
    write gate, then every request at the request gate), held until the handler has
    committed."""
    state = request.app.state
    if request.method in SAFE_METHODS:
        check_text_input(request, None, b"")
        async with state.request_gate.slot():
            yield Received(b"", None)
        return
    content_type = request.headers.get("content-type", "")
    if content_type.startswith(FORM_TYPES[0]):
        # the body is kept too (Starlette parses the form from it): a HIS posts JSON
        # with the form type of curl -d or Java's HttpURLConnection
        try:
            raw = await read_body(request)
        except RuntimeError:  # a route with form parameters has read the stream already
            raw = b""
        received = Received(raw, await request.form())
    elif content_type.startswith(FORM_TYPES):
        received = Received(b"", await request.form())
    else:
        received = Received(await read_body(request), None)
    check_text_input(request, received.form, received.raw)
    async with state.write_gate.slot(), state.request_gate.slot():
        yield received


Body = Annotated[Received, Depends(receive_body, scope="function")]


async def posted_form(received: Body) -> FormData:
    """The posted form (empty when the request carried none)."""
    return received.form if received.form is not None else FormData()


PostedForm = Annotated[FormData, Depends(posted_form)]


def _end(session: Session, request: Request, commit: bool) -> None:
    """Commit (or roll back) and close the request's session; then the bookkeeping,
    outside the business transaction."""
    try:
        if commit:
            session.commit()
        else:
            session.rollback()
    finally:
        session.close()
        touch.flush(request)


async def get_db(request: Request, _received: Body) -> AsyncIterator[Session]:
    """One transaction per request, committed before the response is sent.

    The session is made on the event loop (no I/O); the commit runs in a worker
    thread, shielded from cancellation, so a client that goes away cannot leave a
    transaction half-ended.  Handlers and the principal's look-up use the session in
    worker threads, one at a time.
    """
    state = request.app.state
    inline = (
        request.method in SAFE_METHODS
        and state.inline_sessionmaker is not None
        and is_light(getattr(request.scope.get("route"), "endpoint", None))
    )
    request.state.inline = inline
    if inline:  # a light read on the event loop (api.inline): no transaction to end
        factory = state.inline_sessionmaker
    elif request.method in SAFE_METHODS:
        factory = state.read_sessionmaker
    else:
        factory = state.sessionmaker
    session: Session = factory()
    request.state.db = session
    if inline:
        try:
            yield session
        finally:
            session.close()
            touch.flush_later(request)
        return
    try:
        yield session
    except BaseException:
        with anyio.CancelScope(shield=True):
            await anyio.to_thread.run_sync(_end, session, request, False)
        raise
    with anyio.CancelScope(shield=True):
        await anyio.to_thread.run_sync(_end, session, request, True)


Db = Annotated[Session, Depends(get_db, scope="function")]


def csrf_token(request: Request) -> str:
    token = request.session.get("csrf")
    if not token:
        token = secrets.token_urlsafe(24)
        request.session["csrf"] = token
    return token


#: paths that take API tokens: the JSON API, and the path of NHSA's platform that HIS
#: systems hard-code (the transaction gateway's alias, ``yibao.exchange``)
API_PREFIXES = ("/api/", "/fsi/api/")


def is_api(request: Request) -> bool:
    return request.url.path.startswith(API_PREFIXES)


def _bearer(request: Request) -> str | None:
    auth = request.headers.get("authorization", "")
    return auth[7:].strip() if auth.lower().startswith("bearer ") else None


async def check_csrf(request: Request, received: Body) -> None:
    """Unsafe requests authenticated by the session cookie must carry the CSRF token.

    A Bearer token is exempt only on the JSON API; browser pages never take one.
    """
    if request.method in SAFE_METHODS or "user_id" not in request.session:
        return
    if is_api(request) and _bearer(request) is not None:
        return
    sent = request.headers.get("x-csrf-token")
    if sent is None and received.form is not None:
        value = received.form.get("csrf_token")
        sent = value if isinstance(value, str) else None
    expected = request.session.get("csrf")
    if not expected or not sent or not secrets.compare_digest(sent, expected):
        raise Forbidden("CSRF 校验失败，请刷新页面后重试 / CSRF check failed", code="csrf")


def _authenticate(request: Request, db: Session) -> User | None:
    plain = _bearer(request)
    if plain is not None:
        if not is_api(request):
            raise Unauthorized(
                "接口令牌只能用于 /api 接口，浏览器页面请用账号登录 / "
                "API tokens are for /api only; log in to use the pages"
            )
        found = user_for_token(db, plain)
        if found is None:
            raise Unauthorized("API 令牌无效或已吊销 / invalid or revoked API token")
        user, token_id = found
        check_rate(request, f"token:{token_id}")
        touch.later(request, touch.TOKEN, token_id)
        return user
    if request.session.get("user_id") is None:
        return None
    active = active_session(db, request.session.get(SESSION_KEY), request.app.state.settings)
    if active is None or active[1].id != request.session.get("user_id"):
        request.session.clear()
        return None
    live, person = active
    touch.later(request, touch.SESSION, live.id)
    return person


async def optional_user(request: Request, db: Db) -> User | None:
    """The principal from a Bearer token (API only) or the browser session; sets the
    data scope.  Looked up in a worker thread, or on the event loop for a light read
    served there (:mod:`yibao.api.inline`)."""
    if runs_inline(request):
        return _principal(request, db)
    return await anyio.to_thread.run_sync(_principal, request, db)


def _principal(request: Request, db: Session) -> User | None:
    """The principal of :func:`optional_user`.

    On SQLite a writing request looks the principal up in a short read-only session
    of its own: its business transaction (which holds the write lock from its first
    statement) then starts only when the handler first touches the database, after
    any CPU-only preparation (parsing and checking an upload, say)."""
    if request.method in SAFE_METHODS or db.get_bind().dialect.name != "sqlite":
        user = _authenticate(request, db)
    else:
        with Session(reader(request.app.state.engine), expire_on_commit=False) as lookup:
            user = _authenticate(request, lookup)
            if user is not None:
                lookup.expunge_all()
        if user is not None:
            user = db.merge(user, load=False)
    if user is not None:
        set_scope(db, scope_of(user))
        request.state.user = Principal.of(user)
    return user


async def current_user(user: Annotated[User | None, Depends(optional_user)]) -> User:
    if user is None:
        raise Unauthorized("请先登录 / login required")
    return user


CurrentUser = Annotated[User, Depends(current_user)]


def require(permission: Permission) -> Any:
    """Dependency factory: 403 unless the user's role has ``permission``."""

    async def _dep(user: CurrentUser) -> User:
        if not has_permission(user.role, permission):
            raise Forbidden(
                f"无权操作：当前角色（{Role(user.role).label}）没有“{PERMISSION_LABELS[permission]}”"
                "权限 / your role lacks this permission"
            )
        return user

    return Depends(_dep)


def require_any(*permissions: Permission) -> Any:
    """Dependency factory: 403 unless the user's role has one of ``permissions``."""

    async def _dep(user: CurrentUser) -> User:
        if not any(has_permission(user.role, p) for p in permissions):
            wanted = "”或“".join(PERMISSION_LABELS[p] for p in permissions)
            raise Forbidden(
                f"无权操作：当前角色（{Role(user.role).label}）没有“{wanted}”权限"
                " / your role lacks this permission"
            )
        return user

    return Depends(_dep)


def request_actor(request: Request, user: User) -> Actor:
    ip = request.client.host if request.client else None
    return actor_of(user, ip)


# ----------------------------------------------------------------------- job runner


def start_runner(app: FastAPI) -> JobRunner:
    """Create the process's runner on ``app.state.jobs`` and recover interrupted jobs."""
    settings = app.state.settings
    runner = JobRunner(
        app.state.sessionmaker,
        settings.var_dir / "jobs",
        workers=settings.job_workers,
        settings=settings,
    )
    app.state.jobs = runner
    runner.recover()
    return runner


def runner_of(request: Request) -> JobRunner:
    runner = getattr(request.app.state, "jobs", None)
    if runner is None:  # app used without its lifespan (e.g. a bare TestClient)
        runner = start_runner(request.app)
    return runner


Runner = Annotated[JobRunner, Depends(runner_of)]


# ----------------------------------------------------------------------- grouping plans


def registry_of(request: Request) -> PlanRegistry:
    """The process's grouping plans (compiled once, shared by the API and the pages)."""
    return plan_registry(request.app.state.settings)


def grouped_file(outcome: UploadOutcome) -> Response:
    """A grouped upload as the download the API and the grouping page answer with."""
    assert outcome.content is not None
    return download(
        outcome.content,
        outcome.media_type,
        outcome.filename,
        headers={
            "X-Yibao-Plan": outcome.plan.id if outcome.plan else "by-date",
            "X-Yibao-Rows": str(outcome.rows),
        },
    )
