"""JSON API of the transaction gateway: one endpoint dispatching by infno, also under
the path NHSA's platform uses (HIS vendors hard-code it); its SOAP binding is
:mod:`yibao.exchange.soap_endpoints`."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse

from yibao.accounts.models import User
from yibao.accounts.roles import Permission
from yibao.api.deps import Body, Db, request_actor, require
from yibao.api.limits import checks_text_per_item
from yibao.api.openapi import json_body
from yibao.exchange.registry import institution_of
from yibao.exchange.schemas import EnvelopeIn, ExchangeOut
from yibao.exchange.service import do_exchange
from yibao.exchange.soap_endpoints import router as soap_router

router = APIRouter(tags=["exchange 交易接口"])
HIS = require(Permission.USE_HIS_API)
#: the path of NHSA's platform (医保信息平台) that HIS systems are built against
NHSA_PATH = "/fsi/api/rsfComIfsService/callService"
BODY = json_body(
    EnvelopeIn,
    "交易报文（JSON）：infno 选择交易，msgid 为报文唯一标识（重发同一 msgid 得到原应答，"
    "不会重复办理），除 9001/9002 外须带签到取得的 sign_no",
)


@router.post(
    "/api/exchange",
    response_model=ExchangeOut,
    summary="交易接口：按交易编号 infno 办理（9001 签到、9002 签退、4101A 结算清单上传）",
    openapi_extra=BODY,
)
@checks_text_per_item
def call_service(request: Request, body: Body, db: Db, user: User = HIS) -> JSONResponse:
    """交易接口：接收一条报文，返回应答；业务错误为 HTTP 200、infcode = -1。

    报文不完全符合规范但含义可确定时照常办理，并在 warn_msg 中说明；无法确定的拒绝办理，
    err_msg 指明字段。每条报文与应答都记入交易日志。"""
    answer = do_exchange(
        db,
        body.raw,
        institution=institution_of(user),
        role=user.role,
        actor=request_actor(request, user),
        user_id=user.id,
        settings=request.app.state.settings,
    )
    return JSONResponse(answer)


router.add_api_route(
    NHSA_PATH,
    call_service,
    methods=["POST"],
    response_model=ExchangeOut,
    summary="交易接口（国家医保信息平台的路径，与 /api/exchange 相同）",
    openapi_extra=BODY,
)

#: the SOAP binding of the same service (WSDL and callService; ADR 0015, "SOAP binding")
router.include_router(soap_router)
