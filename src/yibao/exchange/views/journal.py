"""The journal of messages: search with filters, one message's request and
response (ID numbers masked for readers without ``VIEW_ID_NUMBERS``)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any, Literal

from sqlalchemy import String, cast, func, select
from sqlalchemy.orm import Session, undefer

from yibao.exchange.models import ExchangeMessage
from yibao.exchange.schemas import (
    JournalEntry,
    JournalPage,
    JournalRow,
)
from yibao.exchange.views.common import day_start, duration_ms, masked, transaction_name
from yibao.kit.errors import NotFound
from yibao.regions.models import Hospital


@dataclass(frozen=True)
class JournalFilter:
    """交易日志的查询条件; dates are business dates, both inclusive."""

    hospital: str | None = None
    infno: str | None = None
    result: Literal["ok", "failed"] | None = None
    msgid: str | None = None
    person: str | None = None
    date_from: date | None = None
    date_to: date | None = None
    #: ``person`` matched as a whole value only (a role that sees ID numbers masked:
    #: a part of a number would let it read one digit by digit)
    whole_person: bool = False


def journal_conditions(flt: JournalFilter) -> list[Any]:
    conds: list[Any] = []
    if flt.hospital:
        conds.append(Hospital.code == flt.hospital)
    if flt.infno:
        conds.append(ExchangeMessage.infno == flt.infno.strip().upper())
    if flt.result == "ok":
        conds.append(ExchangeMessage.infcode == 0)
    elif flt.result == "failed":
        conds.append(ExchangeMessage.infcode != 0)
    if flt.msgid:
        conds.append(ExchangeMessage.msgid.startswith(flt.msgid.strip(), autoescape=True))
    if flt.person:
        # 人员编号 or an ID number, anywhere in the request as received: any part of
        # it, or (whole_person) only a whole JSON text value
        text = cast(ExchangeMessage.request, String)
        wanted = flt.person.strip()
        if flt.whole_person:
            wanted = json.dumps(wanted, ensure_ascii=False)
        conds.append(text.contains(wanted, autoescape=True))
    if flt.date_from:
        conds.append(ExchangeMessage.received_at >= day_start(flt.date_from))
    if flt.date_to:
        conds.append(ExchangeMessage.received_at < day_start(flt.date_to + timedelta(days=1)))
    return conds


def _journal_row(m: ExchangeMessage, code: str, name: str) -> dict[str, Any]:
    return {
        "id": m.id,
        "received_at": m.received_at,
        "duration_ms": duration_ms(m.received_at, m.answered_at),
        "hospital_code": code,
        "hospital_name": name,
        "infno": m.infno,
        "infno_name": transaction_name(m.infno),
        "msgid": m.msgid,
        "infcode": m.infcode,
        "err_msg": m.err_msg,
        "warn_msg": m.warn_msg,
        "inf_refmsgid": m.inf_refmsgid,
    }


def search_journal(session: Session, flt: JournalFilter, page: int, size: int) -> JournalPage:
    """The messages in scope matching ``flt``, newest first."""
    conds = journal_conditions(flt)
    joined = (ExchangeMessage.hospital_id == Hospital.id,)
    total = session.scalar(
        select(func.count(ExchangeMessage.id)).join(Hospital, *joined).where(*conds)
    )
    rows = session.execute(
        select(ExchangeMessage, Hospital.code, Hospital.name)
        .join(Hospital, *joined)
        .where(*conds)
        .order_by(ExchangeMessage.received_at.desc(), ExchangeMessage.id.desc())
        .limit(size)
        .offset((page - 1) * size)
    ).all()
    return JournalPage(
        items=[JournalRow.model_validate(_journal_row(m, c, n)) for m, c, n in rows],
        total=int(total or 0),
        page=page,
        size=size,
    )


def journal_entry(session: Session, message_id: int, *, reveal: bool) -> JournalEntry:
    """One message with its request and response (404 outside the user's scope)."""
    found = session.execute(
        select(ExchangeMessage, Hospital.code, Hospital.name)
        .join(Hospital, ExchangeMessage.hospital_id == Hospital.id)
        .where(ExchangeMessage.id == message_id)
        .options(undefer(ExchangeMessage.request))
    ).first()
    if found is None:
        raise NotFound(f"交易日志中没有序号为 {message_id} 的报文", field="message_id")
    m, code, name = found
    request, response = m.request, m.response
    if not reveal:
        request, response = masked(request), masked(response)
    return JournalEntry.model_validate(
        {
            **_journal_row(m, code, name),
            "answered_at": m.answered_at,
            "sign_no": m.sign_no,
            "request": request,
            "response": response or {},
            "ids_masked": not reveal,
        }
    )


def message_id_of(session: Session, hospital_id: int, msgid: str | None) -> int | None:
    """The journal row of an institution's msgid, if it is in scope."""
    if not msgid:
        return None
    return session.scalar(
        select(ExchangeMessage.id).where(
            ExchangeMessage.hospital_id == hospital_id, ExchangeMessage.msgid == msgid
        )
    )
