"""Reconciliations: the 3201 / 3202 messages with their result (平 / 不平)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import date
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session, undefer

from yibao.exchange.models import ExchangeMessage
from yibao.exchange.schemas import (
    ReconciliationPage,
    ReconciliationRow,
)
from yibao.exchange.views.common import RECONCILIATIONS, transaction_name
from yibao.exchange.views.journal import JournalFilter, journal_conditions
from yibao.regions.models import Hospital


@dataclass(frozen=True)
class ReconciliationFilter:
    hospital: str | None = None
    infno: str | None = None
    balanced: bool | None = None
    date_from: date | None = None
    date_to: date | None = None


def _ci(node: Any, key: str) -> Any:
    """``node[key]`` ignoring letter case (the gateway reads keys so), or None; a
    node sent as JSON text is read first."""
    if isinstance(node, str):
        try:
            node = json.loads(node)
        except ValueError:
            return None
    if not isinstance(node, dict):
        return None
    if key in node:
        return node[key]
    for k, v in node.items():
        if isinstance(k, str) and k.lower() == key:
            return v
    return None


def _text(value: Any) -> str | None:
    return None if value is None or value == "" else str(value)


def _reconciliation(m: ExchangeMessage, code: str, name: str) -> ReconciliationRow:
    data = _ci(_ci(m.request, "input"), "data")
    output = (m.response or {}).get("output") or {}
    balanced: bool | None = None
    if m.infcode != 0:
        description = m.err_msg or "交易失败"
    elif m.infno == "3201":
        info = output.get("stmtinfo") or {}
        balanced = str(info.get("stmt_rslt")) == "0"
        description = str(info.get("stmt_rslt_dscr") or "")
    else:
        info = output.get("fileinfo") or {}
        balanced = str(info.get("stmt_rslt")) == "0"
        description = (
            f"机构 {info.get('fixmedins_cnt', '—')} 笔，中心 {info.get('centre_cnt', '—')} 笔，"
            f"不符 {info.get('diff_cnt', '—')} 笔"
        )
    return ReconciliationRow(
        id=m.id,
        received_at=m.received_at,
        hospital_code=code,
        hospital_name=name,
        infno=m.infno or "",
        infno_name=transaction_name(m.infno),
        msgid=m.msgid,
        infcode=m.infcode,
        err_msg=m.err_msg,
        setl_optins=_text(_ci(data, "setl_optins")),
        stmt_begndate=_text(_ci(data, "stmt_begndate")),
        stmt_enddate=_text(_ci(data, "stmt_enddate")),
        clr_type=_text(_ci(data, "clr_type")),
        insutype=_text(_ci(data, "insutype")),
        balanced=balanced,
        description=description,
    )


def search_reconciliations(
    session: Session, flt: ReconciliationFilter, page: int, size: int
) -> ReconciliationPage:
    """The 3201 / 3202 messages in scope, newest first, with their result.  The
    result filter reads the stored answer, so it is applied to the page's rows only
    when ``balanced`` is given (then the whole match is read, at most 5,000 rows)."""
    infnos = [flt.infno] if flt.infno in RECONCILIATIONS else list(RECONCILIATIONS)
    conds = journal_conditions(
        JournalFilter(hospital=flt.hospital, date_from=flt.date_from, date_to=flt.date_to)
    )
    conds.append(ExchangeMessage.infno.in_(infnos))
    joined = (ExchangeMessage.hospital_id == Hospital.id,)
    stmt = (
        select(ExchangeMessage, Hospital.code, Hospital.name)
        .join(Hospital, *joined)
        .where(*conds)
        .order_by(ExchangeMessage.received_at.desc(), ExchangeMessage.id.desc())
        .options(undefer(ExchangeMessage.request))
    )
    if flt.balanced is not None:
        every = [_reconciliation(m, c, n) for m, c, n in session.execute(stmt.limit(5000))]
        chosen = [r for r in every if r.balanced is flt.balanced]
        start = (page - 1) * size
        return ReconciliationPage(
            items=chosen[start : start + size], total=len(chosen), page=page, size=size
        )
    total = session.scalar(
        select(func.count(ExchangeMessage.id)).join(Hospital, *joined).where(*conds)
    )
    rows = session.execute(stmt.limit(size).offset((page - 1) * size)).all()
    return ReconciliationPage(
        items=[_reconciliation(m, c, n) for m, c, n in rows],
        total=int(total or 0),
        page=page,
        size=size,
    )
