"""Measurement API: hospital (or department) indices — CMI, cost and time indices,
low-risk mortality — of a year under a weight plan.
"""

from __future__ import annotations

from typing import Literal

from fastapi import APIRouter, Request
from fastapi.responses import Response

from yibao.accounts.models import User
from yibao.api.deps import Db, registry_of, request_actor
from yibao.api.openapi import CSV, XLSX, file_answers
from yibao.kit.bounds import DbId, Year
from yibao.measurement import service as svc
from yibao.measurement.endpoints.common import ANALYST, Fmt, region_of, table_response
from yibao.measurement.schemas import IndexRow

router = APIRouter()


@router.get(
    "/indices",
    response_model=list[IndexRow],
    responses=file_answers(CSV, XLSX),
    summary="医院（或科室）CMI、费用与时间消耗指数、低风险死亡率",
)
def indices(
    request: Request,
    db: Db,
    weight_plan_id: DbId,
    year: Year,
    user: User = ANALYST,
    by: Literal["hospital", "department"] = "hospital",
    format: Fmt = "json",
) -> Response:
    wp = svc.get_weight_plan(db, weight_plan_id, region_of(user))
    table = svc.indices_table(
        db,
        registry_of(request),
        weight_plan=wp,
        run=svc.get_run(db, wp.run_id, region_of(user)),
        year=year,
        by=by,
        actor=request_actor(request, user),
    )
    return table_response(table, format, f"indices_{year}_{by}")
