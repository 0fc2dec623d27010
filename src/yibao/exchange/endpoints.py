"""JSON API of the transaction gateway: one endpoint dispatching by infno, also under
the path NHSA's platform uses (HIS vendors hard-code it); its SOAP binding is
:mod:`yibao.exchange.soap_endpoints`.

Read API of what the gateway did (issue 12 item 10; the pages show the same through
:mod:`yibao.exchange.views` and :mod:`yibao.exchange.clearing`): ``GET
/api/exchange/journal`` (and ``/{id}``), ``/settlements`` (and ``/{setl_id}``),
``/reconciliation``, ``/clearing?month=YYYYMM[&format=xlsx]``.  Scoped like every
read: a bureau user its region, a hospital user its own rows; the clearing is for
bureau users."""

from __future__ import annotations

import asyncio
import functools
from dataclasses import dataclass
from typing import Any, Literal

from fastapi import APIRouter, Query, Request
from fastapi.responses import JSONResponse, Response
from sqlalchemy import Connection
from sqlalchemy.orm import Session

from yibao.accounts.models import User
from yibao.accounts.principals import TokenPrincipal
from yibao.accounts.roles import Permission
from yibao.api.deps import Body, Db, request_actor, require
from yibao.api.fastpath import FastCall, FastRoute, group_commit
from yibao.api.limits import checks_text_per_item
from yibao.api.openapi import XLSX, download, file_answers, json_body
from yibao.audit.service import Actor
from yibao.config import Settings
from yibao.db.batching import Handle
from yibao.db.scoping import Scope, set_scope
from yibao.engines.exchange import parse_body
from yibao.exchange import views
from yibao.exchange.clearing import clearing_report, clearing_workbook
from yibao.exchange.registry import Institution, institution_of, institution_of_principal
from yibao.exchange.schemas import (
    ClearingReport,
    EnvelopeIn,
    ExchangeOut,
    JournalEntry,
    JournalPage,
    ReconciliationPage,
    SettlementDetail,
    SettlementPage,
)
from yibao.exchange.service import do_exchange
from yibao.exchange.soap_endpoints import router as soap_router
from yibao.kit.bounds import Day, DbId
from yibao.kit.paging import MAX_PAGE, MAX_SIZE

router = APIRouter(tags=["exchange 交易接口"])
HIS = require(Permission.USE_HIS_API)
VIEW = require(views.VIEW_PERMISSION)
MONTH = r"^\d{4}-?(0[1-9]|1[0-2])$"
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
    summary=(
        "交易接口：按交易编号 infno 办理（签到、人员信息、入出院、费用明细、结算、撤销、"
        "冲正、对账、结算清单）"
    ),
    openapi_extra=BODY,
)
@checks_text_per_item
def call_service(request: Request, body: Body, db: Db, user: User = HIS) -> JSONResponse:
    """交易接口：接收一条报文，返回应答；业务错误为 HTTP 200、infcode = -1。

    报文不完全符合规范但含义可确定时照常办理，并在 warn_msg 中说明；无法确定的拒绝办理，
    err_msg 指明字段。每条报文与应答都记入交易日志。"""
    media, _, params = request.headers.get("content-type", "").partition(";")
    charset = params.partition("charset=")[2].split(";")[0].strip() or None
    parse: Any = functools.partial(_typed, media.strip().lower(), charset)
    answer = do_exchange(
        db,
        body.raw,
        institution=institution_of(user),
        role=user.role,
        actor=request_actor(request, user),
        user_id=user.id,
        settings=request.app.state.settings,
        parse=parse,
    )
    return JSONResponse(answer)


def _typed(media: str, charset: str | None, raw: bytes) -> tuple[Any, list[str]]:
    """A body read as the JSON it is (or refused as such) whatever type it was posted
    with; a type other than application/json is said in a warning."""
    doc, warnings = parse_body(raw, charset=charset)
    if media != "application/json":
        shown = f"为 {media[:60]}" if media else "缺失"
        warnings.append(f"请求头 Content-Type {shown}，应为 application/json；已按 JSON 读取报文")
    return doc, warnings


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


# ------------------------------------------------------ fast route (ADR 0026, 0027)


@dataclass(frozen=True, slots=True)
class _Message:
    raw: bytes
    principal: TokenPrincipal
    institution: Institution
    actor: Actor


def _answer_messages(settings: Settings) -> Handle:
    """The group commit's work: each message in turn, in a session of its own (its
    hospital's data scope) on the batch's connection — exactly what the framework
    route does in a transaction of its own; only the commit is shared."""

    def handle(conn: Connection, messages: list[_Message]) -> list[dict[str, Any]]:
        answers = []
        for m in messages:
            with Session(bind=conn, autoflush=True, expire_on_commit=False) as session:
                set_scope(session, Scope(hospital_id=m.institution.id))
                answer = do_exchange(
                    session,
                    m.raw,
                    institution=m.institution,
                    role=m.principal.role,
                    actor=m.actor,
                    user_id=m.principal.user_id,
                    settings=settings,
                )
                session.flush()
            answers.append(answer)
        return answers

    return handle


async def _fast_exchange(call: FastCall) -> dict[str, Any]:
    """The JSON binding served before the framework: the body is read on the event
    loop; the message runs with every other message queued meanwhile in the
    process's group commit for the gateway (:mod:`yibao.db.batching`) and is answered
    after that commit."""
    p = call.principal
    institution = institution_of_principal(p)
    actor = Actor(p.user_id, p.username, p.home_region, p.hospital_id, call.client)
    settings = call.state.settings
    writer = group_commit(
        call.state,
        "exchange",
        _answer_messages(settings),
        settings.exchange_writer_threads,
        max_batch=1,
    )
    message = _Message(call.body, p, institution, actor)
    answer: dict[str, Any] = await asyncio.wrap_future(writer.submit(message))
    return answer


#: the JSON binding under both paths; a body not sent as application/json (sloppy HIS
#: systems send text/plain) goes the framework's way, which reads any text
FAST_ROUTES = [
    FastRoute(path, Permission.USE_HIS_API, _fast_exchange, json_only=False)
    for path in ("/api/exchange", NHSA_PATH)
]


# ------------------------------------------------------------------ read API

READ_TAG = "exchange 交易查询"
HOSPITAL = Query(None, max_length=12, description="医药机构编码")
PAGE = Query(1, ge=1, le=MAX_PAGE, description="页码")
SIZE = Query(50, ge=1, le=MAX_SIZE, description="每页条数")


@router.get(
    "/api/exchange/journal",
    response_model=JournalPage,
    tags=[READ_TAG],
    summary="交易日志：按机构、交易编号、结果、报文ID、人员、日期查询",
)
def journal(
    db: Db,
    user: User = VIEW,
    hospital: str | None = HOSPITAL,
    infno: str | None = Query(None, max_length=10, description="交易编号，如 2304"),
    result: Literal["ok", "failed"] | None = Query(None, description="ok 成功、failed 失败"),
    msgid: str | None = Query(None, max_length=50, description="发送方报文ID（开头）"),
    person: str | None = Query(
        None, max_length=30, description="人员编号或身份证号（在请求报文中出现）"
    ),
    date_from: Day | None = Query(None, description="接收日期起（含）"),
    date_to: Day | None = Query(None, description="接收日期止（含）"),
    page: int = PAGE,
    size: int = SIZE,
) -> JournalPage:
    """交易日志（医保局：辖区内机构；医院：本院），按接收时间倒序。"""
    flt = views.JournalFilter(
        hospital=hospital or None,
        infno=infno or None,
        result=result,
        msgid=msgid or None,
        person=person or None,
        date_from=date_from,
        date_to=date_to,
        whole_person=not views.reveals_ids(user),
    )
    return views.search_journal(db, flt, page, size)


@router.get(
    "/api/exchange/journal/{message_id}",
    response_model=JournalEntry,
    tags=[READ_TAG],
    summary="一条报文的请求与应答（无权查看完整身份证号的角色隐去中间位）",
)
def journal_entry(message_id: DbId, db: Db, user: User = VIEW) -> JournalEntry:
    return views.journal_entry(db, message_id, reveal=views.reveals_ids(user))


@router.get(
    "/api/exchange/settlements",
    response_model=SettlementPage,
    tags=[READ_TAG],
    summary="实时结算：按本地/异地、机构、状态、年月、人员查询",
)
def settlements(
    db: Db,
    user: User = VIEW,
    hospital: str | None = HOSPITAL,
    scope: Literal["local", "in_province", "out_of_province", "cross"] | None = Query(
        None, description="local 本地、in_province 省内异地、out_of_province 跨省异地、cross 异地"
    ),
    state: Literal["settled", "reversed"] | None = Query(
        None, description="settled 已结算、reversed 已撤销"
    ),
    month: str | None = Query(
        None, pattern=MONTH, description="结算或撤销年月 YYYYMM（清算月份的口径）"
    ),
    person: str | None = Query(None, max_length=30, description="人员编号（开头）"),
    kind: Literal["ipt", "otp"] | None = Query(None, description="ipt 住院、otp 门诊"),
    page: int = PAGE,
    size: int = SIZE,
) -> SettlementPage:
    """实时结算（医保局：辖区内机构；医院：本院），按结算时间倒序。"""
    flt = views.SettlementFilter(
        hospital=hospital or None,
        scope=scope,
        state=state,
        month=views.month_code(month),
        person=person or None,
        kind=kind,
    )
    return views.search_settlements(db, flt, page, size)


@router.get(
    "/api/exchange/settlements/{setl_id}",
    response_model=SettlementDetail,
    tags=[READ_TAG],
    summary="一笔结算：结算信息、基金分项、费用明细与撤销",
)
def settlement(setl_id: str, db: Db, user: User = VIEW) -> SettlementDetail:
    return views.settlement_detail(db, setl_id[:30], reveal=views.reveals_ids(user))


@router.get(
    "/api/exchange/reconciliation",
    response_model=ReconciliationPage,
    tags=[READ_TAG],
    summary="对账结果：3201 对总账与 3202 对明细账",
)
def reconciliation(
    db: Db,
    user: User = VIEW,
    hospital: str | None = HOSPITAL,
    infno: Literal["3201", "3202"] | None = Query(None, description="3201 或 3202"),
    balanced: bool | None = Query(None, description="true 平、false 不平"),
    date_from: Day | None = Query(None, description="对账日期起（含）"),
    date_to: Day | None = Query(None, description="对账日期止（含）"),
    page: int = PAGE,
    size: int = SIZE,
) -> ReconciliationPage:
    """对账结果（医保局：辖区内机构；医院：本院），按对账时间倒序。"""
    flt = views.ReconciliationFilter(
        hospital=hospital or None,
        infno=infno,
        balanced=balanced,
        date_from=date_from,
        date_to=date_to,
    )
    return views.search_reconciliations(db, flt, page, size)


@router.get(
    "/api/exchange/clearing",
    response_model=ClearingReport,
    tags=[READ_TAG],
    summary="异地就医跨统筹区月度清算（参保地 → 就医地），可下载 Excel",
    responses=file_answers(XLSX),
)
def clearing(
    db: Db,
    user: User = VIEW,
    month: str = Query(pattern=MONTH, description="清算年月 YYYYMM"),
    format: Literal["json", "xlsx"] = Query("json", description="json 或 xlsx"),
) -> ClearingReport | Response:
    """医保局用户：辖区作为参保地或就医地的各对统筹区。结算计入结算当月，撤销以负数计入
    撤销当月；清算金额 = 基金支付 + 个人账户支付。"""
    report = clearing_report(db, views.month_code(month) or "")
    if format == "xlsx":
        return download(
            clearing_workbook(report),
            XLSX,
            f"clearing-{report.month}.xlsx",
            f"异地就医清算-{report.month}.xlsx",
        )
    return report
