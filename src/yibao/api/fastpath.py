"""Fast routes: a few busy machine-to-machine POST routes served before the framework
(ADR 0026).

Real-time audit (3101/3102 as plain JSON, issue 13) is asked thousands of times a
second by HIS systems and must answer within milliseconds.  Through the full stack a
request pays for five middlewares, dependency solving, a worker-thread hop, a
three-table token look-up and one log line — about a millisecond of CPU before the
work begins.  A :class:`FastRoute` is served by :class:`FastPathMiddleware`, the
outermost middleware, with only what such a route needs, each piece kept from the
house's own rules:

* **Bearer token only** (HIS systems; no cookie session, so no CSRF), looked up by
  :func:`yibao.accounts.tokens.principal_for_token` and kept per process for
  ``YIBAO_TOKEN_CACHE_SECONDS`` (5): a revoked token or a disabled user stops working
  within that time.  The route's permission is checked on every request.
* **The same limits**: body size (``YIBAO_MAX_BODY_BYTES``), JSON content type, the
  per-token rate (``YIBAO_TOKEN_RATE_PER_MINUTE``, the same buckets as every API).
* **The same answers**: a :class:`~yibao.kit.errors.DomainError` becomes the API's
  error body (``{"error": {code, message, field}}``, Chinese first), anything else a
  500 with a reference that is also logged; security headers as on every response.
* **Counted, not logged**: each request is counted and timed in the Prometheus metrics
  under its route; only failures write a log line.

The route stays registered with FastAPI too (same path, same handler), so it is in the
OpenAPI document and is served the ordinary way when ``YIBAO_FAST_ROUTES=false``.
"""

from __future__ import annotations

import json
import logging
import secrets
import threading
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import anyio.to_thread
import psycopg
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from yibao.accounts.principals import TokenPrincipal, principal_cache
from yibao.accounts.roles import PERMISSION_LABELS, Permission, has_permission
from yibao.accounts.tokens import principal_for_token
from yibao.api.dberrors import database_error
from yibao.api.limits import bucket_take
from yibao.api.metrics import LATENCY, REQUESTS
from yibao.api.touch import token_used
from yibao.api.wording import humanize
from yibao.db.batching import MAX_BATCH, BatchWriter, Handle
from yibao.db.session import reader
from yibao.kit.errors import (
    Busy,
    DomainError,
    Forbidden,
    TooLarge,
    TooManyRequests,
    Unauthorized,
    ValidationFailed,
)

log = logging.getLogger("yibao.fastpath")


@dataclass(frozen=True, slots=True)
class FastCall:
    """What a fast handler gets: the app's state, the caller, the body."""

    state: Any
    principal: TokenPrincipal
    body: bytes
    #: the client's address (for audit rows)
    client: str | None = None


#: a fast handler: the call → the JSON answer (200) as objects, or as JSON bytes already
#: written (sent as they are), or raises DomainError
FastHandler = Callable[[FastCall], Awaitable[Any]]


@dataclass(frozen=True, slots=True)
class FastRoute:
    path: str
    permission: Permission
    handler: FastHandler
    #: False: a body that is not ``application/json`` is left to the framework's route
    #: (which reads any text), instead of being refused with 415
    json_only: bool = True


_HEADERS = [
    (b"content-type", b"application/json"),
    (b"x-content-type-options", b"nosniff"),
    (b"x-frame-options", b"DENY"),
    (b"cache-control", b"no-store"),
    (b"referrer-policy", b"same-origin"),
]


def dumps(value: Any) -> bytes:
    """JSON as the API writes it (UTF-8, Chinese kept)."""
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"), default=str).encode()


def _internal(route: FastRoute) -> tuple[int, bytes]:
    """The answer to an unexpected failure (logged with its trace and a reference)."""
    ref = secrets.token_hex(4)
    log.exception("fast route %s failed ref=%s", route.path, ref)
    message = f"系统内部错误（参考编号 {ref}），请稍后重试或联系医保局 / internal error"
    return 500, dumps({"error": {"code": "internal_error", "message": message, "field": None}})


def _retry_after(exc: DomainError) -> list[tuple[bytes, bytes]]:
    """When to try again, as the framework's handlers say it (api.errors)."""
    if isinstance(exc, TooManyRequests):
        return [(b"retry-after", str(exc.retry_after_s).encode())]
    if isinstance(exc, Busy):
        return [(b"retry-after", b"2")]
    return []


def _error(exc: DomainError) -> tuple[int, bytes]:
    body = {**exc.to_dict(), "message": humanize(exc.message)}
    return exc.http_status, dumps({"error": body})


class FastPathMiddleware:
    """Serve the POST requests of ``routes`` directly; pass everything else on."""

    def __init__(self, app: ASGIApp, routes: list[FastRoute], state: Any = None) -> None:
        self.app = app
        self.routes = {r.path: r for r in routes}
        #: the app's state, when this middleware wraps the app from outside (where the
        #: scope names no app yet: :func:`yibao.api.app.serve_app`)
        self.state = state

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        route = self.routes.get(scope.get("path", "")) if scope["type"] == "http" else None
        if route is None or scope["method"] != "POST":
            await self.app(scope, receive, send)
            return
        state = self.state if self.state is not None else scope["app"].state
        if not state.settings.fast_routes or not (route.json_only or _is_json(scope)):
            await self.app(scope, receive, send)
            return
        start = time.perf_counter()
        extra: list[tuple[bytes, bytes]] = []
        try:
            answer = await self._serve(route, state, scope, receive)
            status, payload = 200, answer if isinstance(answer, bytes) else dumps(answer)
        except DomainError as exc:
            status, payload = _error(exc)
            extra = _retry_after(exc)
            if status >= 500 or status == 429:
                log.warning("fast route %s: %s %s", route.path, status, exc.message[:200])
        except (DBAPIError, psycopg.Error) as exc:
            known = database_error(exc, f"POST {route.path}")
            if known is None:
                status, payload = _internal(route)
            else:
                status, payload = _error(known)
                extra = _retry_after(known)
                log.warning("fast route %s: %s %s", route.path, status, known.message[:200])
        except Exception:
            status, payload = _internal(route)
        headers = [*_HEADERS, *extra, (b"content-length", str(len(payload)).encode())]
        await send({"type": "http.response.start", "status": status, "headers": headers})
        await send({"type": "http.response.body", "body": payload})
        REQUESTS.labels("POST", route.path, str(status)).inc()
        LATENCY.labels("POST", route.path).observe(time.perf_counter() - start)

    async def _serve(self, route: FastRoute, state: Any, scope: Scope, receive: Receive) -> Any:
        headers = dict(scope["headers"])
        plain = _bearer(headers.get(b"authorization", b""))
        if plain is None:
            raise Unauthorized("请在 Authorization 头中提供接口令牌（Bearer）/ API token required")
        principal = await _principal(state, plain)
        if not has_permission(principal.role, route.permission):
            raise Forbidden(
                f"无权访问：需要“{PERMISSION_LABELS[route.permission]}”权限 / forbidden"
            )
        settings = state.settings
        token_used(state.aux_engine, principal.token_id)
        if settings.token_rate_per_minute > 0:
            bucket_take(state.rate_buckets, settings.token_rate_per_minute, principal.rate_key)
        if not _is_json(scope):
            raise DomainError(
                "请求内容类型应为 application/json / unsupported media type",
                code="http_415",
                http_status=415,
            )
        body = await _read_body(receive, settings.max_body_bytes)
        client = scope.get("client")
        return await route.handler(FastCall(state, principal, body, client[0] if client else None))


def group_commit(
    state: Any, name: str, handle: Handle, threads: int = 1, max_batch: int = MAX_BATCH
) -> BatchWriter:
    """The process's group commit ``name`` of the app (created on first use with
    ``handle``, ``threads`` writer threads and at most ``max_batch`` units in one
    transaction; closed when the app stops)."""
    writers: dict[str, BatchWriter] = state.batch_writers
    found = writers.get(name)
    if found is None:
        with _writers_lock:
            found = writers.get(name)
            if found is None:
                found = writers[name] = BatchWriter(
                    state.engine, handle=handle, name=name, threads=threads, max_batch=max_batch
                )
    return found


_writers_lock = threading.Lock()


def _is_json(scope: Scope) -> bool:
    """JSON in UTF-8 (a charset other than UTF-8 declared: the framework's route, which
    reads it)."""
    for name, value in scope["headers"]:
        if name == b"content-type":
            media, _, params = value.lower().partition(b";")
            if media.strip() != b"application/json":
                return False
            charset = params.partition(b"charset=")[2].split(b";")[0].strip(b" \t\"'")
            return charset in (b"", b"utf-8", b"utf8")
    return False


def _bearer(value: bytes) -> str | None:
    text = value.decode("latin-1")
    if not text.lower().startswith("bearer "):
        return None
    return text[7:].strip() or None


async def _principal(state: Any, plain: str) -> TokenPrincipal:
    cache = principal_cache(state.settings.token_cache_seconds)
    found = cache.get(plain)
    if found is None:

        def look_up() -> TokenPrincipal | None:
            with Session(reader(state.engine)) as session:
                return principal_for_token(session, plain)

        found = await anyio.to_thread.run_sync(look_up)
        if found is not None:
            cache.put(plain, found)
    if found is None:
        raise Unauthorized("API 令牌无效或已吊销 / invalid or revoked API token")
    return found


async def _read_body(receive: Receive, limit: int) -> bytes:
    chunks: list[bytes] = []
    size = 0
    while True:
        message: Message = await receive()
        if message["type"] == "http.disconnect":
            raise ValidationFailed("请求体不完整：连接已断开 / client disconnected")
        chunk = message.get("body", b"")
        size += len(chunk)
        if size > limit:
            raise TooLarge(f"请求体过大：上限 {limit // 1024 // 1024} MB / request too large")
        chunks.append(chunk)
        if not message.get("more_body"):
            return b"".join(chunks)


__all__ = [
    "FastCall",
    "FastHandler",
    "FastPathMiddleware",
    "FastRoute",
    "dumps",
    "group_commit",
]
