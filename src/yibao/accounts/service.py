"""Accounts: passwords (argon2), creating users, changing passwords, and the
administration of users within an administrator's reach.  Login is in
:mod:`yibao.accounts.login`, API tokens in :mod:`yibao.accounts.tokens`.  Never commits."""

from __future__ import annotations

import re
from typing import Any

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from yibao.accounts.models import User
from yibao.accounts.passwords import check_password
from yibao.accounts.principals import forget_principals
from yibao.accounts.repository import username_is
from yibao.accounts.roles import Role
from yibao.accounts.sessions import do_end_user_sessions
from yibao.audit.service import Actor, record
from yibao.config import get_settings
from yibao.db.scoping import Scope
from yibao.kit.errors import Conflict, Forbidden, NotFound, ValidationFailed
from yibao.regions.models import Hospital, Region

_hasher: PasswordHasher | None = None
USERNAME_RE = re.compile(r"^[A-Za-z0-9_.\-]{3,50}$")


def _password_hasher() -> PasswordHasher:
    """argon2id with the cost from settings (YIBAO_ARGON2_*), built on first use."""
    global _hasher
    if _hasher is None:
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


def user_place(user: User) -> dict[str, Any]:
    """Where an audit row about ``user`` belongs: the user's own region (a hospital
    user's: its hospital's) and hospital, not the actor's — so the bureau of another
    region never reads who was created or changed here, whoever did it (the demo seed,
    a province administrator)."""
    hospital = user.hospital
    region = user.region_code or (hospital.region_code if hospital is not None else None)
    return {"region_code": region, "hospital_id": user.hospital_id}


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
    check_password(password, username=username)
    if display_name is not None and len(display_name) > 100:
        raise ValidationFailed("姓名最长 100 个字符 / display name too long", field="display_name")


def _username_taken(username: str, existing: str | None = None) -> Conflict:
    """The refusal of a username another user has, in this case or another (ADR 0046)."""
    if existing is None or existing == username:
        return Conflict(f"用户名 {username} 已存在 / username exists", field="username")
    return Conflict(
        f"用户名 {username} 已被占用：已有用户 {existing}，用户名不区分大小写"
        " / username exists (usernames ignore case)",
        field="username",
    )


def _check_username_free(session: Session, username: str) -> None:
    existing = session.scalar(select(User.username).where(username_is(username)))
    if existing is not None:
        raise _username_taken(username, existing)


def _role(role: str) -> Role:
    """The role asked for a new user: none chosen and an unknown one are refused."""
    if not role:
        raise ValidationFailed("角色：请选择新用户的角色 / choose a role", field="role")
    try:
        return Role(role)
    except ValueError:
        allowed = "、".join(f"{r.value}（{r.label}）" for r in Role)
        raise ValidationFailed(
            f"未知角色 {role[:30]!r}，可选：{allowed} / unknown role", field="role"
        ) from None


# long: the rules (role, region, hospital, creator's reach) read as one checklist
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
    role_enum = _role(role)
    hospital = _hospital(session, hospital_code) if hospital_code else None
    if creator is not None:  # who may do this first: a refusal says nothing about the data
        if role_enum.is_hospital and hospital is None and hospital_code:
            raise ValidationFailed(
                f"医疗机构 {hospital_code[:20]} 不存在 / unknown hospital", field="hospital_code"
            )
        check_can_create(creator, role_enum, region_code, hospital)
    _check_fields(username, password, display_name)
    _check_username_free(session, username)
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
    try:  # the unique index on lower(username) settles two creations at the same time;
        session.flush()  # the caller rolls back on the error, as on any other
    except IntegrityError:
        raise _username_taken(username) from None
    record(
        session,
        actor,
        "user.create",
        "user",
        user.id,
        None,
        _user_snapshot(user),
        **user_place(user),
    )
    return user


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

    if not verify_password(user.password_hash, current):
        raise ValidationFailed("当前密码不正确 / current password is wrong", field="current")
    check_password(new, username=user.username, field="new", label="新密码")
    if new == current:
        raise ValidationFailed("新密码不能与当前密码相同 / choose a new password", field="new")
    user.password_hash = hash_password(new)
    ended = do_end_user_sessions(session, user.id, keep=keep_session)
    record(
        session,
        actor,
        "user.password_change",
        "user",
        user.id,
        after={"sessions_ended": ended},
        **user_place(user),
    )
    return ended


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
    if not active:  # this process's fast routes forget the user's tokens at once
        forget_principals()
    record(
        session,
        actor,
        "user.enable" if active else "user.disable",
        "user",
        target.id,
        before=before,
        after={**_user_snapshot(target), "reason": why, "sessions_ended": ended},
        **user_place(target),
    )
    return ended


def do_reset_password(
    session: Session, admin: User, target: User, new: str, *, reason: str, actor: Actor
) -> int:
    """An administrator sets a new password for a user who lost theirs: every session of
    the user ends, a lock-out is lifted.  The password itself is never recorded."""

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
        **user_place(target),
    )
    return ended


def do_change_role(
    session: Session, admin: User, target: User, role: str, *, reason: str, actor: Actor
) -> int:
    """Change a user's role within its kind (bureau roles among themselves, hospital
    roles among themselves), never above the admin's own; the user's sessions end so
    that the new permissions apply at once."""

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
        **user_place(target),
    )
    return ended
