"""Institutions' message-signing keys (ADR 0019): issue, rotate, revoke, and the check
every message passes.

An institution with an active key must sign every message (HMAC-SM3 of the canonical
string, :mod:`yibao.engines.exchange.signature`): a message without a valid ``cainfo``
is refused (−1, naming ``cainfo``), journaled and nothing else.  Without a key a
signature is not checked, and the answer's ``warn_msg`` says so.  The secret is
printed once when issued and never audited.

Which secret an institution signs with (or that it has none) is kept in the process
for ``YIBAO_EXCHANGE_CACHE_SECONDS`` (ADR 0042): issuing, rotating or revoking takes
effect in its own process at once and in the others within that time.
"""

from __future__ import annotations

import secrets
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import bindparam, select
from sqlalchemy.orm import Session

from yibao.audit.service import Actor, record
from yibao.engines.exchange import Envelope, Refused, label
from yibao.engines.exchange.signature import SIGN_TYPE, verify
from yibao.exchange.models import ExchangeKey
from yibao.exchange.registry import Institution
from yibao.kit.cache import TTLCache
from yibao.kit.errors import Conflict, NotFound
from yibao.kit.timeutil import local, utcnow
from yibao.regions.models import Hospital

SECRET_BYTES = 32
#: each institution's active secret (None: it signs nothing), by institution id
_KEPT: TTLCache[str | None] = TTLCache(max_entries=4096)


def forget_keys() -> None:
    """Drop this process's kept secrets (a key issued, rotated or revoked here)."""
    _KEPT.clear()


@dataclass(frozen=True)
class Issued:
    """A key just issued: its id and the secret (shown once)."""

    key_id: str
    secret: str
    hospital_code: str
    replaced: str | None = None


def active_key(session: Session, hospital_id: int) -> ExchangeKey | None:
    """The institution's active signing key, if it has one."""
    return session.scalar(
        select(ExchangeKey).where(ExchangeKey.hospital_id == hospital_id, ExchangeKey.active)
    )


#: the active key's secret (built once)
_SECRET = select(ExchangeKey.secret).where(
    ExchangeKey.hospital_id == bindparam("hospital"), ExchangeKey.active
)


def check_signature(
    session: Session,
    institution: Institution,
    message: Mapping[str, Any],
    envelope: Envelope,
    warnings: list[str],
    keep_s: float = 0.0,
) -> None:
    """Refuse ``message`` when the institution has an active key and the message's
    ``cainfo`` is missing or not its HMAC-SM3; without a key, a signature sent is
    ignored with a warning.  The secret is kept for ``keep_s`` seconds."""
    secret = _KEPT.get(
        institution.id,
        keep_s,
        lambda: session.connection().scalar(_SECRET, {"hospital": institution.id}),
    )
    given = envelope.cainfo
    if secret is None:
        if given:
            warnings.append(
                f"{label('cainfo')}：本机构未启用报文签名，签名未校验 / signature not checked"
            )
        return
    if not given:
        raise Refused(
            "cainfo",
            f"{label('cainfo')}：必填。本机构已启用 SM3 报文签名，每条报文须带 signtype“SM3”"
            "和 cainfo（HMAC-SM3 签名值），本报文未办理",
        )
    if envelope.signtype and envelope.signtype.upper() != SIGN_TYPE:
        raise Refused(
            "signtype",
            f"{label('signtype')}：应为 SM3（收到“{envelope.signtype[:10]}”），本报文未办理",
        )
    if not verify(message, secret, given):
        raise Refused(
            "cainfo",
            f"{label('cainfo')}：签名校验不通过（HMAC-SM3）。报文在签名后被改动，或所用密钥"
            "不是本机构当前的签名密钥；本报文未办理",
        )
    if not envelope.signtype:
        warnings.append(f"{label('signtype')}：应为 SM3，已按 SM3 校验签名")


def _hospital(session: Session, code: str) -> Hospital:
    hospital = session.scalar(select(Hospital).where(Hospital.code == code))
    if hospital is None:
        raise NotFound(f"医疗机构 {code} 不存在 / no such institution", field="hospital")
    return hospital


def _new_key(session: Session, hospital: Hospital, actor: Actor, now: datetime) -> Issued:
    key_id = f"K{local(now):%Y%m%d%H%M%S}{secrets.token_hex(3).upper()}"
    secret = secrets.token_hex(SECRET_BYTES)
    row = ExchangeKey(
        hospital_id=hospital.id,
        region_code=hospital.region_code,
        key_id=key_id,
        secret=secret,
        active=True,
        created_at=now,
        created_by=actor.name,
    )
    session.add(row)
    session.flush()
    forget_keys()
    return Issued(key_id, secret, hospital.code)


def _end(session: Session, key: ExchangeKey, actor: Actor, now: datetime) -> None:
    key.active = False
    key.revoked_at = now
    key.revoked_by = actor.name
    session.flush()  # before a new active key of the same institution is inserted
    forget_keys()


def _audit(session: Session, actor: Actor, action: str, hospital: Hospital, **after: Any) -> None:
    record(
        session,
        actor,
        action,
        "exchange_key",
        hospital.code,
        after=after,
        hospital_id=hospital.id,
        region_code=hospital.region_code,
    )


def do_issue_key(session: Session, hospital_code: str, *, actor: Actor) -> Issued:
    """A first signing key for an institution (refused when it has one: rotate)."""
    hospital = _hospital(session, hospital_code)
    current = active_key(session, hospital.id)
    if current is not None:
        raise Conflict(
            f"医疗机构 {hospital_code} 已有有效的签名密钥 {current.key_id}，"
            "如需更换请使用 rotate / already has a key: rotate it",
            field="hospital",
        )
    issued = _new_key(session, hospital, actor, utcnow())
    _audit(session, actor, "exchange.key.issue", hospital, key_id=issued.key_id)
    return issued


def do_rotate_key(session: Session, hospital_code: str, *, actor: Actor) -> Issued:
    """A new key in place of the active one, which stops verifying at once."""
    hospital = _hospital(session, hospital_code)
    current = active_key(session, hospital.id)
    if current is None:
        raise NotFound(
            f"医疗机构 {hospital_code} 没有有效的签名密钥，请先 issue / no key to rotate",
            field="hospital",
        )
    now = utcnow()
    _end(session, current, actor, now)
    issued = _new_key(session, hospital, actor, now)
    _audit(
        session,
        actor,
        "exchange.key.rotate",
        hospital,
        key_id=issued.key_id,
        replaced=current.key_id,
    )
    return Issued(issued.key_id, issued.secret, hospital.code, replaced=current.key_id)


def do_revoke_key(session: Session, hospital_code: str, *, actor: Actor) -> str:
    """End the institution's signing: its messages are no longer checked.  Returns
    the revoked key's id."""
    hospital = _hospital(session, hospital_code)
    current = active_key(session, hospital.id)
    if current is None:
        raise NotFound(
            f"医疗机构 {hospital_code} 没有有效的签名密钥 / no key to revoke", field="hospital"
        )
    _end(session, current, actor, utcnow())
    _audit(session, actor, "exchange.key.revoke", hospital, key_id=current.key_id)
    return current.key_id


def keys_of(session: Session, hospital_code: str | None = None) -> list[tuple[str, ExchangeKey]]:
    """Keys (newest first) with their institution's code, of one institution or all."""
    stmt = (
        select(Hospital.code, ExchangeKey)
        .join(Hospital, Hospital.id == ExchangeKey.hospital_id)
        .order_by(ExchangeKey.id.desc())
    )
    if hospital_code is not None:
        stmt = stmt.where(Hospital.code == hospital_code)
    return [(code, key) for code, key in session.execute(stmt).all()]
