"""Maps API (地图定位, issue 15 item 3): the boundary GeoJSON of the user's map region,
the figures drawn on it, and a bureau's upload of its own boundaries."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, File, Form, Query, Request, UploadFile

from yibao.accounts.models import User
from yibao.accounts.roles import Permission
from yibao.api.deps import Db, request_actor, require
from yibao.kit.bounds import Year
from yibao.kit.errors import Forbidden, NotFound
from yibao.maps import service
from yibao.regions.models import region_prefix

router = APIRouter(prefix="/api/maps", tags=["maps 地图"])
VIEW = require(Permission.VIEW_CASES)
MANAGE = require(Permission.MANAGE_HOSPITALS)


def _region(db: Db, user: User) -> str:
    return service.map_region(db, user.region_code, user.hospital_id)


@router.get("/current", summary="本人地图区域的边界（GeoJSON：下级区划）")
def current_map(db: Db, user: User = VIEW) -> dict[str, Any]:
    region = _region(db, user)
    geojson = service.region_map(db, region)
    if geojson is None:
        raise NotFound(f"区划 {region} 还没有地图，请由医保局管理员上传 GeoJSON")
    return {"region": region, **geojson}


@router.get(
    "/current/figures",
    summary="地图上的数字：各下级区划与各医院的病例数、费用、基金支付、审核疑点数与疑点金额",
)
def current_figures(
    db: Db, user: User = VIEW, year: Year | None = Query(None, description="出院年度")
) -> dict[str, Any]:
    region = _region(db, user)
    geojson = service.region_map(db, region)
    if geojson is None:
        raise NotFound(f"区划 {region} 还没有地图")
    chosen = year or service.latest_year(db)
    if chosen is None:
        return {"region": region, "year": None, "districts": [], "hospitals": []}
    return service.map_figures(db, region, geojson, chosen)  # published post-audit findings


@router.post(
    "/{region_code}",
    status_code=201,
    summary="上传本辖区的行政区划边界 GeoJSON（要素为下级区划，properties 含 adcode 与 name）",
)
def upload_map(
    region_code: str,
    request: Request,
    db: Db,
    user: User = MANAGE,
    file: UploadFile = File(...),
    name: str = Form("", max_length=200),
) -> dict[str, Any]:
    if not user.region_code or not region_code.startswith(region_prefix(user.region_code)):
        raise Forbidden(f"只能上传本辖区（{user.region_code}）的地图")
    content = file.file.read(service.MAX_BYTES + 1)
    row = service.do_upload_map(db, region_code, content, name, request_actor(request, user))
    return {
        "id": row.id,
        "region": row.region_code,
        "features": row.features,
        "checksum": row.checksum,
    }
