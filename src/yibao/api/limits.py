"""Resource limits: request body size, JSON depth, per-token request rate.

* :class:`BodyLimitMiddleware` refuses a body larger than the configured limit
  (``YIBAO_MAX_BODY_BYTES`` for JSON and forms, ``YIBAO_MAX_UPLOAD_BYTES`` for
  multipart uploads) with 413 — at once when ``Content-Length`` says so, otherwise as
  soon as the streamed body passes the limit — so a 100 MB body never reaches memory.
* :func:`parse_json` turns a body into Python objects, with a clear Chinese 4xx for
  bad text, nesting deeper than the decoder allows, lone surrogates and NUL.
* :func:`check_text_input` refuses text that no database stores before any handler
  runs: NUL (``\x00``, which PostgreSQL refuses in every text) in a query, a path, a
  form field or a JSON body, and lone UTF-16 surrogates (``"\ud800"``, which no UTF-8
  driver can encode) in a JSON body — 422 naming the parameter.
* :class:`Gate`: admission on the event loop, before a request takes a thread or a
  database connection — at most as many requests as pooled connections, and at most
  ``YIBAO_WRITE_CONCURRENCY`` writers, so pages and reads always find a free thread
  however many hospitals upload at once.
* :func:`check_rate` is a token bucket per API token and process
  (``YIBAO_TOKEN_RATE_PER_MINUTE``): a HIS system that floods the server gets 429
  with ``Retry-After`` instead of starving everyone else.
"""

from __future__ import annotations

import asyncio
import json
import re
import threading
import time
import weakref
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import Any

from fastapi import Request
from starlette.datastructures import FormData
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from yibao.kit import jsonerrors
from yibao.kit.errors import Busy, TooLarge, TooManyRequests, ValidationFailed

_MB = 1024 * 1024


def _mb(n: int) -> str:
    return f"{n / _MB:.0f} MB" if n >= _MB else f"{n / 1024:.0f} KB"


def body_limit(scope: Scope, max_body: int, max_upload: int) -> int:
    for name, value in scope.get("headers", ()):
        if name == b"content-type" and value.startswith(b"multipart/form-data"):
            return max_upload
    return max_body


def _too_large(limit: int) -> TooLarge:
    return TooLarge(
        f"请求体过大：上限 {_mb(limit)}（可用 YIBAO_MAX_BODY_BYTES / YIBAO_MAX_UPLOAD_BYTES 调整）"
        f"，请分批上传 / request body over {_mb(limit)}"
    )


#: how a refusal is written on a path whose clients read no JSON: path → (status,
#: message) → (content type, body).  The gateway's SOAP binding registers its paths.
REFUSAL_WRITERS: dict[str, Callable[[int, str], tuple[bytes, bytes]]] = {}


class BodyLimitMiddleware:
    """Pure ASGI middleware: bounds the request body (see the module docstring)."""

    def __init__(self, app: ASGIApp, max_body: int, max_upload: int) -> None:
        self.app = app
        self.max_body = max_body
        self.max_upload = max_upload

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        limit = body_limit(scope, self.max_body, self.max_upload)
        for name, value in scope.get("headers", ()):
            if name == b"content-length":
                try:
                    declared = int(value)
                except ValueError:
                    declared = -1
                if declared > limit:
                    message = _too_large(limit).message
                    await _send_error(send, 413, message, "too_large", scope.get("path", ""))
                    return
        seen = 0

        async def limited() -> Message:
            nonlocal seen
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > limit:
                    raise _too_large(limit)
            return message

        await self.app(scope, limited, send)


async def _send_error(send: Send, status: int, message: str, code: str, path: str) -> None:
    writer = REFUSAL_WRITERS.get(path)
    if writer is not None:
        content_type, body = writer(status, message)
    else:
        content_type = b"application/json; charset=utf-8"
        error = {"code": code, "message": message, "field": None}
        body = json.dumps({"error": error}, ensure_ascii=False).encode()
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [
                (b"content-type", content_type),
                (b"content-length", str(len(body)).encode()),
                (b"connection", b"close"),
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})


async def read_body(request: Request) -> bytes:
    """The whole body (bounded by :class:`BodyLimitMiddleware`)."""
    return await request.body()


def parse_json(raw: bytes, field: str = "body", *, text_checked_per_item: bool = False) -> Any:
    """JSON text → Python objects; a clear 4xx for bad text, deep nesting, lone
    surrogates and NUL (which no database can store) — unless the caller checks the
    strings of each item itself (``text_checked_per_item``: settlement-list intake
    holds only the list with such a value, QC030)."""
    try:
        text = raw.decode("utf-8")
        value = json.loads(text)
    except UnicodeDecodeError as exc:
        raise ValidationFailed(
            f"请求体不是 UTF-8 编码的文本（第 {exc.start} 字节）/ body is not UTF-8", field=field
        ) from None
    except json.JSONDecodeError as exc:
        raise ValidationFailed(
            f"请求体不是有效的 JSON（{jsonerrors.reason(exc)}）/ invalid JSON",
            field=field,
        ) from None
    except RecursionError:
        raise ValidationFailed(
            "请求体 JSON 嵌套过深 / JSON nested too deeply", field=field
        ) from None
    if not text_checked_per_item:
        _check_json_escapes(text, field)
    return value


#: a \u escape of NUL or of a surrogate: only then is a body scanned escape by escape
_SUSPECT_ESCAPE = re.compile(r"\\u(?:0000|[dD][89a-fA-F][0-9a-fA-F]{2})")
#: one escape sequence of a JSON string (so "\\\\u0000" is a backslash and "u0000")
_ESCAPE = re.compile(r"\\(?:u([0-9a-fA-F]{4})|.)", re.DOTALL)

NUL_JSON = "请求体含有 NUL 控制字符（\\u0000），文本中不允许 / NUL character in JSON"
SURROGATE_JSON = (
    "请求体含有无效的 Unicode 代理字符（\\uD800–\\uDFFF 未成对）/ lone surrogate in JSON"
)


def json_escape_problem(text: str) -> str | None:
    """The Chinese reason why the strings of JSON ``text`` cannot be stored — an escaped
    NUL or a lone UTF-16 surrogate — or None.  Exact (escaped backslashes are skipped)
    and cheap: only a text with such an escape at all is scanned escape by escape."""
    if "\\u" not in text or _SUSPECT_ESCAPE.search(text) is None:
        return None
    high_ends = -1  # where the escape of a high surrogate ended, waiting for its pair
    for m in _ESCAPE.finditer(text):
        hex4 = m.group(1)
        point = int(hex4, 16) if hex4 else -1
        if high_ends >= 0:
            if m.start() == high_ends and 0xDC00 <= point <= 0xDFFF:
                high_ends = -1
                continue
            return SURROGATE_JSON
        if point == 0:
            return NUL_JSON
        if 0xD800 <= point <= 0xDBFF:
            high_ends = m.end()
        elif 0xDC00 <= point <= 0xDFFF:
            return SURROGATE_JSON
    return SURROGATE_JSON if high_ends >= 0 else None


def _check_json_escapes(text: str, field: str = "body") -> None:
    problem = json_escape_problem(text)
    if problem is not None:
        raise ValidationFailed(problem, field=field)


def _nul(where: str, name: str) -> ValidationFailed:
    return ValidationFailed(
        f"{where} {name}：不能含有 NUL 控制字符（\\x00）/ NUL character not allowed", field=name
    )


def checks_text_per_item(endpoint: Any) -> Any:
    """Mark an endpoint whose JSON body is a batch it checks item by item: NUL or a
    lone surrogate in one item is that item's finding, not a refusal of the batch."""
    endpoint.yibao_checks_text_per_item = True
    return endpoint


def _per_item(request: Request) -> bool:
    route = request.scope.get("route")
    return bool(getattr(getattr(route, "endpoint", None), "yibao_checks_text_per_item", False))


def check_text_input(request: Request, form: FormData | None, raw: bytes) -> None:
    """Refuse, before any database work, text that no database stores: NUL in the
    query, the path, a form field or a JSON body; lone surrogates in a JSON body (query,
    path and form text are decoded from UTF-8 and cannot carry them)."""
    for name, value in request.query_params.multi_items():
        if "\x00" in name or "\x00" in value:
            raise _nul("查询参数", name.replace("\x00", "\\x00"))
    for name, value in request.path_params.items():
        if isinstance(value, str) and "\x00" in value:
            raise _nul("路径参数", name)
    if form is not None:
        for name, item in form.multi_items():
            if "\x00" in name or (isinstance(item, str) and "\x00" in item):
                raise _nul("表单字段", name.replace("\x00", "\\x00"))
    if raw and b"\\u" in raw and not _per_item(request):
        _check_json_escapes(raw.decode("utf-8", errors="replace"))


class Gate:
    """At most ``limit`` requests past this point; the rest queue on the event loop, in
    order, for at most ``timeout_s`` (then 503, nothing done).

    Two gates guard the worker threads and the database pool (:func:`admission`): the
    *request gate* admits no more requests than there are pooled connections, so an
    admitted request never waits for a connection while holding a thread, nor for a
    thread while holding a connection (with more requests than connections, each
    holding one while the others wait for it, the server deadlocked until the pool
    timeout); the *write gate* admits few writers, which on SQLite queue for one lock
    anyway, so that they never take all the threads from readers.
    """

    def __init__(self, limit: int, timeout_s: float, busy: str) -> None:
        self.limit = max(1, limit)
        self.timeout_s = timeout_s
        self.busy = busy
        self._per_loop: weakref.WeakKeyDictionary[Any, asyncio.Semaphore] = (
            weakref.WeakKeyDictionary()
        )

    def _semaphore(self) -> asyncio.Semaphore:
        loop = asyncio.get_running_loop()
        sem = self._per_loop.get(loop)
        if sem is None:
            sem = self._per_loop[loop] = asyncio.Semaphore(self.limit)
        return sem

    @asynccontextmanager
    async def slot(self) -> AsyncIterator[None]:
        sem = self._semaphore()
        try:
            await asyncio.wait_for(sem.acquire(), self.timeout_s)
        except TimeoutError:
            raise Busy(self.busy.format(seconds=round(self.timeout_s))) from None
        try:
            yield
        finally:
            sem.release()


def write_gate(settings: Any, dialect: str) -> Gate:
    return Gate(
        write_concurrency(settings, dialect),
        settings.write_queue_timeout_s,
        "系统繁忙：写入请求排队超过 {seconds} 秒，本次请求未做任何修改，请稍后重试"
        " / too many writes queued, retry",
    )


def request_gate(settings: Any) -> Gate:
    """As many requests as the pool has connections, less those the job threads use."""
    connections = settings.db_pool_size + settings.db_max_overflow - settings.job_workers - 2
    return Gate(
        min(settings.request_threads, connections),
        settings.write_queue_timeout_s,
        "系统繁忙：请求排队超过 {seconds} 秒，请稍后重试 / server busy, retry",
    )


def write_concurrency(settings: Any, dialect: str) -> int:
    if settings.write_concurrency:
        return int(settings.write_concurrency)
    return 4 if dialect == "sqlite" else 16


class _Bucket:
    __slots__ = ("stamp", "tokens")

    def __init__(self, tokens: float, stamp: float) -> None:
        self.tokens = tokens
        self.stamp = stamp


class RateBuckets:
    """The token buckets of one application (``app.state.rate_buckets``): each app
    counts its own clients, so two apps in one process (tests, say) never share."""

    def __init__(self) -> None:
        self.buckets: dict[str, _Bucket] = {}
        self.lock = threading.Lock()


def check_rate(request: Request, key: str) -> None:
    """Token bucket: ``YIBAO_TOKEN_RATE_PER_MINUTE`` requests a minute per ``key``,
    bursts up to the same number; 429 beyond it."""
    per_minute = request.app.state.settings.token_rate_per_minute
    if per_minute <= 0:
        return
    bucket_take(request.app.state.rate_buckets, per_minute, key)


def bucket_take(state: RateBuckets, per_minute: int, key: str) -> None:
    """Take one request from ``key``'s bucket of ``state`` (:func:`check_rate`)."""
    rate = per_minute / 60.0
    now = time.monotonic()
    with state.lock:
        bucket = state.buckets.get(key)
        if bucket is None:
            bucket = state.buckets[key] = _Bucket(float(per_minute), now)
        bucket.tokens = min(float(per_minute), bucket.tokens + (now - bucket.stamp) * rate)
        bucket.stamp = now
        if bucket.tokens >= 1.0:
            bucket.tokens -= 1.0
            return
        wait = int((1.0 - bucket.tokens) / rate) + 1
    raise TooManyRequests(
        f"请求过于频繁：每个接口令牌每分钟最多 {per_minute} 次，请 {wait} 秒后重试"
        " / rate limit exceeded",
        retry_after_s=wait,
    )
