"""JSON API for cases."""

from __future__ import annotations

from fastapi import APIRouter, Request

from yibao.accounts.roles import Permission
from yibao.api.deps import Db, require
from yibao.api.inline import light_read
from yibao.cases import repository
from yibao.cases.schemas import CaseDetail, CasePage, CaseSummary, FeeItem
from yibao.kit.bounds import Day, DbId, PageNo, PageSize, Year
from yibao.kit.paging import clamp_page

router = APIRouter(prefix="/api/cases", tags=["cases 结算清单"])


@router.get(
    "",
    response_model=CasePage,
    dependencies=[require(Permission.VIEW_CASES)],
    summary="病例列表（本人权限内，可筛选，分页）",
)
@light_read
def list_cases(
    db: Db,
    request: Request,
    page: PageNo = 1,
    size: PageSize = 50,
    hospital: str | None = None,
    year: Year | None = None,
    date_from: Day | None = None,
    date_to: Day | None = None,
    insutype: str | None = None,
    principal_dx: str | None = None,
    q: str | None = None,
) -> CasePage:
    page, size = clamp_page(page, size)
    flt = repository.CaseFilter(
        hospital_code=hospital,
        year=year,
        date_from=date_from,
        date_to=date_to,
        insutype=insutype,
        principal_dx=principal_dx,
        q=q,
    )
    result = repository.list_cases(
        db,
        flt,
        page,
        size,
        total_cache_s=request.app.state.settings.count_cache_s,
    )
    return CasePage(
        items=[CaseSummary.model_validate(c) for c in result.items],
        total=result.total,
        page=result.page,
        size=result.size,
        pages=result.pages,
    )


@router.get(
    "/{case_id}",
    response_model=CaseDetail,
    dependencies=[require(Permission.VIEW_CASES)],
    summary="一个病例：基本信息、诊断与手术操作",
)
def get_case(case_id: DbId, db: Db) -> CaseDetail:
    case = repository.get_case(db, case_id)
    data = {k: getattr(case, k) for k in CaseDetail.model_fields if k != "fees"}
    data["fees"] = [FeeItem(code=c, name=n, amount=a) for c, n, a in case.fee_items()]
    return CaseDetail.model_validate(data)
