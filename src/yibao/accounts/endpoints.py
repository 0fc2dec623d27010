"""JSON API: who am I, user administration."""

from __future__ import annotations

from datetime import datetime

from fastapi import APIRouter, Request
from fastapi.responses import Response
from pydantic import BaseModel, ConfigDict, Field

from yibao.accounts import service, tokens
from yibao.accounts.models import User
from yibao.accounts.roles import Permission, Role
from yibao.api.deps import CurrentUser, Db, request_actor, require
from yibao.api.inline import light_read
from yibao.kit.bounds import DbId

router = APIRouter(prefix="/api", tags=["accounts 账号"])


class MeOut(BaseModel):
    username: str
    display_name: str
    role: str
    role_name: str
    region_code: str | None
    hospital_code: str | None


class UserCreate(BaseModel):
    username: str = Field(min_length=1, max_length=50, description="用户名")
    password: str = Field(
        min_length=1,
        max_length=200,
        description="初始密码（默认至少 8 位，含大小写字母、数字、符号中的 3 类，不同于用户名）",
    )
    role: str = Field(max_length=30, description="角色")
    display_name: str | None = Field(None, max_length=100, description="姓名")
    region_code: str | None = Field(None, max_length=6, description="医保区划（医保局角色）")
    hospital_code: str | None = Field(None, max_length=12, description="医疗机构编码（医院角色）")


@router.get("/me", response_model=MeOut, summary="当前登录用户：角色、辖区或所属医疗机构、权限")
@light_read
def me(user: CurrentUser) -> MeOut:
    return me_out(user)


def me_out(user: User) -> MeOut:
    """A user as /api/me shows it (also the answer of a user's creation)."""
    return MeOut(
        username=user.username,
        display_name=user.display_name,
        role=user.role,
        role_name=Role(user.role).label,
        region_code=user.region_code,
        hospital_code=user.hospital.code if user.hospital else None,
    )


@router.post("/users", status_code=201, response_model=MeOut)
def create_user(
    body: UserCreate, request: Request, db: Db, admin: User = require(Permission.MANAGE_USERS)
) -> MeOut:
    """创建用户：只能创建不高于自己的角色，且在自己的辖区（或本机构）内。"""
    role_is_hospital = body.role in {r.value for r in Role} and Role(body.role).is_hospital
    region = body.region_code
    if not role_is_hospital and not body.hospital_code:
        region = region or admin.region_code
    user = service.do_create_user(
        db,
        username=body.username,
        password=body.password,
        role=body.role,
        display_name=body.display_name,
        region_code=region,
        hospital_code=body.hospital_code,
        actor=request_actor(request, admin),
        creator=admin,
    )
    return me_out(user)


MANAGE = require(Permission.MANAGE_USERS)


class UserOut(BaseModel):
    id: int
    username: str
    display_name: str
    role: str
    role_name: str
    region_code: str | None
    hospital_code: str | None
    is_active: bool


def _user_out(user: User) -> UserOut:
    return UserOut(
        id=user.id,
        username=user.username,
        display_name=user.display_name,
        role=user.role,
        role_name=Role(user.role).label,
        region_code=user.region_code,
        hospital_code=user.hospital.code if user.hospital else None,
        is_active=user.is_active,
    )


class ReasonIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    reason: str = Field(max_length=500, description="操作原因（必填，记入审计日志）")


class PasswordResetIn(ReasonIn):
    password: str = Field(max_length=200, description="新密码（规则同初始密码）")


class RoleIn(ReasonIn):
    role: str = Field(max_length=30, description="新角色（同类角色之间）")


class TokenIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: str = Field(max_length=100, description="令牌名称，如 HIS 厂商和系统名")


class TokenOut(BaseModel):
    id: int
    name: str
    prefix: str
    created_at: datetime
    last_used_at: datetime | None
    revoked_at: datetime | None


class TokenIssued(BaseModel):
    token: str = Field(description="令牌明文：只显示这一次，请立即交给 HIS 厂商保存")
    prefix: str


def _target(db: Db, admin: User, user_id: int) -> User:
    return service.get_managed_user(db, admin, user_id)


@router.post("/users/{user_id}/disable", response_model=UserOut, summary="停用用户（会话立即失效）")
def disable_user(
    user_id: DbId, body: ReasonIn, request: Request, db: Db, admin: User = MANAGE
) -> UserOut:
    target = _target(db, admin, user_id)
    service.do_set_user_active(
        db, admin, target, False, reason=body.reason, actor=request_actor(request, admin)
    )
    return _user_out(target)


@router.post("/users/{user_id}/enable", response_model=UserOut, summary="重新启用用户")
def enable_user(
    user_id: DbId, body: ReasonIn, request: Request, db: Db, admin: User = MANAGE
) -> UserOut:
    target = _target(db, admin, user_id)
    service.do_set_user_active(
        db, admin, target, True, reason=body.reason, actor=request_actor(request, admin)
    )
    return _user_out(target)


@router.post("/users/{user_id}/password", response_model=UserOut, summary="管理员重置用户密码")
def reset_password(
    user_id: DbId, body: PasswordResetIn, request: Request, db: Db, admin: User = MANAGE
) -> UserOut:
    target = _target(db, admin, user_id)
    service.do_reset_password(
        db, admin, target, body.password, reason=body.reason, actor=request_actor(request, admin)
    )
    return _user_out(target)


@router.post(
    "/users/{user_id}/role", response_model=UserOut, summary="修改用户角色（同类角色之间）"
)
def change_role(
    user_id: DbId, body: RoleIn, request: Request, db: Db, admin: User = MANAGE
) -> UserOut:
    target = _target(db, admin, user_id)
    service.do_change_role(
        db, admin, target, body.role, reason=body.reason, actor=request_actor(request, admin)
    )
    return _user_out(target)


@router.get("/users/{user_id}/tokens", response_model=list[TokenOut], summary="HIS 用户的接口令牌")
def list_tokens(user_id: DbId, db: Db, admin: User = MANAGE) -> list[TokenOut]:
    target = _target(db, admin, user_id)
    return [
        TokenOut(
            id=t.id,
            name=t.name,
            prefix=t.prefix,
            created_at=t.created_at,
            last_used_at=t.last_used_at,
            revoked_at=t.revoked_at,
        )
        for t in tokens.user_tokens(db, target)
    ]


@router.post(
    "/users/{user_id}/tokens",
    status_code=201,
    response_model=TokenIssued,
    summary="为 HIS 用户发放接口令牌（明文只返回一次）",
)
def issue_token(
    user_id: DbId, body: TokenIn, request: Request, db: Db, admin: User = MANAGE
) -> TokenIssued:
    target = _target(db, admin, user_id)
    plain = tokens.do_issue_token(db, admin, target, body.name, actor=request_actor(request, admin))
    return TokenIssued(token=plain, prefix=plain[:12])


@router.delete("/users/{user_id}/tokens/{token_id}", status_code=204, summary="吊销接口令牌")
def revoke_token(
    user_id: DbId, token_id: DbId, request: Request, db: Db, admin: User = MANAGE
) -> Response:
    target = _target(db, admin, user_id)
    tokens.do_revoke_user_token(db, admin, target, token_id, actor=request_actor(request, admin))
    return Response(status_code=204)
