"""Accounts: passwords (argon2), login with lock-out, API tokens.  Never commits."""

from __future__ import annotations

import hashlib
import re
import secrets
from dataclasses import dataclass
from datetime import timedelta

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import select
from sqlalchemy.orm import Session

from yibao.accounts.models import ApiToken, User
from yibao.accounts.roles import Role
from yibao.accounts.scoping import Scope
from yibao.audit.service import Actor, record
from yibao.kit.errors import Conflict, Unauthorized, ValidationFailed
from yibao.kit.timeutil import utcnow
from yibao.regions.models import Hospital, Region

_hasher: PasswordHasher | None = None
USERNAME_RE = re.compile(r"^[A-Za-z0-9_.\-]{3,50}$")
MIN_PASSWORD_LEN = 8
TOKEN_PREFIX = "ybt_"


def _password_hasher() -> PasswordHasher:
    """argon2id with the cost from settings (YIBAO_ARGON2_*), built on first use."""
    global _hasher
    if _hasher is None:
        from yibao.config import get_settings

        s = get_settings()
        _hasher = PasswordHasher(
            time_cost=s.argon2_time_cost,
            memory_cost=s.argon2_memory_kib,
            parallelism=s.argon2_parallelism,
        )
    return _hasher


def hash_password(password: str) -> str:
    return _password_hasher().hash(password)


def verify_password(password_hash: str, password: str) -> bool:
    try:
        return _password_hasher().verify(password_hash, password)
    except (VerificationError, InvalidHashError):
        return False


def scope_of(user: User) -> Scope:
    """The data scope of a user: its hospital, or its region subtree."""
    if user.hospital_id is not None:
        return Scope(hospital_id=user.hospital_id)
    return Scope(region_code=user.region_code)


def actor_of(user: User, ip: str | None = None) -> Actor:
    region = user.region_code or (user.hospital.region_code if user.hospital else None)
    return Actor(user.id, user.username, region, user.hospital_id, ip)


def _user_snapshot(user: User) -> dict[str, object]:
    return {
        "username": user.username,
        "display_name": user.display_name,
        "role": user.role,
        "region_code": user.region_code,
        "hospital_id": user.hospital_id,
        "is_active": user.is_active,
    }


def do_create_user(
    session: Session,
    *,
    username: str,
    password: str,
    role: str,
    display_name: str | None = None,
    region_code: str | None = None,
    hospital_code: str | None = None,
    actor: Actor,
    password_hash: str | None = None,
) -> User:
    """Create a user; bureau roles need a region, hospital roles a hospital.

    ``password_hash`` (an argon2 hash of ``password``) skips hashing again, for
    seeding many accounts that share one demo password.
    """
    if not USERNAME_RE.match(username):
        raise ValidationFailed(
            "用户名须为3–50位字母、数字或 _ . - / username: 3–50 letters, digits, _ . -",
            field="username",
        )
    if len(password) < MIN_PASSWORD_LEN:
        raise ValidationFailed(
            f"密码至少{MIN_PASSWORD_LEN}位 / password needs {MIN_PASSWORD_LEN}+ characters",
            field="password",
        )
    try:
        role_enum = Role(role)
    except ValueError:
        allowed = ", ".join(r.value for r in Role)
        raise ValidationFailed(
            f"未知角色 {role!r}，可选: {allowed} / unknown role", field="role"
        ) from None
    if session.scalar(select(User.id).where(User.username == username)) is not None:
        raise Conflict(f"用户名 {username} 已存在 / username exists", field="username")
    hospital_id = None
    if role_enum.is_hospital:
        if not hospital_code:
            raise ValidationFailed(
                "医院角色必须指定医疗机构编码 / hospital roles need --hospital",
                field="hospital_code",
            )
        hospital = session.scalar(select(Hospital).where(Hospital.code == hospital_code))
        if hospital is None:
            raise ValidationFailed(
                f"医疗机构 {hospital_code} 不存在 / unknown hospital", field="hospital_code"
            )
        hospital_id, region_code = hospital.id, None
    else:
        if not region_code:
            raise ValidationFailed(
                "医保局角色必须指定医保区划 / bureau roles need --region", field="region_code"
            )
        if session.get(Region, region_code) is None:
            raise ValidationFailed(
                f"医保区划 {region_code} 不存在 / unknown region", field="region_code"
            )
    user = User(
        username=username,
        display_name=display_name or username,
        password_hash=password_hash or hash_password(password),
        role=role_enum.value,
        region_code=region_code,
        hospital_id=hospital_id,
        is_active=True,
        failed_logins=0,
    )
    session.add(user)
    session.flush()
    record(session, actor, "user.create", "user", user.id, None, _user_snapshot(user))
    return user


@dataclass(frozen=True)
class LoginSettings:
    max_failures: int = 5
    lock_minutes: int = 15


def do_login(
    session: Session,
    username: str,
    password: str,
    *,
    ip: str | None = None,
    settings: LoginSettings | None = None,
) -> User:
    """Check a password.  Every failure is audited; repeated failures lock the account.

    The caller must commit even when this raises, so that the failure is kept
    (the web layer does).
    """
    cfg = settings or LoginSettings()
    user = session.scalar(select(User).where(User.username == username))
    now = utcnow()
    if user is None:
        record(
            session,
            Actor(None, username or "?", ip=ip),
            "auth.login_failed",
            "user",
            None,
            after={"username": username, "reason": "unknown_user"},
        )
        raise Unauthorized("用户名或密码错误 / wrong username or password")
    actor = actor_of(user, ip)
    if user.locked_until is not None and user.locked_until > now:
        record(session, actor, "auth.login_failed", "user", user.id, after={"reason": "locked"})
        raise Unauthorized(
            "账号因多次密码错误已被暂时锁定，请稍后再试 / account temporarily locked"
        )
    if not user.is_active:
        record(session, actor, "auth.login_failed", "user", user.id, after={"reason": "inactive"})
        raise Unauthorized("账号已停用 / account disabled")
    if not verify_password(user.password_hash, password):
        user.failed_logins += 1
        reason = {"reason": "wrong_password", "failed_logins": user.failed_logins}
        if user.failed_logins >= cfg.max_failures:
            user.locked_until = now + timedelta(minutes=cfg.lock_minutes)
            reason["locked_until"] = user.locked_until.isoformat()
        record(session, actor, "auth.login_failed", "user", user.id, after=reason)
        raise Unauthorized("用户名或密码错误 / wrong username or password")
    user.failed_logins = 0
    user.locked_until = None
    user.last_login_at = now
    record(session, actor, "auth.login", "user", user.id)
    return user


def do_create_api_token(session: Session, user: User, name: str, *, actor: Actor) -> str:
    """Create a token for a (HIS client) user; the plain token is returned once only."""
    plain = TOKEN_PREFIX + secrets.token_urlsafe(32)
    token = ApiToken(
        user_id=user.id,
        name=name,
        prefix=plain[:12],
        token_hash=hashlib.sha256(plain.encode()).hexdigest(),
    )
    session.add(token)
    session.flush()
    record(
        session,
        actor,
        "api_token.create",
        "api_token",
        token.id,
        after={"user": user.username, "name": name, "prefix": token.prefix},
    )
    return plain


def do_revoke_api_token(session: Session, token: ApiToken, *, actor: Actor) -> None:
    token.revoked_at = utcnow()
    record(
        session, actor, "api_token.revoke", "api_token", token.id, after={"prefix": token.prefix}
    )


def user_for_token(session: Session, plain: str) -> User | None:
    """The active user of a valid, unrevoked token, or None."""
    digest = hashlib.sha256(plain.encode()).hexdigest()
    token = session.scalar(select(ApiToken).where(ApiToken.token_hash == digest))
    if token is None or token.revoked_at is not None or not token.user.is_active:
        return None
    token.last_used_at = utcnow()
    return token.user
