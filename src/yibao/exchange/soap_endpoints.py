"""The SOAP 1.1 binding of the transaction gateway, for older HIS systems (ADR 0015,
"SOAP binding"): the WSDL, and ``callService`` answered by the same service as the
JSON endpoint (:func:`~yibao.exchange.service.do_exchange`, with the XML read into
the same envelope).

Two paths, like the JSON endpoint: ``/api/exchange/soap`` and, beside NHSA's JSON
path, ``/fsi/api/rsfComIfsService/soap``; ``GET`` on either (``?wsdl``) serves the
WSDL with that path as the service's address.  Both are left out of the OpenAPI
document (XML only).  Every refusal on them is a SOAP fault rather than the JSON API's
error: 401, 403, 413, 429 and 503 keep their status (:class:`SoapRoute`; an
oversized body through :data:`~yibao.api.limits.REFUSAL_WRITERS`), and a SOAP
message that calls something else is a Client fault with 400.
"""

from __future__ import annotations

import inspect
import json
from collections.abc import Callable, Coroutine
from functools import partial
from typing import Any

from fastapi import APIRouter, FastAPI, Request
from fastapi.responses import Response
from fastapi.routing import APIRoute

from yibao.accounts.models import User
from yibao.accounts.roles import Permission
from yibao.api.deps import Body, Db, request_actor, require
from yibao.api.limits import REFUSAL_WRITERS, checks_text_per_item
from yibao.engines.exchange.soap import NotACall, answer_xml, fault_xml, read_call
from yibao.engines.exchange.wsdl import wsdl
from yibao.exchange.registry import institution_of
from yibao.exchange.service import do_exchange

SOAP_PATH = "/api/exchange/soap"
#: beside the path of NHSA's platform that the JSON alias serves
NHSA_SOAP_PATH = "/fsi/api/rsfComIfsService/soap"
SOAP_PATHS = (SOAP_PATH, NHSA_SOAP_PATH)
XML = "text/xml; charset=utf-8"
HIS = require(Permission.USE_HIS_API)

router = APIRouter(tags=["exchange 交易接口"])


def soap_fault(
    code: str, message: str, status: int, headers: dict[str, str] | None = None
) -> Response:
    return Response(fault_xml(code, message), status_code=status, media_type=XML, headers=headers)


def _fault_code(status: int) -> str:
    return "Server" if status >= 500 else "Client"


def _refusal_body(status: int, message: str) -> tuple[bytes, bytes]:
    return XML.encode(), fault_xml(_fault_code(status), message)


REFUSAL_WRITERS.update(dict.fromkeys(SOAP_PATHS, _refusal_body))


def _handler_for(app: FastAPI, exc: Exception) -> Callable[..., Any] | None:
    for kind in type(exc).__mro__:
        handler = app.exception_handlers.get(kind)
        if handler is not None:
            return handler
    return None


async def _as_fault(request: Request, exc: Exception) -> Response:
    """The API's own answer to ``exc`` (its status, Chinese message and Retry-After),
    written as a SOAP fault."""
    handler = _handler_for(request.app, exc)
    if handler is None:
        raise exc
    answered = handler(request, exc)
    if inspect.isawaitable(answered):
        answered = await answered
    status = int(answered.status_code)
    try:
        message = str(json.loads(answered.body)["error"]["message"])
    except (ValueError, KeyError, TypeError):
        message = "请求无法处理 / request refused"
    headers = {k: v for k, v in answered.headers.items() if k.lower() == "retry-after"}
    return soap_fault(_fault_code(status), message, status, headers)


class SoapRoute(APIRoute):
    """A route whose refusals (no token, no permission, too large, too many, busy …)
    are SOAP faults with the status the JSON API gives them."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()

        async def answer(request: Request) -> Response:
            try:
                return await handler(request)
            except Exception as exc:
                return await _as_fault(request, exc)

        return answer


def service_wsdl(request: Request) -> Response:
    """WSDL：交易接口的 SOAP 1.1 绑定（document/literal，操作 callService）。"""
    address = str(request.base_url).rstrip("/") + request.url.path
    return Response(wsdl(address), media_type=XML)


@checks_text_per_item
def call_service_soap(request: Request, body: Body, db: Db, user: User = HIS) -> Response:
    """交易接口（SOAP）：callService 报文，按 infno 办理，应答为 callServiceResponse。

    与 JSON 交易接口同一处理：同一 msgid 只办理一次，报文与应答记入交易日志；无法读取
    或不安全的 XML 应答 infcode -1；调用其他操作的 SOAP 报文应答 SOAP Fault。"""
    read = partial(read_call, action=request.headers.get("soapaction"))
    try:
        answer = do_exchange(
            db,
            body.raw,
            institution=institution_of(user),
            role=user.role,
            actor=request_actor(request, user),
            user_id=user.id,
            settings=request.app.state.settings,
            parse=read,
        )
    except NotACall as exc:
        return soap_fault(exc.code, exc.message, 400)
    return Response(answer_xml(answer), media_type=XML)


for _path in SOAP_PATHS:
    router.add_api_route(_path, service_wsdl, methods=["GET"], include_in_schema=False)
    router.add_api_route(
        _path,
        call_service_soap,
        methods=["POST"],
        include_in_schema=False,
        route_class_override=SoapRoute,
    )
