"""地图定位 page (issue 15 item 3): the user's region on a map — districts coloured by a
figure of the year (spending, cases, or the audits' 疑点 count and amount), hospitals
as points, click a district to list its hospitals — and, for a bureau administrator,
the upload of the region's own boundary GeoJSON."""

from __future__ import annotations

import json
from typing import Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import RedirectResponse, Response
from starlette.datastructures import UploadFile

from yibao.accounts.models import User
from yibao.accounts.roles import Permission, has_permission
from yibao.api.deps import Db, PostedForm, check_csrf, request_actor, require
from yibao.kit.errors import DomainError, Forbidden, ValidationFailed
from yibao.maps import service
from yibao.regions.models import region_prefix
from yibao.web.forms import failure, text
from yibao.web.render import render

router = APIRouter()
VIEW = require(Permission.VIEW_CASES)
#: what the districts can be coloured by (service.map_figures keys)
METRICS = {
    "cost": "医疗总费用",
    "fund": "基金支付",
    "cases": "病例数",
    "findings": "疑点数",
    "amount": "疑点金额",
}


def _page(request: Request, db: Db, user: User, **extra: Any) -> Response:
    region = service.map_region(db, user.region_code, user.hospital_id)
    geojson = service.region_map(db, region)
    raw = request.query_params.get("year") or ""
    years = service.years(db)
    latest = years[-1] if years else None
    year = int(raw) if raw.isdigit() and 2000 <= int(raw) <= 2100 else latest
    figures = None
    if geojson and year:  # post-audit findings: published ones, for everyone
        figures = service.map_figures(db, region, geojson, year)
    data = {"map": geojson, "figures": figures}
    metric = request.query_params.get("metric") or "cost"
    ctx = {
        "region": region,
        "year": year,
        "has_map": geojson is not None,
        "figures": figures,
        "stored": service.newest(db, region),
        "years": years,
        "metrics": METRICS,
        "metric": metric if metric in METRICS else "cost",
        "can_upload": has_permission(user.role, Permission.MANAGE_HOSPITALS),
        "data": json.dumps(data, ensure_ascii=False).replace("</", "<\\/"),
        "errors": {},
        **extra,
    }
    error = (extra.get("errors") or {}).get("upload")
    return render(request, "maps/index.html", ctx, status_code=error["status"] if error else 200)


@router.get("/maps")
def maps_page(request: Request, db: Db, user: User = VIEW) -> Response:
    return _page(request, db, user)


@router.post("/maps/upload", dependencies=[Depends(check_csrf)])
def upload(request: Request, form: PostedForm, db: Db, user: User = VIEW) -> Response:
    try:
        if not has_permission(user.role, Permission.MANAGE_HOSPITALS):
            raise Forbidden("只有医保局管理员可以上传地图")
        region = service.map_region(db, user.region_code, user.hospital_id)
        if not user.region_code or not region.startswith(region_prefix(user.region_code)):
            raise Forbidden("只能上传本辖区的地图")
        upload = form.get("file")
        if not isinstance(upload, UploadFile) or not upload.filename:
            raise ValidationFailed("文件：请选择 GeoJSON 文件", field="file")
        content = upload.file.read(service.MAX_BYTES + 1)
        service.do_upload_map(db, region, content, text(form, "name"), request_actor(request, user))
    except DomainError as exc:
        return _page(request, db, user, errors={"upload": failure(db, exc)})
    return RedirectResponse("/maps", status_code=303)
