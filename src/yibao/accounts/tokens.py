"""API tokens for HIS systems and integrators: shown once in plain text, stored as a
hash, revocable.  Never commits."""

from __future__ import annotations

import hashlib
import secrets

from sqlalchemy import select
from sqlalchemy.orm import Session

from yibao.accounts.models import ApiToken, User
from yibao.accounts.principals import TokenPrincipal, forget_principals
from yibao.accounts.roles import Role
from yibao.accounts.service import check_can_manage, user_place
from yibao.audit.service import Actor, record
from yibao.kit.errors import Conflict, NotFound, ValidationFailed
from yibao.kit.timeutil import utcnow

TOKEN_PREFIX = "ybt_"


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
        **user_place(user),
    )
    return plain


def do_revoke_api_token(session: Session, token: ApiToken, *, actor: Actor) -> None:
    token.revoked_at = utcnow()
    forget_principals()
    record(
        session,
        actor,
        "api_token.revoke",
        "api_token",
        token.id,
        after={"prefix": token.prefix},
        **user_place(token.user),
    )


def user_for_token(session: Session, plain: str) -> tuple[User, int] | None:
    """The active user and token id of a valid, unrevoked token, or None.

    Reads only: the token's last use is bookkeeping, written outside the request's
    transaction (:mod:`yibao.api.touch`)."""
    if not plain or len(plain) > 200:
        return None
    digest = hashlib.sha256(plain.encode("utf-8", "replace")).hexdigest()
    token = session.scalar(select(ApiToken).where(ApiToken.token_hash == digest))
    if token is None or token.revoked_at is not None or not token.user.is_active:
        return None
    return token.user, token.id


def principal_for_token(session: Session, plain: str) -> TokenPrincipal | None:
    """:func:`user_for_token` as a :class:`TokenPrincipal` (one query: the token
    joins its user and the user's hospital)."""
    found = user_for_token(session, plain)
    if found is None:
        return None
    user, token_id = found
    h = user.hospital
    return TokenPrincipal(
        user.id,
        token_id,
        user.username,
        user.role,
        user.region_code,
        user.hospital_id,
        h.code if h else None,
        h.name if h else None,
        h.level if h else None,
        h.region_code if h else user.region_code,
    )


def user_tokens(session: Session, target: User) -> list[ApiToken]:
    return list(
        session.scalars(
            select(ApiToken).where(ApiToken.user_id == target.id).order_by(ApiToken.id.desc())
        )
    )


def do_issue_token(session: Session, admin: User, target: User, name: str, *, actor: Actor) -> str:
    """A new API token for a HIS client user (shown once)."""
    check_can_manage(admin, target)
    if target.role != Role.HIS_CLIENT:
        raise ValidationFailed("接口令牌只能发给 HIS 接口用户 / tokens are for HIS clients")
    label = (name or "").strip()
    if not label or len(label) > 100:
        raise ValidationFailed("令牌名称：请填写 1–100 个字符（如 HIS 厂商和系统名）", field="name")
    if not target.is_active:
        raise Conflict(f"用户 {target.username} 已停用，不能发放令牌")
    return do_create_api_token(session, target, label, actor=actor)


def do_revoke_user_token(
    session: Session, admin: User, target: User, token_id: int, *, actor: Actor
) -> ApiToken:
    check_can_manage(admin, target)
    token = session.get(ApiToken, token_id)
    if token is None or token.user_id != target.id:
        raise NotFound(f"令牌 {token_id} 不存在 / no such token")
    if token.revoked_at is not None:
        raise Conflict(f"令牌 {token.prefix}… 已吊销")
    do_revoke_api_token(session, token, actor=actor)
    return token
