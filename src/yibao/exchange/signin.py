"""9001 签到 and 9002 签退, and the sign_no check every other transaction passes.

A sign-in is valid for ``YIBAO_EXCHANGE_SIGN_IN_HOURS`` (24) hours or until its
sign-out, for the institution that signed in only (ADR 0015).  Each terminal or
operator may hold its own sign_no; a new sign-in does not end the earlier ones.

A known sign-in's validity is kept in the process for ``YIBAO_EXCHANGE_CACHE_SECONDS``
(ADR 0042): its expiry is still checked against every message's time; a sign-out
takes effect in its own process at once and in the others within that time, as a
revoked token does (ADR 0026).  An unknown sign_no is never kept.
"""

from __future__ import annotations

import secrets
from datetime import datetime, timedelta

from sqlalchemy import bindparam, select
from sqlalchemy.orm import Session

from yibao.audit.service import record
from yibao.engines.exchange import Refused, label, wall_time
from yibao.engines.exchange.messages import (
    SignInIn,
    SignInOut,
    SignInOutNode,
    SignOutIn,
    SignOutOut,
    SignOutOutNode,
)
from yibao.exchange.models import SignIn
from yibao.exchange.registry import Call, Institution
from yibao.kit.cache import TTLCache
from yibao.kit.timeutil import local

SIGN_IN_AGAIN = "请重新签到（9001）"
#: known sign-ins' (signed_out_at, expires_at) by (institution id, sign_no)
_KEPT: TTLCache[tuple[datetime | None, datetime]] = TTLCache(max_entries=4096)


def forget_sign_ins() -> None:
    """Drop this process's kept sign-ins (a sign-out here; a test that edits rows)."""
    _KEPT.clear()


def new_sign_no(now: datetime) -> str:
    """30 digits: the sign-in time (14) and 16 random digits."""
    return f"{local(now):%Y%m%d%H%M%S}{secrets.randbelow(10**16):016d}"


def sign_in(call: Call, data: SignInIn) -> SignInOut:
    """9001: a new sign_no for the institution, valid for the configured hours."""
    node = data.signIn
    now = call.received_at
    row = SignIn(
        hospital_id=call.institution.id,
        region_code=call.institution.region_code,
        sign_no=new_sign_no(now),
        opter_no=node.opter_no,
        mac=node.mac,
        ip=node.ip,
        signed_in_at=now,
        expires_at=now + timedelta(hours=call.settings.exchange_sign_in_hours),
        message_id=call.message_id,
    )
    call.session.add(row)
    call.session.flush()
    record(
        call.session,
        call.actor,
        "exchange.sign_in",
        "exchange_sign_in",
        row.id,
        after={"sign_no": row.sign_no, "opter_no": row.opter_no, "expires_at": row.expires_at},
        hospital_id=row.hospital_id,
        region_code=row.region_code,
    )
    return SignInOut(signinoutb=SignInOutNode(sign_time=wall_time(now), sign_no=row.sign_no))


def sign_out(call: Call, data: SignOutIn) -> SignOutOut:
    """9002: end a sign-in of the institution (the input's sign_no, else the
    envelope's).  An expired one may still be signed out; a signed-out one not."""
    sign_no = data.signOut.sign_no or call.envelope.sign_no
    if not sign_no:
        where = "input.signOut.sign_no"
        raise Refused(where, f"{label(where)}：必填（或在报文的 sign_no 中给出要签退的签到编号）")
    row = _own(call.session, call.institution, sign_no)
    if row.signed_out_at is not None:
        raise Refused("sign_no", f"{label('sign_no')}：已于 {wall_time(row.signed_out_at)} 签退")
    row.signed_out_at = call.received_at
    call.session.flush()
    forget_sign_ins()
    record(
        call.session,
        call.actor,
        "exchange.sign_out",
        "exchange_sign_in",
        row.id,
        after={"sign_no": row.sign_no, "opter_no": data.signOut.opter_no},
        hospital_id=row.hospital_id,
        region_code=row.region_code,
    )
    return SignOutOut(signoutoutb=SignOutOutNode(sign_time=wall_time(call.received_at)))


def _own(session: Session, institution: Institution, sign_no: str) -> SignIn:
    row = session.scalar(
        select(SignIn).where(SignIn.sign_no == sign_no, SignIn.hospital_id == institution.id)
    )
    if row is None:
        raise _unknown(sign_no)
    return row


def _unknown(sign_no: str) -> Refused:
    return Refused(
        "sign_no", f"{label('sign_no')}：{sign_no[:30]} 无效，不是本机构签到（9001）取得的签到编号"
    )


#: a sign-in's validity (built once)
_VALIDITY = select(SignIn.signed_out_at, SignIn.expires_at).where(
    SignIn.sign_no == bindparam("sign_no"), SignIn.hospital_id == bindparam("hospital")
)


def check_sign_no(
    session: Session,
    institution: Institution,
    sign_no: str | None,
    now: datetime,
    keep_s: float = 0.0,
) -> None:
    """Refuse ``sign_no`` when it is absent, unknown, another institution's, signed
    out or expired (read without the ORM: every message but a sign-in asks; a known
    one kept for ``keep_s`` seconds)."""
    if not sign_no:
        raise Refused("sign_no", f"{label('sign_no')}：必填，请先签到（9001）并使用返回的签到编号")

    def look_up() -> tuple[datetime | None, datetime]:
        found = (
            session.connection()
            .execute(_VALIDITY, {"sign_no": sign_no, "hospital": institution.id})
            .first()
        )
        if found is None:
            raise _unknown(sign_no)  # nothing kept
        return found[0], found[1]

    signed_out_at, expires_at = _KEPT.get((institution.id, sign_no), keep_s, look_up)
    if signed_out_at is not None:
        raise Refused(
            "sign_no",
            f"{label('sign_no')}：已于 {wall_time(signed_out_at)} 签退，{SIGN_IN_AGAIN}",
        )
    if expires_at <= now:
        raise Refused(
            "sign_no", f"{label('sign_no')}：已于 {wall_time(expires_at)} 过期，{SIGN_IN_AGAIN}"
        )
