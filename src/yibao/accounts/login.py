"""Login with lock-out: attempts counted before the password is checked, one message
for every failure.  A username matches in any case (``Admin`` logs in as ``admin``:
usernames are unique regardless of case, ADR 0046).  Never commits."""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import timedelta
from typing import Any, cast

from sqlalchemy import CursorResult, case, or_, select, update
from sqlalchemy.orm import Session

from yibao.accounts.models import User
from yibao.accounts.repository import username_is
from yibao.accounts.service import _password_hasher, actor_of, hash_password, verify_password
from yibao.audit.service import Actor, record
from yibao.kit.errors import Unauthorized
from yibao.kit.timeutil import utcnow


@dataclass(frozen=True)
class LoginSettings:
    max_failures: int = 5
    lock_minutes: int = 15


@dataclass(frozen=True)
class LoginAttempt:
    """A login attempt as counted before the password is checked (:func:`do_begin_login`).

    ``seq`` is this attempt's number in the account's failure count; None when the
    user is unknown or the account was locked (the attempt is then not counted).
    """

    username: str
    user_id: int | None
    seq: int | None
    ip: str | None


_dummy_hash: str | None = None


def _verify_nothing(password: str) -> None:
    """Spend the time of a real verification (unknown user, locked account), so that
    timing tells nothing about which usernames exist."""
    global _dummy_hash
    if _dummy_hash is None:
        _dummy_hash = hash_password(secrets.token_urlsafe(16))
    verify_password(_dummy_hash, password)


def login_failed_message(cfg: LoginSettings) -> str:
    """One message for every failure (wrong password, unknown user, locked account):
    the answer never tells whether a username exists."""
    return (
        f"用户名或密码错误（连续输错 {cfg.max_failures} 次，账号将锁定 {cfg.lock_minutes} 分钟）"
        " / wrong username or password"
    )


def do_begin_login(
    session: Session, username: str, *, ip: str | None = None, settings: LoginSettings | None = None
) -> LoginAttempt:
    """Count a login attempt *before* its password is checked: one atomic UPDATE adds
    it to the failure count and sets the lock when the count reaches the limit.  The
    caller commits at once (so parallel attempts see each other), then calls
    :func:`do_finish_login`.  A locked account's attempt is not counted."""
    cfg = settings or LoginSettings()
    user_id = session.scalar(select(User.id).where(username_is(username)))
    if user_id is None:
        return LoginAttempt(username, None, None, ip)
    now = utcnow()
    expired = User.locked_until.is_not(None)  # (the WHERE keeps only run-out locks)
    count = case((expired, 1), else_=User.failed_logins + 1)
    seq = session.execute(
        update(User)
        .where(User.id == user_id, or_(User.locked_until.is_(None), User.locked_until <= now))
        .values(
            failed_logins=count,
            locked_until=case(
                (count >= cfg.max_failures, now + timedelta(minutes=cfg.lock_minutes)),
                else_=None,
            ),
        )
        .returning(User.failed_logins)
        .execution_options(synchronize_session=False)
    ).scalar()
    return LoginAttempt(username, user_id, seq, ip)


# long: each way a login ends (unknown, locked, wrong, lock reached, success) is audited
def do_finish_login(
    session: Session,
    attempt: LoginAttempt,
    password: str,
    *,
    settings: LoginSettings | None = None,
) -> User:
    """Check the password of a counted attempt.  Every failure is audited; the caller
    must commit even when this raises (the web layer does).

    Success needs the right password *and* no lock set by other attempts while this
    one was checked: 19 wrong passwords sent together with the right one lock the
    account and the right one is refused too.
    """
    cfg = settings or LoginSettings()
    failed = Unauthorized(login_failed_message(cfg))
    if attempt.user_id is None:
        _verify_nothing(password)
        record(
            session,
            Actor(None, attempt.username[:50] or "?", ip=attempt.ip),
            "auth.login_failed",
            "user",
            None,
            after={"username": attempt.username[:50], "reason": "unknown_user"},
        )
        raise failed
    user = session.get(User, attempt.user_id, populate_existing=True)
    assert user is not None
    actor = actor_of(user, attempt.ip)
    if attempt.seq is None:
        _verify_nothing(password)
        record(session, actor, "auth.login_failed", "user", user.id, after={"reason": "locked"})
        raise failed
    if not verify_password(user.password_hash, password):
        reason: dict[str, object] = {"reason": "wrong_password", "failed_logins": attempt.seq}
        if attempt.seq >= cfg.max_failures:
            reason["locked_minutes"] = cfg.lock_minutes
        record(session, actor, "auth.login_failed", "user", user.id, after=reason)
        raise failed
    if not user.is_active:
        record(session, actor, "auth.login_failed", "user", user.id, after={"reason": "inactive"})
        raise Unauthorized("账号已停用，请联系管理员 / account disabled")
    now = utcnow()
    done = cast(
        CursorResult[Any],
        session.execute(
            update(User)
            .where(
                User.id == user.id,
                or_(User.locked_until.is_(None), User.failed_logins == attempt.seq),
            )
            .values(failed_logins=0, locked_until=None, last_login_at=now)
            .execution_options(synchronize_session=False)
        ),
    ).rowcount
    if not done:
        record(
            session,
            actor,
            "auth.login_failed",
            "user",
            user.id,
            after={"reason": "locked_meanwhile"},
        )
        raise failed
    session.refresh(user)
    if _password_hasher().check_needs_rehash(user.password_hash):
        # hashed with older cost settings: brought up to the current ones, so that
        # every account (and the unknown-user check) takes the same time
        user.password_hash = hash_password(password)
    record(session, actor, "auth.login", "user", user.id)
    return user


def do_login(
    session: Session,
    username: str,
    password: str,
    *,
    ip: str | None = None,
    settings: LoginSettings | None = None,
) -> User:
    """Both halves in the caller's transaction (command line, tests); the web login
    commits between them (:func:`do_begin_login`)."""
    attempt = do_begin_login(session, username, ip=ip, settings=settings)
    return do_finish_login(session, attempt, password, settings=settings)
