"""Server-side browser sessions: started at login, ended by logout, a password change,
an idle timeout or their absolute lifetime.  Never commits.

A copied cookie is worth nothing once its session ended: the cookie carries only a
random key, and :func:`active_session` checks the stored row on every request.
"""

from __future__ import annotations

import hashlib
import secrets
from datetime import datetime, timedelta
from typing import Any, NamedTuple, cast

from sqlalchemy import CursorResult, bindparam, select, update
from sqlalchemy.orm import Session

from yibao.accounts.models import User, WebSession
from yibao.kit.timeutil import utcnow

#: the key of the session id inside the signed cookie
SESSION_KEY = "sid"


def _hash(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


def do_start_session(
    session: Session, user: User, *, lifetime_s: int, ip: str | None = None
) -> str:
    """Open a browser session for ``user``; returns the key to put in the cookie."""
    key = secrets.token_urlsafe(32)
    now = utcnow()
    session.add(
        WebSession(
            user_id=user.id,
            key_hash=_hash(key),
            created_at=now,
            last_seen_at=now,
            expires_at=now + timedelta(seconds=lifetime_s),
            ip=(ip or "")[:45] or None,
        )
    )
    session.flush()
    return key


class LiveSession(NamedTuple):
    """The columns of a session row that the check on every request needs."""

    id: int
    revoked_at: datetime | None
    expires_at: datetime
    last_seen_at: datetime


#: built once: the check runs on every request of every browser user
_LIVE = (
    select(
        WebSession.id,
        WebSession.revoked_at,
        WebSession.expires_at,
        WebSession.last_seen_at,
        User,
    )
    .join(User, User.id == WebSession.user_id)
    .where(WebSession.key_hash == bindparam("key_hash"))
)


def active_session(session: Session, key: Any, settings: Any) -> tuple[LiveSession, User] | None:
    """The live session of a cookie's key and its user, in one query; None when the
    key is unknown, the session revoked, idle or expired, or the user disabled."""
    if not isinstance(key, str) or not key or len(key) > 100:
        return None
    found = session.execute(_LIVE, {"key_hash": _hash(key)}).first()
    if found is None:
        return None
    row, user = LiveSession(*found[:4]), found[4]
    if row.revoked_at is not None or not user.is_active:
        return None
    now = utcnow()
    idle = timedelta(seconds=settings.session_idle_timeout_s)
    if row.expires_at <= now or row.last_seen_at + idle <= now:
        return None
    return row, user


def do_end_session(session: Session, key: Any) -> None:
    """Logout: the session of this cookie key ends now."""
    if isinstance(key, str) and key:
        session.execute(
            update(WebSession)
            .where(WebSession.key_hash == _hash(key), WebSession.revoked_at.is_(None))
            .values(revoked_at=utcnow())
        )


def do_end_user_sessions(session: Session, user_id: int, *, keep: str | None = None) -> int:
    """End every session of a user (password change, account disabled), except
    ``keep`` (the cookie key of the session that made the change)."""
    stmt = update(WebSession).where(WebSession.user_id == user_id, WebSession.revoked_at.is_(None))
    if keep:
        stmt = stmt.where(WebSession.key_hash != _hash(keep))
    done = cast(CursorResult[Any], session.execute(stmt.values(revoked_at=utcnow())))
    return int(done.rowcount or 0)
