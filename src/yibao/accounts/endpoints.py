"""JSON API: who am I, user administration."""

from __future__ import annotations

from fastapi import APIRouter, Request
from pydantic import BaseModel, Field

from yibao.accounts import service
from yibao.accounts.models import User
from yibao.accounts.roles import Permission, Role
from yibao.api.deps import CurrentUser, Db, request_actor, require

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
    password: str = Field(min_length=1, max_length=200, description="初始密码（至少 8 位）")
    role: str = Field(max_length=30, description="角色")
    display_name: str | None = Field(None, max_length=100, description="姓名")
    region_code: str | None = Field(None, max_length=6, description="医保区划（医保局角色）")
    hospital_code: str | None = Field(None, max_length=12, description="医疗机构编码（医院角色）")


@router.get("/me", response_model=MeOut, summary="当前登录用户：角色、辖区或所属医疗机构、权限")
def me(user: CurrentUser) -> MeOut:
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
    return me(user)
