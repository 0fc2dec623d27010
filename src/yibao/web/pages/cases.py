"""结算清单 list (filters, pagination) and detail."""

from __future__ import annotations

from datetime import date

from fastapi import APIRouter, Request
from fastapi.responses import Response

from yibao.accounts.models import User
from yibao.accounts.roles import Permission, has_permission
from yibao.api.deps import Db, require
from yibao.api.inline import light_read
from yibao.cases import repository
from yibao.grouping.plans import STATUS_LABELS
from yibao.grouping.service import stored_groupings
from yibao.kit.bounds import YEAR_MAX, YEAR_MIN, DbId
from yibao.kit.errors import ValidationFailed
from yibao.kit.paging import clamp_page
from yibao.regions.repository import districts_under, hospital_choices
from yibao.web.forms import int_param
from yibao.web.render import render

router = APIRouter()
VIEW = require(Permission.VIEW_CASES)

INSUTYPES = {"310": "职工医保", "390": "居民医保"}
DISCHARGE_WAYS = {
    "1": "医嘱离院",
    "2": "医嘱转院",
    "3": "转社区/乡镇卫生院",
    "4": "非医嘱离院",
    "5": "死亡",
    "9": "其他",
}


def _year(value: str | None, field: str = "year") -> int | None:
    year = int_param(value, field)
    if year is not None and not YEAR_MIN <= year <= YEAR_MAX:
        raise ValidationFailed(
            f"{field} 年度应在 {YEAR_MIN} 到 {YEAR_MAX} 之间: {value!r}", field=field
        )
    return year


def _date(value: str | None, field: str) -> date | None:
    if not value:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise ValidationFailed(f"{field} 日期格式应为 YYYY-MM-DD: {value!r}", field=field) from None


@router.get("/cases")
@light_read
def case_list(request: Request, db: Db, user: User = VIEW) -> Response:
    qp = request.query_params
    page, size = clamp_page(int_param(qp.get("page"), "page"), int_param(qp.get("size"), "size"))
    flt = repository.CaseFilter(
        hospital_code=qp.get("hospital") or None,
        district=qp.get("district") or None,
        level=qp.get("level") or None,
        year=_year(qp.get("year")),
        date_from=_date(qp.get("date_from"), "date_from"),
        date_to=_date(qp.get("date_to"), "date_to"),
        insutype=qp.get("insutype") or None,
        principal_dx=(qp.get("principal_dx") or "").strip() or None,
        q=(qp.get("q") or "").strip() or None,
    )
    result = repository.list_cases(
        db, flt, page, size, total_cache_s=request.app.state.settings.count_cache_s
    )
    is_bureau = user.hospital_id is None
    ctx = {
        "result": result,
        "flt": flt,
        "years": repository.case_years(db),
        "hospitals": hospital_choices(db, cache_s=request.app.state.settings.figures_cache_s)
        if is_bureau
        else [],
        "districts": districts_under(db, user.region_code) if is_bureau else [],
        "insutypes": INSUTYPES,
        "is_bureau": is_bureau,
    }
    template = "cases/_table.html" if request.headers.get("hx-request") else "cases/list.html"
    return render(request, template, ctx)


@router.get("/cases/{case_id}")
def case_detail(case_id: DbId, request: Request, db: Db, user: User = VIEW) -> Response:

    case = repository.get_case(db, case_id)
    return render(
        request,
        "cases/detail.html",
        {
            "case": case,
            "insutypes": INSUTYPES,
            "discharge_ways": DISCHARGE_WAYS,
            "stored": stored_groupings(db, case.id),
            "status_labels": STATUS_LABELS,
            "can_group": has_permission(user.role, Permission.GROUP_CASES),
        },
    )
