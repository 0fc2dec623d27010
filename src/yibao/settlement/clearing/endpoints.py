"""Year-end clearing (年终清算) over HTTP.

* ``POST /api/settlement/years/{year}/clearing[?format=xlsx]`` — bureau reviewers and
  admins only; the result is computed, not kept (the clearing page keeps it).
"""

from __future__ import annotations

import io
from typing import Literal

from fastapi import APIRouter
from fastapi.responses import Response

from yibao.accounts.models import User
from yibao.accounts.roles import Permission
from yibao.api.deps import Db, require
from yibao.api.openapi import XLSX, download, file_answers
from yibao.kit.bounds import Year
from yibao.kit.exports import write_xlsx
from yibao.settlement.answers import jsonable
from yibao.settlement.clearing.schemas import ClearingIn
from yibao.settlement.clearing.service import clearing_result
from yibao.settlement.labels import PERCENT_COLUMNS, for_people
from yibao.settlement.schemas import ClearingOut

VIEW = require(Permission.VIEW_CASES)

router = APIRouter(tags=["settlement 结算单与清算"])


@router.post(
    "/api/settlement/years/{year}/clearing",
    response_model=ClearingOut,
    responses=file_answers(XLSX),
)
def clearing(
    year: Year,
    body: ClearingIn,
    db: Db,
    user: User = VIEW,
    format: Literal["json", "xlsx"] = "json",
) -> Response | ClearingOut:
    """年终清算：最终费率/点值、各医院清算金额与质量保证金返还（仅医保局审核员、管理员）。"""
    result = clearing_result(db, user, year, body)
    hospitals = result.hospitals
    if format == "xlsx":
        buf = io.BytesIO()
        sheets = {"医院清算": for_people(hospitals), "病例": for_people(result.cases)}
        write_xlsx(sheets, buf, autofit=True, formats=PERCENT_COLUMNS)
        return download(buf.getvalue(), XLSX, f"clearing-{year}.xlsx", f"年终清算-{year}.xlsx")
    totals = {
        k: str(hospitals[k].sum())
        for k in (
            "final_payment",
            "final_fund",
            "deposit_released",
            "paid_during_year",
            "clearing_amount",
        )
    }
    return ClearingOut.model_validate(
        jsonable(
            {
                "year": year,
                "method": result.method,
                "payment_budget": result.payment_budget,
                "fixed_total": result.fixed_total,
                "total_points": result.total_points,
                "final_value": result.final_value,
                "level_values": result.level_values,
                "residual": result.residual,
                "months": list(result.months),
                "missing_months": list(result.missing_months),
                "totals": totals,
                "hospitals": hospitals.to_dicts(),
            }
        )
    )
