"""JSON API of the insured register (bureau): search persons, one person with the
account, the year's cumulative figures and the postings.  ID numbers are masked for
roles without ``VIEW_ID_NUMBERS``."""

from __future__ import annotations

from typing import Literal

from fastapi import APIRouter, Query

from yibao.accounts.models import User
from yibao.accounts.roles import Permission
from yibao.api.deps import Db, require
from yibao.insured import repository
from yibao.insured.schemas import PersonDetail, PersonPage
from yibao.insured.views import person_detail, person_out, reveals_ids
from yibao.kit.bounds import YEAR_MAX, YEAR_MIN
from yibao.kit.paging import MAX_PAGE, MAX_SIZE

router = APIRouter(prefix="/api/insured", tags=["insured 参保人员"])
VIEW = require(Permission.VIEW_INSURED)


@router.get("/persons", response_model=PersonPage, summary="查询本辖区参保人员")
def search_persons(
    db: Db,
    user: User = VIEW,
    q: str | None = Query(
        None, max_length=50, description="人员编号或姓名的开头，或完整的身份证号"
    ),
    insutype: Literal["310", "390"] | None = Query(None, description="险种类型"),
    page: int = Query(1, ge=1, le=MAX_PAGE),
    size: int = Query(50, ge=1, le=MAX_SIZE),
) -> PersonPage:
    flt = repository.PersonFilter(q=(q or "").strip() or None, insutype=insutype)
    result = repository.search_persons(db, user.region_code, flt, page, size)
    reveal = reveals_ids(user)
    return PersonPage(
        items=[person_out(db, p, reveal=reveal) for p in result.items],
        total=result.total,
        page=result.page,
        size=result.size,
    )


@router.get(
    "/persons/{psn_no}",
    response_model=PersonDetail,
    summary="一名参保人员：个人账户、年度累计信息（5206）和累计变动",
)
def get_person(
    psn_no: str,
    db: Db,
    user: User = VIEW,
    year: int | None = Query(None, ge=YEAR_MIN, le=YEAR_MAX, description="累计年度（默认今年）"),
) -> PersonDetail:
    person = repository.person_in_region(db, psn_no[:30], user.region_code)
    day = repository.business_today()
    return person_detail(db, person, year or day.year, reveal=reveals_ids(user))
