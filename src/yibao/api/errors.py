"""Error responses: every failure answers with a clear Chinese message, never a 500 for
bad input, never an internal name.

* :class:`~yibao.kit.errors.DomainError` → its status and message (HTML pages get the
  error page, or the login page for 401).
* Payload validation (FastAPI/pydantic) → 422 with one Chinese line per field.
* Framework HTTP errors (404 for an unknown path, 405, a malformed body) → the same
  JSON shape with a Chinese message.
* A lock wait that ran out (SQLite busy, PostgreSQL ``lock_timeout``) → 503 "busy,
  try again" with ``Retry-After``; nothing was written.
* A value the database refused (a number beyond its integer, a text longer than its
  column …: SQLAlchemy ``DataError``, psycopg's ``DataError`` from a bulk ``COPY``,
  SQLite's integer ``OverflowError``) → 422
  ``db_value_rejected``, logged as a warning with a reference.  This is a safety net
  only: request values are bounded where they are declared (:mod:`yibao.kit.bounds`),
  and the API fuzz test counts every answer of the net as a finding.
  ``IntegrityError`` (a constraint) is not in it: that stays a conflict or a bug.
* Anything else → 500 with a reference number that is also in the log.
"""

from __future__ import annotations

import logging
import secrets
from typing import Any

import psycopg
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, RedirectResponse, Response
from pydantic import BaseModel, Field
from sqlalchemy.exc import DataError, DBAPIError
from sqlalchemy.exc import TimeoutError as PoolTimeout
from starlette.exceptions import HTTPException as StarletteHTTPException

from yibao.api.dberrors import busy_error, is_busy, refused_value
from yibao.api.deps import is_api
from yibao.api.wording import humanize, label
from yibao.kit.errors import Busy, DomainError, TooManyRequests, Unauthorized, ValidationFailed
from yibao.web.render import render_error

log = logging.getLogger("yibao.errors")

HTTP_MESSAGES = {
    400: "请求格式错误 / bad request",
    401: "请先登录 / login required",
    403: "无权访问 / forbidden",
    404: "页面或接口不存在 / not found",
    405: "不支持该请求方法 / method not allowed",
    406: "不支持请求的返回格式 / not acceptable",
    413: "请求体过大 / request too large",
    415: "不支持的请求内容类型 / unsupported media type",
    422: "请求数据格式错误 / invalid request payload",
    429: "请求过于频繁 / too many requests",
}

#: pydantic error type → Chinese rule text ({…} filled from the error's ctx)
VALIDATION_TEXT = {
    "missing": "必填",
    "int_parsing": "应为整数",
    "int_type": "应为整数",
    "int_from_float": "应为整数",
    "float_parsing": "应为数字",
    "float_type": "应为数字",
    "decimal_parsing": "应为数字",
    "decimal_type": "应为数字",
    "bool_parsing": "应为 true 或 false",
    "bool_type": "应为 true 或 false",
    "string_type": "应为文本",
    "string_too_short": "长度至少 {min_length} 个字符",
    "string_too_long": "长度不能超过 {max_length} 个字符",
    "string_pattern_mismatch": "格式不正确",
    "greater_than": "应大于 {gt}",
    "greater_than_equal": "应不小于 {ge}",
    "less_than": "应小于 {lt}",
    "less_than_equal": "应不大于 {le}",
    "date_parsing": "应为日期（YYYY-MM-DD）",
    "date_from_datetime_parsing": "应为日期（YYYY-MM-DD）",
    "date_type": "应为日期（YYYY-MM-DD）",
    "datetime_parsing": "应为日期时间（YYYY-MM-DDTHH:MM:SS）",
    "datetime_from_date_parsing": "应为日期时间（YYYY-MM-DDTHH:MM:SS）",
    "datetime_type": "应为日期时间",
    "list_type": "应为数组",
    "dict_type": "应为对象",
    "model_type": "应为对象",
    "model_attributes_type": "应为对象",
    "enum": "取值应为 {expected} 之一",
    "literal_error": "取值应为 {expected} 之一",
    "too_long": "最多 {max_length} 项",
    "too_short": "至少 {min_length} 项",
    "json_invalid": "不是有效的 JSON",
    "json_type": "不是有效的 JSON",
    "extra_forbidden": "不允许的字段",
    "value_error": "{error}",
    "decimal_max_digits": "数字位数过多（最多 {max_digits} 位）",
    "decimal_max_places": "小数位数过多（最多 {decimal_places} 位）",
    "finite_number": "应为有限数字",
    "union_tag_invalid": "类型不正确",
    "uuid_parsing": "格式不正确",
    "url_parsing": "格式不正确",
}

LOCATION = {"body": "请求体", "query": "查询参数", "path": "路径参数", "header": "请求头"}


class FieldErrorOut(BaseModel):
    field: str = Field(description="字段")
    message: str = Field(description="该字段的问题（中文）")


class ErrorBodyOut(BaseModel):
    code: str = Field(description="错误代码，如 validation_failed、not_found、forbidden")
    message: str = Field(description="说明（中文，附英文摘要）")
    field: str | None = Field(None, description="出错的字段（若有）")
    details: list[FieldErrorOut] | None = Field(None, description="逐字段的问题（若有）")


class ErrorOut(BaseModel):
    """Every error of the JSON API has this shape."""

    error: ErrorBodyOut


#: the error answers every operation of the JSON API may give (documented in its
#: OpenAPI instead of FastAPI's default 422 shape, which this API never sends)
ERROR_RESPONSES: dict[int | str, dict[str, Any]] = {
    status: {"model": ErrorOut, "description": HTTP_MESSAGES.get(status, text)}
    for status, text in (
        (400, ""),
        (401, ""),
        (403, ""),
        (404, ""),
        (409, "与当前状态冲突 / conflict"),
        (413, ""),
        (422, ""),
        (429, ""),
        (503, "系统繁忙，请稍后重试 / busy, retry"),
    )
}


def _field(loc: tuple[Any, ...]) -> str:
    parts = [str(p) for p in loc]
    if parts and parts[0] in LOCATION:
        parts = parts[1:] or [parts[0]]
    return ".".join(parts)


def validation_details(exc: RequestValidationError) -> list[dict[str, str]]:
    """One Chinese line per invalid field: where, what rule."""
    details = []
    for err in exc.errors():
        loc = tuple(err.get("loc", ()))
        where = LOCATION.get(str(loc[0]), "") if loc else ""
        ctx = dict(err.get("ctx") or {})
        if "expected" in ctx:  # pydantic's "'1', '2' or '3'"
            ctx["expected"] = str(ctx["expected"]).replace(", ", "、").replace(" or ", "、")
        template = VALIDATION_TEXT.get(str(err.get("type")), "取值不正确")
        if str(ctx.get("error", "")).startswith("Expected UploadFile"):
            template = "应为上传的文件（未选择文件，或文件名为空）"  # pydantic's English
        try:
            rule = template.format(**ctx)
        except (KeyError, IndexError, ValueError):
            rule = "取值不正确"
        name = _field(loc)
        shown = label(name) or name
        details.append(
            {"field": name, "message": f"{where}{' ' if where else ''}{shown}：{rule}".strip()}
        )
    return details


def _wants_html(request: Request) -> bool:
    return not is_api(request) and "text/html" in request.headers.get("accept", "")


def _json(
    status: int, code: str, message: str, field: str | None = None, **extra: Any
) -> JSONResponse:
    body: dict[str, Any] = {"code": code, "message": message, "field": field}
    body.update(extra)
    return JSONResponse(status_code=status, content={"error": body})


# long: one closure per error type, sharing the HTML-or-JSON decision of this function
def install(app: FastAPI) -> None:
    """Register the handlers on ``app``."""

    @app.exception_handler(DomainError)
    async def _domain_error(request: Request, exc: DomainError) -> Response:
        if _wants_html(request):
            if isinstance(exc, Unauthorized):
                return RedirectResponse(f"/login?next={request.url.path}", status_code=303)

            return render_error(request, exc)
        body = {**exc.to_dict(), "message": humanize(exc.message)}
        response = JSONResponse(status_code=exc.http_status, content={"error": body})
        if isinstance(exc, TooManyRequests):
            response.headers["Retry-After"] = str(exc.retry_after_s)
        if isinstance(exc, Busy):
            response.headers["Retry-After"] = "2"
        return response

    @app.exception_handler(RequestValidationError)
    async def _validation_error(request: Request, exc: RequestValidationError) -> Response:
        details = validation_details(exc)
        message = "请求数据格式错误：" + "；".join(d["message"] for d in details[:5])
        if _wants_html(request):
            return render_error(request, ValidationFailed(message))
        field = details[0]["field"] if details else None
        return _json(422, "validation_failed", message, field=field, details=details)

    @app.exception_handler(StarletteHTTPException)
    async def _http_error(request: Request, exc: StarletteHTTPException) -> Response:
        message = HTTP_MESSAGES.get(exc.status_code, f"请求失败（HTTP {exc.status_code}）")
        if exc.status_code == 400 and exc.detail and "pars" in str(exc.detail):
            message = "请求体无法解析（格式错误或嵌套过深）/ the body could not be parsed"
        if _wants_html(request) and exc.status_code in (403, 404, 405):
            return render_error(request, DomainError(message, http_status=exc.status_code))
        response = _json(exc.status_code, f"http_{exc.status_code}", message)
        for name, value in (exc.headers or {}).items():
            response.headers[name] = value
        return response

    @app.exception_handler(DBAPIError)
    async def _db_error(request: Request, exc: DBAPIError) -> Response:
        if is_busy(exc):
            return await _domain_error(request, busy_error())
        if isinstance(exc, DataError):
            return await _domain_error(request, _value_rejected(request, exc))
        return _server_error(exc)

    @app.exception_handler(psycopg.DataError)
    async def _copy_data_error(request: Request, exc: psycopg.DataError) -> Response:
        return await _domain_error(request, _value_rejected(request, exc))

    @app.exception_handler(OverflowError)
    async def _overflow(request: Request, exc: OverflowError) -> Response:
        if SQLITE_OVERFLOW in str(exc):
            return await _domain_error(request, _value_rejected(request, exc))
        return _server_error(exc)

    @app.exception_handler(PoolTimeout)
    async def _pool_timeout(request: Request, exc: PoolTimeout) -> Response:
        return await _domain_error(request, busy_error())

    @app.exception_handler(Exception)
    async def _unexpected(_request: Request, exc: Exception) -> Response:
        return _server_error(exc)


#: what pysqlite says of an int beyond 64 bits
SQLITE_OVERFLOW = "too large to convert to SQLite INTEGER"


def _value_rejected(request: Request, exc: BaseException) -> ValidationFailed:
    """The safety net's answer: the database refused a value the request carried."""
    return refused_value(f"{request.method} {request.url.path}", exc)


def _server_error(exc: BaseException) -> JSONResponse:
    ref = secrets.token_hex(4)
    log.error("unhandled error ref=%s", ref, exc_info=exc)
    return _json(
        500,
        "internal_error",
        f"服务器内部错误（参考编号 {ref}），请联系系统管理员 / internal error, ref {ref}",
    )
