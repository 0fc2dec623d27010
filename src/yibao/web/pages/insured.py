"""参保人员 pages (bureau): search the persons insured under the user's region, one
person with the personal account, the year's cumulative figures and their postings.
ID numbers are masked for roles without ``VIEW_ID_NUMBERS`` (ADR 0016)."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import Response

from yibao.accounts.models import User
from yibao.accounts.roles import Permission
from yibao.api.deps import Db, require
from yibao.engines.insured import CUM_TYPES, INSU_STATES, INSUTYPES, PSN_TYPES
from yibao.insured import repository
from yibao.insured.service import KINDS
from yibao.insured.views import person_detail, person_out, reveals_ids
from yibao.kit.bounds import YEAR_MAX, YEAR_MIN
from yibao.kit.paging import clamp_page
from yibao.web.forms import int_param
from yibao.web.render import render

router = APIRouter(prefix="/insured")
VIEW = require(Permission.VIEW_INSURED)


@router.get("")
def persons_page(request: Request, db: Db, user: User = VIEW) -> Response:
    qp = request.query_params
    page, size = clamp_page(int_param(qp.get("page"), "page"), int_param(qp.get("size"), "size"))
    insutype = qp.get("insutype") if qp.get("insutype") in INSUTYPES else None
    flt = repository.PersonFilter(q=(qp.get("q") or "").strip()[:50] or None, insutype=insutype)
    result = repository.search_persons(db, user.region_code, flt, page, size)
    reveal = reveals_ids(user)
    return render(
        request,
        "insured/list.html",
        {
            "result": result,
            "people": [person_out(db, p, reveal=reveal) for p in result.items],
            "flt": flt,
            "insutypes": INSUTYPES,
            "psn_types": PSN_TYPES,
            "states": INSU_STATES,
            "reveal": reveal,
        },
    )


@router.get("/{psn_no}")
def person_page(psn_no: str, request: Request, db: Db, user: User = VIEW) -> Response:
    person = repository.person_in_region(db, psn_no[:30], user.region_code)
    year = int_param(request.query_params.get("year"), "year")
    today = repository.business_today()
    if year is None or not YEAR_MIN <= year <= YEAR_MAX:
        year = today.year
    detail = person_detail(db, person, year, reveal=reveals_ids(user))
    return render(
        request,
        "insured/detail.html",
        {
            "p": detail,
            "insutypes": INSUTYPES,
            "psn_types": PSN_TYPES,
            "states": INSU_STATES,
            "posting_kinds": KINDS,
            "cum_types": CUM_TYPES,
            "years": list(range(today.year, today.year - 4, -1)),
        },
    )
