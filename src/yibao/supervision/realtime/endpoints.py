"""3101 / 3102 / 3103 as plain JSON, for systems that do not speak the envelope:
``POST /api/audit/3101`` (``/3102``, ``/3103``), the body being the transaction's
``input`` object, authenticated by a HIS client's token (the institution comes from
the token).  The answer is ``{"output": …, "warn_msg": …}`` with the gateway's output;
a body that cannot be read is a 422 naming the field, Chinese first.

The route reads its body itself with the gateway's lenient reader (the same answer
or refusal for the same input), calls the same service, and is kept lean: it is the
one the load benchmark drives."""

from __future__ import annotations

import asyncio
from datetime import date
from typing import Any, Literal

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import JSONResponse, Response
from pydantic import BaseModel, Field
from sqlalchemy import Connection
from sqlalchemy.orm import Session

from yibao.accounts.models import User
from yibao.accounts.principals import TokenPrincipal
from yibao.accounts.roles import Permission
from yibao.api.deps import Body, Db, current_user, request_actor, require
from yibao.api.fastpath import FastCall, FastHandler, FastRoute, dumps, group_commit
from yibao.api.openapi import XLSX, download, file_answers, json_body
from yibao.audit.service import Actor
from yibao.config import Settings
from yibao.db.batching import Handle
from yibao.engines.audit.messages import AuditIn, AuditOut, FeedbackIn, FeedbackOut, PreAuditOut
from yibao.engines.exchange import Refused, parse_body
from yibao.engines.exchange.answer import warn_text
from yibao.engines.exchange.lenient import M, read
from yibao.exchange.registry import institution_of, institution_of_principal
from yibao.kit.bounds import DbId, PageNo, PageSize
from yibao.kit.errors import TooLarge, ValidationFailed
from yibao.kit.paging import clamp_page
from yibao.kit.timeutil import utcnow
from yibao.supervision.realtime import repository as records
from yibao.supervision.realtime import views
from yibao.supervision.realtime.auth import records_viewer
from yibao.supervision.realtime.repository import RequestFilter
from yibao.supervision.realtime.schemas import (
    RequestDetailOut,
    RequestPage,
    RequestRowOut,
    RequestTotalsOut,
    RuleHitOut,
)
from yibao.supervision.realtime.service import (
    Answer,
    Asker,
    AuditJob,
    answer_audit,
    answer_audits,
    do_feedback,
)

router = APIRouter(tags=["audit 智能审核（事前/事中）"])
HIS = require(Permission.USE_HIS_API)


class PreAnswer(BaseModel):
    output: PreAuditOut
    warn_msg: str | None = Field(None, description="宽松读取或提醒的说明")


class MidAnswer(BaseModel):
    output: AuditOut
    warn_msg: str | None = None


class FeedbackAnswer(BaseModel):
    output: FeedbackOut
    warn_msg: str | None = None


def _read(raw: bytes, model: type[M], settings: Settings) -> tuple[M, list[str]]:
    """The body read as ``model`` (the gateway's lenient reader) and its warnings; a
    body over the gateway's message limit is refused unread, as through the gateway."""
    limit = settings.exchange_max_body_bytes
    if len(raw) > limit:
        raise TooLarge(
            f"请求体过大：{len(raw)} 字节，上限 {limit} 字节（与交易接口相同），"
            "请分次发送处方（医嘱） / request too large"
        )
    try:
        doc, warnings = parse_body(raw)
        if not isinstance(doc, dict):
            raise Refused(None, "请求体应为 JSON 对象（交易的 input）")
        data, more = read(model, doc)
    except Refused as exc:
        raise ValidationFailed(exc.message, field=exc.field) from None
    return data, warnings + more


def _asker(request: Request, user: User) -> Asker:
    return Asker(
        institution=institution_of(user),
        actor=request_actor(request, user),
        user_id=user.id,
        via="api",
        received_at=utcnow(),
        opter=user.display_name or user.username,
    )


def _answer(output: BaseModel, warnings: list[str]) -> JSONResponse:
    body: dict[str, Any] = {
        "output": output.model_dump(mode="json"),
        "warn_msg": warn_text(warnings),  # as the gateway's: clipped with a count
    }
    return JSONResponse(body)


def _audit(request: Request, body: Body, db: Db, user: User, infno: str) -> JSONResponse:
    asker = _asker(request, user)
    data, warnings = _read(body.raw, AuditIn, request.app.state.settings)
    try:
        out = answer_audit(db, infno, data, asker, request.app.state.settings)
    except Refused as exc:
        raise ValidationFailed(exc.message, field=exc.field) from None
    return _answer(out, asker.warnings + warnings)


AUDIT_BODY = "交易的 input：data 含 patient_dtos → fsi_encounter_dtos（诊断、处方医嘱、手术），"


@router.post(
    "/api/audit/3101",
    response_model=PreAnswer,
    summary="3101 明细审核事前分析（不经交易报文封装）：审核结果与近期就诊、余药提醒",
    openapi_extra=json_body(AuditIn, AUDIT_BODY + "trig_scen 1–5 或 rule_ids"),
)
def pre_audit(request: Request, body: Body, db: Db, user: User = HIS) -> JSONResponse:
    """事前分析：按就诊日期本统筹区生效的规则库审核当前就诊，并返回近期就诊与尚在用药周期
    内的药品。每次请求与结果均保存，结果中的 task_id 供 3103 反馈引用。"""
    return _audit(request, body, db, user, "3101")


@router.post(
    "/api/audit/3102",
    response_model=MidAnswer,
    summary="3102 明细审核事中分析（不经交易报文封装）",
    openapi_extra=json_body(AuditIn, AUDIT_BODY + "trig_scen 6–10 或 rule_ids"),
)
def mid_audit(request: Request, body: Body, db: Db, user: User = HIS) -> JSONResponse:
    """事中分析（结算时）：按就诊日期本统筹区生效的规则库审核当前就诊；请求与结果均保存。"""
    return _audit(request, body, db, user, "3102")


@router.post(
    "/api/audit/3103",
    response_model=FeedbackAnswer,
    summary="3103 事前事中服务反馈（不经交易报文封装）：医生对审核结果的处理",
    openapi_extra=json_body(FeedbackIn, "交易的 input：data 含 warn_type 与 warns"),
)
def feedback(request: Request, body: Body, db: Db, user: User = HIS) -> JSONResponse:
    """反馈：对本机构某次审核（task_id）的结果（jr_id）选择继续执行（须说明理由）或返回
    修改；每条反馈保存并记入审计日志。"""
    asker = _asker(request, user)
    data, warnings = _read(body.raw, FeedbackIn, request.app.state.settings)
    try:
        out = do_feedback(db, data, asker)
    except Refused as exc:
        raise ValidationFailed(exc.message, field=exc.field) from None
    return _answer(out, warnings)


# ------------------------------------------------- stored requests (for later analysis)

RECORDS = "/api/audit/requests"


async def _records_viewer(user: User = Depends(current_user)) -> User:
    return records_viewer(user)


RECORDS_VIEW = Depends(_records_viewer)


@router.get(
    RECORDS,
    response_model=RequestPage,
    summary="事前事中审核记录（可导出 Excel）",
    responses=file_answers(XLSX),
)
def list_requests(
    db: Db,
    user: User = RECORDS_VIEW,
    format: Literal["json", "xlsx"] = Query("json", description="json 列表 / xlsx 导出"),
    hospital: str | None = Query(None, max_length=12, description="医疗机构编码"),
    day_from: date | None = Query(None, description="审核日期起"),
    day_to: date | None = Query(None, description="审核日期止"),
    stage: str | None = Query(None, max_length=4, description="pre 事前 / mid 事中"),
    outcome: str | None = Query(None, max_length=8, description="warned 有提示 / clean 无提示"),
    rule: str | None = Query(None, max_length=40, description="规则编号"),
    person: str | None = Query(None, max_length=50, description="人员编号"),
    visit: str | None = Query(None, max_length=50, description="就诊ID"),
    page: PageNo = 1,
    size: PageSize = 50,
) -> RequestPage | Response:
    """本辖区（医院用户：本院）保存的每一次事前/事中审核请求与应答，可按医院、日期、环节、
    有无提示、规则、人员、就诊筛选；附合计与提示最多的规则（含医生反馈）；``format=xlsx``
    导出（每条提示一行）。"""
    flt = RequestFilter(hospital, day_from, day_to, stage, outcome, rule, person, visit)
    if format == "xlsx":
        return download(
            records.export_xlsx(db, flt), XLSX, "audit-requests.xlsx", "事前事中审核记录.xlsx"
        )
    page, size = clamp_page(page, size)
    result = records.list_requests(db, flt, page, size)
    return RequestPage(
        items=[RequestRowOut.model_validate(views.request_row(r, c)) for r, c in result.items],
        total=result.total,
        page=result.page,
        size=result.size,
        totals=RequestTotalsOut.model_validate(records.totals(db, flt)),
        rules=[RuleHitOut.model_validate(r) for r in records.rule_hits(db, flt)],
    )


@router.get(RECORDS + "/{request_id}", response_model=RequestDetailOut, summary="一次审核记录")
def request_detail(request_id: DbId, db: Db, user: User = RECORDS_VIEW) -> RequestDetailOut:
    """请求（诊断、医嘱）、应答、提示与医生反馈，以及同一就诊的事后审核疑点。"""
    hospital_side = user.hospital_id is not None
    detail = views.request_detail(db, request_id, published_only=hospital_side)
    return RequestDetailOut.model_validate(detail)


# ------------------------------------------------------------- fast routes (ADR 0026)


def _fast_asker(p: TokenPrincipal, client: str | None) -> Asker:
    institution = institution_of_principal(p, "实时审核")
    return Asker(
        institution=institution,
        actor=Actor(p.user_id, p.username, p.home_region, p.hospital_id, client),
        user_id=p.user_id,
        via="api",
        received_at=utcnow(),
        opter=p.username,
    )


def _answer_batch(settings: Settings) -> Handle:
    def handle(conn: Connection, jobs: list[AuditJob]) -> list[Answer | Refused]:
        with Session(bind=conn) as session:
            return answer_audits(session, jobs, settings)

    return handle


def _fast_audit(infno: str) -> FastHandler:
    """The fast route of 3101 / 3102: the body is read on the event loop; the history,
    the audit and the inserts of every request queued meanwhile run together in the
    process's group commit for audits (:mod:`yibao.db.batching`), and each request is
    answered after that commit."""

    async def handler(call: FastCall) -> bytes:
        asker = _fast_asker(call.principal, call.client)
        data, warnings = _read(call.body, AuditIn, call.state.settings)
        settings = call.state.settings
        writer = group_commit(
            call.state, "audit", _answer_batch(settings), settings.audit_writer_threads
        )
        out = await asyncio.wrap_future(writer.submit(AuditJob(infno, data, asker)))
        if isinstance(out, Refused):
            raise ValidationFailed(out.message, field=out.field)
        shown = asker.warnings + warnings  # the audit's own notes before the reader's
        # the output as serialised once for its stored row (service.Answer)
        warn = dumps(warn_text(shown))
        output: str = out.json
        return b'{"output":' + output.encode() + b',"warn_msg":' + warn + b"}"

    return handler


#: 3101 and 3102 served before the framework (api.fastpath); 3103 is rare and stays above
FAST_ROUTES = [
    FastRoute("/api/audit/3101", Permission.USE_HIS_API, _fast_audit("3101")),
    FastRoute("/api/audit/3102", Permission.USE_HIS_API, _fast_audit("3102")),
]
