"""JSON API: who am I, user administration."""

from __future__ import annotations

from fastapi import APIRouter, Request
from pydantic import BaseModel, Field

from yibao.accounts import service
from yibao.accounts.models import User
from yibao.accounts.roles import Permission, Role
from yibao.api.deps import CurrentUser, Db, request_actor, require
from yibao.kit.errors import Forbidden

router = APIRouter(prefix="/api", tags=["accounts 账号"])


class MeOut(BaseModel):
    username: str
    display_name: str
    role: str
    role_name: str
    region_code: str | None
    hospital_code: str | None


class UserCreate(BaseModel):
    username: str = Field(min_length=1, max_length=50)
    password: str = Field(min_length=1, max_length=200)
    role: str
    display_name: str | None = None
    region_code: str | None = None
    hospital_code: str | None = None


@router.get("/me", response_model=MeOut)
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
    actor = request_actor(request, admin)
    region = body.region_code
    if body.hospital_code is None:
        region = region or admin.region_code
        if region and not service.scope_of(admin).allows(None, region):
            raise Forbidden(f"不能为辖区外的区划 {region} 创建用户 / region outside your scope")
    user = service.do_create_user(
        db,
        username=body.username,
        password=body.password,
        role=body.role,
        display_name=body.display_name,
        region_code=region,
        hospital_code=body.hospital_code,
        actor=actor,
    )
    return me(user)
