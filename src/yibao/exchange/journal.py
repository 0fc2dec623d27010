"""The journal of messages: find a stored response by msgid, claim a msgid, store the
response (ADR 0015).  Never commits.

A message costs the journal two statements: the claim (``INSERT … ON CONFLICT DO
NOTHING RETURNING id``, no savepoint) and the response (one ``UPDATE``, with the
``inf_refmsgid`` made from the row's id).  A msgid used before is found by the claim
itself (nothing inserted), so the common case of a new message needs no look-up
first."""

from __future__ import annotations

import functools
from datetime import datetime
from typing import Any, cast

from sqlalchemy import Table, bindparam, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from yibao.engines.exchange import mask_ids, ref_msgid
from yibao.exchange.models import ExchangeMessage
from yibao.exchange.registry import Institution


def stored_response(session: Session, hospital_id: int, msgid: str) -> dict[str, Any] | None:
    """The response already given to the institution's message ``msgid``, if any."""
    found = stored_answer(session, hospital_id, msgid)
    return None if found is None else found[1]


def stored_answer(
    session: Session, hospital_id: int, msgid: str
) -> tuple[str | None, dict[str, Any]] | None:
    """The transaction (infno) and response of the institution's message ``msgid``."""
    row = session.execute(
        select(ExchangeMessage.infno, ExchangeMessage.response).where(
            ExchangeMessage.hospital_id == hospital_id, ExchangeMessage.msgid == msgid
        )
    ).first()
    return None if row is None else (row[0], row[1])


def stored_input(session: Session, hospital_id: int, msgid: str) -> Any:
    """The ``input`` of the institution's message ``msgid`` as it was journaled."""
    request = session.scalar(
        select(ExchangeMessage.request).where(
            ExchangeMessage.hospital_id == hospital_id, ExchangeMessage.msgid == msgid
        )
    )
    return request.get("input") if isinstance(request, dict) else None


def claim(
    session: Session,
    institution: Institution,
    *,
    msgid: str | None,
    infno: str | None,
    sign_no: str | None,
    user_id: int | None,
    received: datetime,
    request: Any,
) -> ExchangeMessage | None:
    """Insert the message's journal row (its response follows in the same
    transaction); None when another transaction holds ``msgid`` already — on
    PostgreSQL the insert waits for that transaction and, once it commits, inserts
    nothing (``ON CONFLICT DO NOTHING``), so its response can then be read; when it
    rolls back instead, this insert goes ahead."""
    values: dict[str, Any] = {
        "hospital_id": institution.id,
        "region_code": institution.region_code,
        "msgid": msgid,
        "infno": infno[:10] if infno else None,
        "sign_no": sign_no[:30] if sign_no else None,
        "user_id": user_id,
        "infcode": -1,
        "inf_refmsgid": "",
        "err_msg": None,
        "warn_msg": None,
        "received_at": received,
        "answered_at": received,
        "request": request,
        "response": {},
    }
    conn = session.connection()
    new_id = conn.execute(_claim_statement(conn.dialect.name), values).scalar()
    if new_id is None:
        if msgid is None:  # only the msgid is unique: a row without one always goes in
            raise AssertionError("journal row without msgid not inserted")
        return None
    # the row as inserted, outside the session: the response is one UPDATE (finish)
    return ExchangeMessage(id=new_id, **values)


def ref_of(institution: Institution, row: ExchangeMessage, received: datetime) -> str:
    """The response's ``inf_refmsgid``: pooling region + receiving time + row id."""
    return ref_msgid(institution.admvs, received, row.id)


def finish(
    session: Session,
    row: ExchangeMessage,
    answer: dict[str, Any],
    *,
    answered: datetime,
    keep_msgid: bool = True,
) -> None:
    """Store the response on the row (one ``UPDATE``, after the session's pending
    changes).  ``keep_msgid`` False frees the msgid (a failure a retry may not meet
    again), so a retry is processed anew."""
    values: dict[str, Any] = {
        "inf_refmsgid": answer["inf_refmsgid"],
        "infcode": int(answer["infcode"]),
        "err_msg": answer["err_msg"],
        "warn_msg": answer["warn_msg"],
        "answered_at": answered,
        "response": answer,
    }
    if not keep_msgid:
        values["msgid"] = None
    for name, value in values.items():
        setattr(row, name, value)
    session.flush()
    session.connection().execute(_FINISH, {**values, "row_id": row.id})


@functools.cache
def _claim_statement(dialect: str) -> Any:
    """The claim's statement (built once per dialect: its columns come from the
    values it is run with)."""
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    return insert(_TABLE).on_conflict_do_nothing().returning(_TABLE.c.id)


_TABLE = cast(Table, ExchangeMessage.__table__)
#: the response's statement (built once; the columns come from the values)
_FINISH = update(_TABLE).where(_TABLE.c.id == bindparam("row_id"))


def shown(row: ExchangeMessage, *, reveal_ids: bool) -> dict[str, Any]:
    """A journal row as a page or an export shows it: ID numbers masked unless the
    reader may see them."""
    request, response = row.request, row.response
    if not reveal_ids:
        request, response = mask_ids(request), mask_ids(response)
    return {
        "id": row.id,
        "msgid": row.msgid,
        "infno": row.infno,
        "infcode": row.infcode,
        "err_msg": row.err_msg,
        "warn_msg": row.warn_msg,
        "inf_refmsgid": row.inf_refmsgid,
        "received_at": row.received_at,
        "answered_at": row.answered_at,
        "request": request,
        "response": response,
    }
