"""Monthly statements (月度结算单) over HTTP.

* ``GET /api/settlement/periods/{YYYY-MM}/statements`` — every hospital in scope (a
  hospital user: its own only);
* ``GET /api/settlement/periods/{YYYY-MM}/statements/{hospital}?format=json|xlsx|pdf``.

Statements are derived from the confirmations on each request; nothing is stored.
The year-end clearing's route shares the tag: :mod:`yibao.settlement.clearing.endpoints`.
"""

from __future__ import annotations

import io
from typing import Literal

from fastapi import APIRouter, Query, Request
from fastapi.responses import Response
from sqlalchemy import select

from yibao.accounts.models import User
from yibao.accounts.roles import Permission
from yibao.api.deps import Db, require
from yibao.api.openapi import PDF, XLSX, download, file_answers
from yibao.kit.bounds import Number
from yibao.kit.errors import NotFound
from yibao.kit.exports import write_xlsx
from yibao.kit.timeutil import local, utcnow
from yibao.regions.models import Hospital, Region
from yibao.settlement.answers import jsonable
from yibao.settlement.labels import PERCENT_COLUMNS, for_people
from yibao.settlement.schemas import StatementOut, StatementsOut
from yibao.settlement.statements.pdf import statement_pdf
from yibao.settlement.statements.service import (
    compute_statements,
    statement_audit_deductions,
    trial_parameters,
)

VIEW = require(Permission.VIEW_CASES)

router = APIRouter(tags=["settlement 结算单与清算"])


@router.get("/api/settlement/periods/{period}/statements")
def statements(
    period: str,
    db: Db,
    user: User = VIEW,
    region: str | None = None,
    deposit_rate: Number | None = None,
    prepay_share: Number | None = None,
    advances: str | None = Query(None, description='{"医院编码": 已预付金额} (JSON)'),
) -> StatementsOut:
    """各医院月度结算单（医院用户仅本院）。"""
    frame, cases = compute_statements(
        db,
        user,
        period,
        None,
        region=region,
        deposit_rate=deposit_rate,
        prepay_share=prepay_share,
        advances=advances,
    )
    return StatementsOut.model_validate(
        {"period": period, "cases": cases.height, "items": jsonable(frame.to_dicts())}
    )


# long: one answer in three formats (JSON, Excel, PDF) from the same figures
@router.get(
    "/api/settlement/periods/{period}/statements/{hospital}",
    response_model=StatementOut,
    responses=file_answers(XLSX, PDF),
)
def statement(
    period: str,
    hospital: str,
    request: Request,
    db: Db,
    user: User = VIEW,
    format: Literal["json", "xlsx", "pdf"] = "json",
    region: str | None = None,
    deposit_rate: Number | None = None,
    prepay_share: Number | None = None,
    advances: str | None = Query(None, description='{"医院编码": 已预付金额} (JSON)'),
) -> Response | StatementOut:
    """一家医院的月度结算单：JSON、Excel（汇总 + 病例明细）或 PDF。"""
    frame, cases = compute_statements(
        db,
        user,
        period,
        hospital,
        region=region,
        deposit_rate=deposit_rate,
        prepay_share=prepay_share,
        advances=advances,
    )
    if frame.height == 0:
        raise NotFound(f"医院 {hospital} 在 {period} 没有已确认结算的病例 / not found")
    row = frame.row(0, named=True)
    audited = statement_audit_deductions(db, user, period, hospital, region=region)
    name = f"statement-{period}-{hospital}"
    title = f"结算单-{period}-{hospital}"
    if format == "xlsx":
        buf = io.BytesIO()
        dip_only = [
            c for c in ("adjusted_score", "coefficient") if cases[c].null_count() == cases.height
        ]
        sheets = {"汇总": for_people(frame), "病例明细": for_people(cases.drop(dip_only))}
        if audited.height:
            sheets["智能审核扣款"] = for_people(audited)
        write_xlsx(sheets, buf, autofit=True, formats=PERCENT_COLUMNS)
        return download(buf.getvalue(), XLSX, f"{name}.xlsx", f"{title}.xlsx")
    if format == "pdf":
        found = db.execute(
            select(Hospital.name, Hospital.region_code).where(Hospital.code == hospital)
        ).first()
        hospital_name, region = (found[0], found[1]) if found else ("", "")
        city = (
            db.scalar(select(Region.name).where(Region.code == region[:4] + "00"))
            if region
            else None
        )
        bureau = f"{city}医疗保障局" if city else ""
        issued = local(utcnow()).date().isoformat()
        pdf = statement_pdf(
            row,
            cases,
            hospital_name,
            bureau=bureau,
            issued=issued,
            font_path=request.app.state.settings.pdf_font,
            trial=trial_parameters(deposit_rate, prepay_share, advances),
        )
        return download(pdf, PDF, f"{name}.pdf", f"{title}.pdf")
    return StatementOut.model_validate(
        {
            "statement": jsonable(row),
            "cases": jsonable(cases.to_dicts()),
            "audit_deductions": jsonable(audited.to_dicts()),
        }
    )
