"""JSON API for hospitals."""

from __future__ import annotations

from fastapi import APIRouter
from pydantic import BaseModel, ConfigDict

from yibao.accounts.roles import Permission
from yibao.api.deps import Db, require
from yibao.kit.bounds import PageNo, PageSize
from yibao.regions import repository

router = APIRouter(prefix="/api/hospitals", tags=["hospitals 医疗机构"])


class HospitalOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    code: str
    name: str
    level: str
    level_name: str
    region_code: str


class HospitalPage(BaseModel):
    items: list[HospitalOut]
    total: int
    page: int
    size: int


@router.get(
    "",
    response_model=HospitalPage,
    dependencies=[require(Permission.VIEW_HOSPITALS)],
    summary="医疗机构列表（本人辖区）",
)
def list_hospitals(
    db: Db,
    district: str | None = None,
    level: str | None = None,
    q: str | None = None,
    page: PageNo = 1,
    size: PageSize = 50,
) -> HospitalPage:
    res = repository.list_hospitals(db, district=district, level=level, q=q, page=page, size=size)
    return HospitalPage(
        items=[HospitalOut.model_validate(h) for h in res.items],
        total=res.total,
        page=res.page,
        size=res.size,
    )
