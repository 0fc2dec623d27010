"""The gateway: one message in, one response out, exactly once per msgid (ADR 0015).

:func:`do_exchange` first reads the whole message without the database (body,
envelope, institution, transaction, input: :func:`read_message`), then

1. claims the msgid with the message's journal row (of parallel retries one claims
   it; the others answer its response once it commits);
2. answers a msgid the institution used before — the claim inserted nothing — with
   the stored response, doing nothing again;
3. checks the signature (when the institution has a signing key, ADR 0019) and the
   sign_no, and runs the transaction's handler in a savepoint: a refusal
   rolls back everything the handler wrote;
4. stores the response on the journal row.

All of it happens in the caller's transaction (the request's), so the business
effect and its journal row are committed together or not at all.  A message that is
refused is journaled as well (infcode −1) and changes nothing else.  A database that
is busy is not an answer: the error goes up (503), nothing is written, and a retry
with the same msgid is processed anew.
"""

from __future__ import annotations

import logging
import secrets
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, TypeVar

import psycopg
from pydantic import BaseModel
from sqlalchemy.exc import DBAPIError, IntegrityError
from sqlalchemy.orm import Session

from yibao.accounts.roles import PERMISSION_LABELS, has_permission
from yibao.audit.service import Actor
from yibao.config import Settings
from yibao.engines.exchange import (
    Envelope,
    Refused,
    label,
    parse_body,
    peek_msgid,
    read_envelope,
    read_input,
    response,
    storable,
)
from yibao.engines.exchange.answer import warn_text
from yibao.engines.exchange.envelope import inf_time_warning
from yibao.exchange import journal
from yibao.exchange.keys import check_signature
from yibao.exchange.registry import Call, Institution, Registry, Transaction
from yibao.exchange.signin import check_sign_no
from yibao.exchange.transactions import TRANSACTIONS
from yibao.kit.errors import Busy, DomainError
from yibao.kit.timeutil import utcnow

log = logging.getLogger(__name__)
T = TypeVar("T")

#: how much of a body that cannot be read the journal keeps
RAW_TEXT_KEPT = 2000
#: reads a body into the envelope (a JSON object) and the warnings, or raises
#: :class:`Refused`: :func:`parse_body` for JSON, the SOAP binding's reader for XML
BodyParser = Callable[[bytes], tuple[Any, list[str]]]


@dataclass
class Reading:
    """What a message says, read without the database, and whether it can be done."""

    request: Any
    #: the message as read (before the envelope is), which a signature covers
    doc: Any = None
    msgid: str | None = None
    infno: str | None = None
    sign_no: str | None = None
    warnings: list[str] = field(default_factory=list)
    refused: Refused | None = None
    envelope: Envelope | None = None
    transaction: Transaction | None = None
    data: BaseModel | None = None


def _text(value: Any) -> str | None:
    if isinstance(value, bool) or not isinstance(value, str | int):
        return None
    return str(value).strip() or None


def read_message(
    raw: bytes,
    institution: Institution,
    role: str,
    registry: Registry = TRANSACTIONS,
    parse: BodyParser = parse_body,
    max_bytes: int | None = None,
) -> Reading:
    """Read a request body as far as it goes; ``refused`` says why it stops.  ``parse``
    turns the body into the envelope; what else it raises (the SOAP binding's
    ``NotACall``) goes up before anything is written.  A body over ``max_bytes`` is
    refused unread (the journal keeps its first characters, not megabytes)."""
    if max_bytes is not None and len(raw) > max_bytes:
        text = raw[:RAW_TEXT_KEPT].decode("utf-8", errors="replace")
        too_big = Refused(
            None,
            f"报文过大：{len(raw)} 字节，上限 {max_bytes} 字节（交易输入 input 不超过 40000 字符；"
            "费用明细请分批上传）",
        )
        return Reading(request=storable({"raw_text": text}), refused=too_big)
    try:
        doc, warnings = parse(raw)
    except Refused as exc:
        text = raw[:RAW_TEXT_KEPT].decode("utf-8", errors="replace")
        return Reading(request=storable({"raw_text": text}), refused=exc)
    reading = Reading(request=storable(doc), doc=doc, msgid=peek_msgid(doc), warnings=warnings)
    if isinstance(doc, dict):
        reading.infno, reading.sign_no = _text(doc.get("infno")), _text(doc.get("sign_no"))
    try:
        _read(reading, doc, institution, role, registry)
    except Refused as exc:
        reading.refused = exc
    return reading


def _read(
    reading: Reading, doc: Any, institution: Institution, role: str, registry: Registry
) -> None:
    envelope, raw_input, warnings = read_envelope(doc)
    reading.envelope, reading.infno, reading.sign_no = envelope, envelope.infno, envelope.sign_no
    reading.warnings += warnings
    if envelope.fixmedins_code != institution.code:
        raise Refused(
            "fixmedins_code",
            f"{label('fixmedins_code')}：{envelope.fixmedins_code} 不是本接口令牌所属机构"
            f"（{institution.code}）的编号，只能以本机构的名义发送报文",
        )
    if envelope.mdtrtarea_admvs[:4] != institution.admvs[:4]:  # the spec's field, not ours
        reading.warnings.append(
            f"{label('mdtrtarea_admvs')}：{envelope.mdtrtarea_admvs} 不在本机构所在统筹区"
            f"（{institution.admvs}），已按本机构所在区划办理"
        )
    transaction = registry.find(envelope.infno)
    if transaction is None:
        raise Refused(
            "infno",
            f"{label('infno')}：不支持的交易 {envelope.infno}"
            f"（目前支持 {'、'.join(registry.codes)}）",
        )
    if transaction.infno != envelope.infno:
        reading.warnings.append(
            f"{label('infno')}：应为 {transaction.infno}，已将 {envelope.infno} 按"
            f" {transaction.infno} 读取"
        )
    if transaction.permission is not None and not has_permission(role, transaction.permission):
        raise Refused(
            "infno",
            f"无权办理交易 {transaction.infno}（{transaction.name}）：接口用户没有"
            f"“{PERMISSION_LABELS[transaction.permission]}”权限",
        )
    reading.data, more = read_input(transaction.input_model, raw_input)
    reading.transaction = transaction
    reading.warnings += more


def _replayed(
    session: Session, institution: Institution, reading: Reading, stored: dict[str, Any]
) -> dict[str, Any]:
    """The stored answer of a msgid used before.  A refusal resent with another input
    (the HIS corrected the message but kept its msgid) is still the stored refusal —
    the msgid is spent — but says why the correction was not read."""
    if stored.get("infcode") != -1 or not isinstance(reading.doc, dict) or not reading.msgid:
        return stored
    if reading.doc.get("input") == journal.stored_input(session, institution.id, reading.msgid):
        return stored
    hint = (
        f"报文ID {reading.msgid} 已使用过（首次报文被拒绝），本次返回首次的应答；"
        "更正后的报文请使用新的报文ID发送"
    )
    # the hint first: a long stored warning must not push it out of warn_msg
    return {
        **stored,
        "warn_msg": warn_text([hint, *([stored["warn_msg"]] if stored.get("warn_msg") else [])]),
    }


def do_exchange(
    session: Session,
    raw: bytes,
    *,
    institution: Institution,
    role: str,
    actor: Actor,
    user_id: int | None,
    settings: Settings,
    registry: Registry = TRANSACTIONS,
    parse: BodyParser = parse_body,
) -> dict[str, Any]:
    """Answer one message of ``institution`` (see the module docstring); never
    commits.  Returns the response envelope.  ``parse`` reads the body into the
    envelope: JSON (the default) or the SOAP binding's XML."""
    received = utcnow()
    reading = read_message(
        raw, institution, role, registry, parse, max_bytes=settings.exchange_max_body_bytes
    )
    row = journal.claim(
        session,
        institution,
        msgid=reading.msgid,
        infno=reading.infno,
        sign_no=reading.sign_no,
        user_id=user_id,
        received=received,
        request=reading.request,
    )
    if row is None:
        assert reading.msgid is not None
        found = journal.stored_answer(session, institution.id, reading.msgid)
        if found is None:  # the holder rolled back after all: the client may retry
            raise Busy("系统繁忙：同一报文ID的另一笔报文正在处理，请稍后重试 / busy, retry")
        infno, stored = found
        if infno and reading.infno and _code(infno) != _code(reading.infno):
            return _reused_msgid(session, institution, reading, infno, user_id, received)
        log.info("msgid %s of %s answered before", reading.msgid, institution.code)
        return _replayed(session, institution, reading, stored)
    refused, output, keep_msgid = reading.refused, None, True
    if refused is None:
        _note_clock(reading, received)
        call = Call(
            session, institution, actor, settings, _given(reading.envelope), row.id, received
        )
        output, refused, keep_msgid = _run(call, reading)
        # what the transaction found first: notes on how the message was read (numbers
        # sent as text …) must not push it out of warn_msg
        reading.warnings = [*call.warnings, *reading.warnings]
    answered = utcnow()
    answer = response(
        ref=journal.ref_of(institution, row, received),
        received=received,
        responded=answered,
        output=output,
        error=refused.message if refused is not None else None,
        warnings=reading.warnings,
    )
    journal.finish(session, row, answer, answered=answered, keep_msgid=keep_msgid)
    return answer


def _note_clock(reading: Reading, received: datetime) -> None:
    """A HIS clock far from the centre's is said, after the notes on reading (the
    centre's time counts anyway)."""
    skew = inf_time_warning(_given(reading.envelope).inf_time, received)
    if skew:
        reading.warnings.append(skew)


def _code(infno: str) -> str:
    return infno.strip().upper()


def _reused_msgid(
    session: Session,
    institution: Institution,
    reading: Reading,
    used_by: str,
    user_id: int | None,
    received: datetime,
) -> dict[str, Any]:
    """A msgid the institution used for another transaction: refused, journaled without
    the msgid (which stays the first message's).  Answering the first message's
    response would tell a HIS that, say, a reversal (2305) was done when only the
    settlement (2304) it reused the msgid of ever was."""
    row = journal.claim(
        session,
        institution,
        msgid=None,
        infno=reading.infno,
        sign_no=reading.sign_no,
        user_id=user_id,
        received=received,
        request=reading.request,
    )
    assert row is not None  # a row without msgid always goes in
    text = (
        f"{label('msgid')}：{reading.msgid} 已用于交易 {used_by}，不能再用于交易 "
        f"{reading.infno}；本报文未办理，请使用新的报文ID"
    )
    answered = utcnow()
    answer = response(
        ref=journal.ref_of(institution, row, received),
        received=received,
        responded=answered,
        output=None,
        error=text,
        warnings=reading.warnings,
    )
    journal.finish(session, row, answer, answered=answered, keep_msgid=False)
    return answer


def _given(value: T | None) -> T:
    if value is None:
        raise AssertionError("read_message left a readable message incomplete")
    return value


def _run(call: Call, reading: Reading) -> tuple[dict[str, Any] | None, Refused | None, bool]:
    """The transaction's output, or the refusal; and whether the msgid stays taken
    (not after a failure a retry may not meet: a conflict, an internal error)."""
    transaction = _given(reading.transaction)
    try:
        keep_s = call.settings.exchange_cache_seconds
        check_signature(
            call.session, call.institution, reading.doc, call.envelope, call.warnings, keep_s
        )
        if transaction.needs_sign_no:
            check_sign_no(
                call.session, call.institution, call.envelope.sign_no, call.received_at, keep_s
            )
        if transaction.writes:
            with call.session.begin_nested():
                output = transaction.handler(call, reading.data)
        else:  # nothing to undo: a reading handler saves the savepoint's round trips
            output = transaction.handler(call, reading.data)
            if call.session.new or call.session.dirty or call.session.deleted:
                raise AssertionError(f"transaction {transaction.infno} is marked as reading only")
        return output.model_dump(mode="json"), None, True
    except Refused as exc:
        return None, exc, True
    except DomainError as exc:
        return None, Refused(exc.field, exc.message), True
    except (IntegrityError, psycopg.IntegrityError):  # psycopg's own: a bulk COPY
        log.warning("transaction %s of %s conflicted", transaction.infno, call.institution.code)
        text = "与同时处理的另一笔交易冲突，本次交易未做任何修改，请稍后重试"
        return None, Refused(None, text), False
    except (DBAPIError, psycopg.Error):
        raise  # busy or a refused value: the request fails as a whole, nothing is kept
    except Exception:
        ref = secrets.token_hex(4)
        log.exception("transaction %s failed ref=%s", transaction.infno, ref)
        text = f"系统内部错误（参考编号 {ref}），本次交易未做任何修改，请稍后重试或联系医保局"
        return None, Refused(None, text), False
