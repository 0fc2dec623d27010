"""医疗机构 list with filters and pagination."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import Response

from yibao.accounts.roles import Permission
from yibao.api.deps import Db, require
from yibao.kit.paging import clamp_page
from yibao.regions.models import HOSPITAL_LEVELS
from yibao.regions.repository import case_counts, districts_under, list_hospitals
from yibao.web.pages.cases import _int
from yibao.web.render import render

router = APIRouter()


@router.get("/hospitals")
def hospital_list(request: Request, db: Db, user=require(Permission.VIEW_HOSPITALS)) -> Response:
    qp = request.query_params
    page, size = clamp_page(_int(qp.get("page"), "page"), _int(qp.get("size"), "size"))
    result = list_hospitals(
        db,
        district=qp.get("district") or None,
        level=qp.get("level") or None,
        q=(qp.get("q") or "").strip() or None,
        page=page,
        size=size,
    )
    counts = case_counts(
        db, [h.id for h in result.items], cache_s=request.app.state.settings.figures_cache_s
    )
    regions = {r.code: r.name for r in districts_under(db, user.region_code)}
    return render(
        request,
        "hospitals/list.html",
        {
            "result": result,
            "counts": counts,
            "regions": regions,
            "levels": HOSPITAL_LEVELS,
            "district": qp.get("district") or "",
            "level": qp.get("level") or "",
            "q": qp.get("q") or "",
        },
    )
