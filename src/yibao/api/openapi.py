"""OpenAPI documentation: answers that are files as well as JSON, and the document in
Chinese with its two ways in (issue 10 item 10).

* Every operation's summary is Chinese: the ``summary=`` of its route, or else the
  first clause of its (Chinese) docstring; a test keeps it so for new routes.
* Two security schemes: ``HIS接口令牌`` (``Authorization: Bearer ybt_…``, issued with
  ``yibao users token``) for hospital systems, and ``浏览器会话`` (the session cookie
  of a logged-in user, with its ``X-CSRF-Token`` for writes).
"""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import quote

from fastapi import FastAPI, Response
from fastapi.openapi.utils import get_openapi
from pydantic import TypeAdapter

from yibao.api.cookies import COOKIE

CSV = "text/csv"
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
PDF = "application/pdf"
PARQUET = "application/vnd.apache.parquet"
JSON = "application/json"
_FILE_SCHEMA = {"type": "string", "format": "binary"}


def file_answers(
    *media_types: str, json: bool = True, description: str = "JSON 或文件（按 format）"
) -> dict[int | str, dict[str, Any]]:
    """``responses=`` for an operation whose 200 is JSON (when ``json``) or one of the
    files ``media_types`` (Excel, CSV, PDF …), chosen by its ``format`` parameter."""
    content: dict[str, Any] = {JSON: {}} if json else {}
    content.update({m: {"schema": _FILE_SCHEMA} for m in media_types})
    return {200: {"description": description, "content": content}}


def download(
    content: bytes,
    media_type: str,
    filename: str,
    title: str | None = None,
    headers: dict[str, str] | None = None,
) -> Response:
    """``content`` answered as a file to save: ``filename`` (ASCII, for every client) and,
    when given, ``title`` — the name a Chinese user sees (``疑点清单.xlsx``), sent as
    RFC 5987 ``filename*`` that browsers prefer.  CSV is sent as UTF-8."""
    disposition = f'attachment; filename="{filename}"'
    if title:
        disposition += f"; filename*=UTF-8''{quote(title)}"
    if media_type == CSV:
        media_type = f"{CSV}; charset=utf-8"
    return Response(
        content,
        media_type=media_type,
        headers={"content-disposition": disposition, **(headers or {})},
    )


#: component schemas that request bodies read by hand refer to (:func:`json_body`)
_BODY_SCHEMAS: dict[str, Any] = {}


def json_body(annotation: Any, description: str) -> dict[str, Any]:
    """``openapi_extra=`` documenting a JSON request body of type ``annotation`` (a
    Pydantic model, or ``list[Model]``) for a route that reads its body itself (within
    the size limits of :mod:`yibao.api.limits`)."""
    schema = TypeAdapter(annotation).json_schema(ref_template="#/components/schemas/{model}")
    _BODY_SCHEMAS.update(schema.pop("$defs", {}))
    return {
        "requestBody": {
            "required": True,
            "description": description,
            "content": {JSON: {"schema": schema}},
        }
    }


_HAN = re.compile(r"[\u4e00-\u9fff]")
_CLAUSE = re.compile(r"[：。\n]")

SECURITY_SCHEMES: dict[str, dict[str, Any]] = {
    "HIS接口令牌": {
        "type": "http",
        "scheme": "bearer",
        "description": "医院信息系统（HIS）的接口令牌：Authorization: Bearer ybt_…"
        "（管理员用 yibao users token 签发，可吊销），只能用于 /api 接口"
        "和交易接口的国家平台路径 /fsi/api/rsfComIfsService/callService（SOAP 绑定为同一"
        "目录下的 soap，WSDL 见 /api/exchange/soap?wsdl）",
    },
    "浏览器会话": {
        "type": "apiKey",
        "in": "cookie",
        "name": COOKIE,
        "description": "登录后的浏览器会话；修改数据的请求须带 X-CSRF-Token 头",
    },
}


def _summary(op: dict[str, Any]) -> str | None:
    """A Chinese summary from the operation's description (its docstring)."""
    text = (op.get("description") or "").strip()
    if not _HAN.search(text[:80]):
        return None
    first = _CLAUSE.split(text, maxsplit=1)[0].strip()
    return first[:60] or None


def install(app: FastAPI) -> None:
    """Replace ``app.openapi`` with the Chinese document (built once, then cached)."""

    def openapi() -> dict[str, Any]:
        if app.openapi_schema:
            return app.openapi_schema
        spec = get_openapi(
            title=app.title,
            version=app.version,
            description="医保 DRG/DIP 平台接口：结算清单、审核与确认、测算、分组。"
            "错误统一为 {error: {code, message, field}}，message 为中文。",
            routes=app.routes,
        )
        for ops in spec.get("paths", {}).values():
            for op in ops.values():
                if not _HAN.search(op.get("summary") or ""):
                    better = _summary(op)
                    if better:
                        op["summary"] = better
        components = spec.setdefault("components", {})
        for name, schema in _BODY_SCHEMAS.items():
            components.setdefault("schemas", {}).setdefault(name, schema)
        components["securitySchemes"] = SECURITY_SCHEMES
        spec["security"] = [{name: []} for name in SECURITY_SCHEMES]
        app.openapi_schema = spec
        return spec

    app.openapi = openapi  # type: ignore[method-assign]
