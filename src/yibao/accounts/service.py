"""Accounts: passwords (argon2), login with lock-out, API tokens.  Never commits."""

from __future__ import annotations

import hashlib
import re
import secrets
from dataclasses import dataclass
from datetime import timedelta
from typing import Any, cast

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import CursorResult, case, or_, select, update
from sqlalchemy.orm import Session

from yibao.accounts.models import ApiToken, User
from yibao.accounts.roles import Role
from yibao.audit.service import Actor, record
from yibao.db.scoping import Scope
from yibao.kit.errors import Conflict, Forbidden, NotFound, Unauthorized, ValidationFailed
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


#: who may create whom: a user creates roles of a rank at most its own
ROLE_RANK: dict[Role, int] = {
    Role.BUREAU_ADMIN: 3,
    Role.BUREAU_ANALYST: 2,
    Role.BUREAU_REVIEWER: 2,
    Role.RULE_ADMIN: 2,
    Role.HOSPITAL_USER: 1,
    Role.HIS_CLIENT: 1,
}


def check_can_create(
    creator: User, role: Role, region_code: str | None, hospital: Hospital | None
) -> None:
    """403 unless ``creator`` may create a ``role`` user there: a role at or below its
    own, in its own region subtree (bureau) or its own hospital (hospital users)."""
    mine = Role(creator.role)
    if ROLE_RANK[role] > ROLE_RANK[mine]:
        raise Forbidden(
            f"不能创建比自己权限更高的角色：您是{mine.label}，不能创建{role.label}"
            " / cannot create a higher role"
        )
    scope = scope_of(creator)
    if role.is_hospital:
        if hospital is not None and not scope.allows(hospital.id, hospital.region_code):
            raise Forbidden(
                f"医疗机构 {hospital.code} 在您的辖区外，不能为其创建用户"
                " / hospital outside your scope"
            )
    elif scope.hospital_id is not None:
        raise Forbidden("医院用户不能创建医保局角色 / hospitals cannot create bureau users")
    elif region_code is not None and not scope.allows(None, region_code):
        raise Forbidden(
            f"医保区划 {region_code[:10]} 在您的辖区外，不能在该区划创建用户"
            " / region outside your scope"
        )


def _hospital(session: Session, code: str) -> Hospital | None:
    if len(code) > 12:
        return None
    return session.scalar(
        select(Hospital).where(Hospital.code == code).execution_options(skip_scope=True)
    )


def _check_fields(username: str, password: str, display_name: str | None) -> None:
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
    if len(password) > 200:
        raise ValidationFailed("密码最长 200 位 / password too long", field="password")
    if display_name is not None and len(display_name) > 100:
        raise ValidationFailed("姓名最长 100 个字符 / display name too long", field="display_name")


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
    creator: User | None = None,
    password_hash: str | None = None,
) -> User:
    """Create a user; bureau roles need a region, hospital roles a hospital.

    ``creator`` is the logged-in user who asks (None: the command line or the demo
    seed, which run with the operator's authority): it may only create roles at or
    below its own (:data:`ROLE_RANK`), inside its own region or hospital
    (:func:`check_can_create`).  ``password_hash`` (an argon2 hash of ``password``)
    skips hashing again.
    """
    try:
        role_enum = Role(role)
    except ValueError:
        allowed = "、".join(f"{r.value}（{r.label}）" for r in Role)
        raise ValidationFailed(
            f"未知角色 {role[:30]!r}，可选：{allowed} / unknown role", field="role"
        ) from None
    hospital = _hospital(session, hospital_code) if hospital_code else None
    if creator is not None:  # who may do this first: a refusal says nothing about the data
        if role_enum.is_hospital and hospital is None and hospital_code:
            raise ValidationFailed(
                f"医疗机构 {hospital_code[:20]} 不存在 / unknown hospital", field="hospital_code"
            )
        check_can_create(creator, role_enum, region_code, hospital)
    _check_fields(username, password, display_name)
    if session.scalar(select(User.id).where(User.username == username)) is not None:
        raise Conflict(f"用户名 {username} 已存在 / username exists", field="username")
    hospital_id = None
    if role_enum.is_hospital:
        if not hospital_code:
            raise ValidationFailed(
                "医院用户和 HIS 接口账号必须指定所属医疗机构编码",
                field="hospital_code",
            )
        if hospital is None:
            raise ValidationFailed(
                f"医疗机构 {hospital_code[:20]} 不存在 / unknown hospital", field="hospital_code"
            )
        if region_code and region_code != hospital.region_code:
            raise ValidationFailed(
                f"医院角色的区划由医疗机构决定（{hospital.region_code}），"
                f"不能另填 {region_code[:10]}",
                field="region_code",
            )
        hospital_id, region_code = hospital.id, None
    else:
        if hospital_code:
            raise ValidationFailed(
                f"医保局角色（{role_enum.label}）不属于医疗机构，不能指定医疗机构编码",
                field="hospital_code",
            )
        if not region_code:
            raise ValidationFailed(
                "医保局角色必须指定医保区划 / bureau roles need a region", field="region_code"
            )
        if len(region_code) != 6 or session.get(Region, region_code) is None:
            raise ValidationFailed(
                f"医保区划 {region_code[:10]} 不存在 / unknown region", field="region_code"
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
    user_id = session.scalar(select(User.id).where(User.username == username))
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


def do_change_password(
    session: Session,
    user: User,
    current: str,
    new: str,
    *,
    actor: Actor,
    keep_session: str | None = None,
) -> int:
    """Change a user's own password; every other browser session of the user ends.
    Returns the number of sessions ended."""
    from yibao.accounts.sessions import do_end_user_sessions

    if not verify_password(user.password_hash, current):
        raise ValidationFailed("当前密码不正确 / current password is wrong", field="current")
    if len(new) < MIN_PASSWORD_LEN:
        raise ValidationFailed(
            f"新密码至少{MIN_PASSWORD_LEN}位 / password needs {MIN_PASSWORD_LEN}+ characters",
            field="new",
        )
    if new == current:
        raise ValidationFailed("新密码不能与当前密码相同 / choose a new password", field="new")
    user.password_hash = hash_password(new)
    ended = do_end_user_sessions(session, user.id, keep=keep_session)
    record(session, actor, "user.password_change", "user", user.id, after={"sessions_ended": ended})
    return ended


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


# ---------------------------------------------------------------- administration


def check_can_manage(admin: User, target: User) -> None:
    """403 unless ``admin`` may manage ``target``: not itself, a role at or below its
    own, inside its region subtree (or its hospital)."""
    if admin.id == target.id:
        raise Forbidden("不能停用、修改自己的账号角色或重置自己的密码；修改密码请用“修改密码”")
    mine, theirs = Role(admin.role), Role(target.role)
    if ROLE_RANK[theirs] > ROLE_RANK[mine]:
        raise Forbidden(
            f"不能管理比自己权限更高的用户：您是{mine.label}，{target.username} 是{theirs.label}"
        )
    scope = scope_of(admin)
    region = target.region_code or (target.hospital.region_code if target.hospital else None)
    if not scope.allows(target.hospital_id, region):
        raise Forbidden(f"用户 {target.username} 不在您的辖区内 / user outside your scope")


def get_managed_user(session: Session, admin: User, user_id: int) -> User:
    """A user ``admin`` may see and manage (404 when outside its scope)."""
    target = session.get(User, user_id)
    if target is None:
        raise NotFound(f"用户 {user_id} 不存在 / no such user")
    try:
        check_can_manage(admin, target)
    except Forbidden as exc:
        if "辖区" in exc.message:
            raise NotFound(f"用户 {user_id} 不存在 / no such user") from None
    return target


def _reason(reason: str) -> str:
    text = (reason or "").strip()
    if not text:
        raise ValidationFailed("原因：请填写操作原因（记入审计日志）", field="reason")
    if len(text) > 500:
        raise ValidationFailed("原因：最长 500 个字符", field="reason")
    return text


def do_set_user_active(
    session: Session, admin: User, target: User, active: bool, *, reason: str, actor: Actor
) -> int:
    """Disable (every session ends, its API tokens stop working) or re-enable a user.
    Returns the number of sessions ended."""
    from yibao.accounts.sessions import do_end_user_sessions

    check_can_manage(admin, target)
    why = _reason(reason)
    if target.is_active == active:
        raise Conflict(f"用户 {target.username} 已经是{'启用' if active else '停用'}状态")
    before = _user_snapshot(target)
    target.is_active = active
    if active:
        target.failed_logins = 0
        target.locked_until = None
    ended = 0 if active else do_end_user_sessions(session, target.id)
    record(
        session,
        actor,
        "user.enable" if active else "user.disable",
        "user",
        target.id,
        before=before,
        after={**_user_snapshot(target), "reason": why, "sessions_ended": ended},
    )
    return ended


def do_reset_password(
    session: Session, admin: User, target: User, new: str, *, reason: str, actor: Actor
) -> int:
    """An administrator sets a new password for a user who lost theirs: every session of
    the user ends, a lock-out is lifted.  The password itself is never recorded."""
    from yibao.accounts.sessions import do_end_user_sessions

    check_can_manage(admin, target)
    why = _reason(reason)
    _check_fields(target.username, new, None)
    target.password_hash = hash_password(new)
    target.failed_logins = 0
    target.locked_until = None
    ended = do_end_user_sessions(session, target.id)
    record(
        session,
        actor,
        "user.password_reset",
        "user",
        target.id,
        after={"reason": why, "sessions_ended": ended},
    )
    return ended


def do_change_role(
    session: Session, admin: User, target: User, role: str, *, reason: str, actor: Actor
) -> int:
    """Change a user's role within its kind (bureau roles among themselves, hospital
    roles among themselves), never above the admin's own; the user's sessions end so
    that the new permissions apply at once."""
    from yibao.accounts.sessions import do_end_user_sessions

    check_can_manage(admin, target)
    why = _reason(reason)
    if role not in {r.value for r in Role}:
        raise ValidationFailed(f"角色：不认识的角色 {role[:30]!r}", field="role")
    new, old = Role(role), Role(target.role)
    if new == old:
        raise Conflict(f"用户 {target.username} 已经是{new.label}")
    if new.is_hospital != old.is_hospital:
        raise ValidationFailed(
            f"角色：{old.label}不能改为{new.label}（医院角色与医保局角色之间不能互改，请新建用户）",
            field="role",
        )
    check_can_create(admin, new, target.region_code, target.hospital)
    before = _user_snapshot(target)
    target.role = new.value
    ended = do_end_user_sessions(session, target.id)
    record(
        session,
        actor,
        "user.role_change",
        "user",
        target.id,
        before=before,
        after={**_user_snapshot(target), "reason": why, "sessions_ended": ended},
    )
    return ended


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
