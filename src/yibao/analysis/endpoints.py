"""Decision-analysis API (决策分析, ADR 0037): each report as JSON, Excel or PDF in the
caller's scope; the refresh of the summaries (a job); the region's fund budget."""

from __future__ import annotations

from decimal import Decimal
from typing import Any, Literal

from fastapi import APIRouter, Query, Request
from fastapi.encoders import jsonable_encoder
from fastapi.responses import JSONResponse, Response
from pydantic import BaseModel, Field

from yibao.accounts.models import User
from yibao.accounts.roles import Permission
from yibao.analysis import service
from yibao.analysis import tasks as _tasks  # noqa: F401  (registers the job kind)
from yibao.analysis.exports import report_pdf, report_xlsx
from yibao.analysis.reports import Report
from yibao.api.deps import Db, request_actor, require, runner_of
from yibao.api.openapi import PDF, XLSX, download, file_answers
from yibao.kit.timeutil import local, utcnow

router = APIRouter(prefix="/api/analysis", tags=["analysis 决策分析"])
VIEW = require(Permission.VIEW_CASES)


def report_body(r: Report) -> dict[str, Any]:
    f = r.filters
    body: dict[str, Any] = jsonable_encoder(
        {
            "name": r.name,
            "title": r.title,
            "filters": {"year": f.year, "month": f.month, "hospital": f.hospital},
            "columns": [{"key": k, "label": label, "kind": kind} for k, label, kind in r.columns],
            "rows": r.rows,
            "chart": r.chart,
            "notes": r.notes,
            "extra": {k: v for k, v in r.extra.items() if k != "item_columns"},
        },
        custom_encoder={Decimal: str},
    )
    return body


def answer(r: Report, fmt: str, user: User) -> Response:
    """The report as JSON, or as a file named after it and its filters."""
    f = r.filters
    stem = f"{r.name}_{f.year}" + (f"-{f.month:02d}" if f.month else "")
    title = f"{r.title}_{f.year}" + (f"年{f.month}月" if f.month else "年")
    if fmt == "xlsx":
        return download(report_xlsx(r), XLSX, f"{stem}.xlsx", f"{title}.xlsx")
    if fmt == "pdf":
        scope = user.hospital.name if user.hospital else f"区划 {user.region_code}"
        issued = f"{local(utcnow()):%Y-%m-%d %H:%M}"
        return download(report_pdf(r, scope, issued), PDF, f"{stem}.pdf", f"{title}.pdf")
    return JSONResponse(report_body(r))


@router.get(
    "/reports/{name}",
    responses=file_answers(XLSX, PDF),
    summary="决策分析报表（institutions/trend/drg/dip/usage/fund；format=xlsx 或 pdf 导出）",
)
def get_report(
    name: str,
    db: Db,
    user: User = VIEW,
    year: str | None = Query(None, description="年度（默认最近有数据的年度）"),
    month: str | None = Query(None, description="月份 1–12（机构报表可按月）"),
    hospital: str | None = Query(None, description="医院编码"),
    format: Literal["json", "xlsx", "pdf"] = "json",
) -> Response:
    r = service.report(db, user, name, year=year, month=month, hospital=hospital)
    return answer(r, format, user)


@router.post("/refresh", status_code=202, summary="刷新本市决策分析汇总表（后台任务）")
def refresh(request: Request, db: Db, user: User = VIEW) -> JSONResponse:
    job = service.submit_refresh(db, runner_of(request), user, request_actor(request, user))
    return JSONResponse(
        status_code=202,
        content={"job_id": job.id, "job_url": f"/api/jobs/{job.id}", "status": job.status},
    )


class BudgetIn(BaseModel):
    amount: Decimal = Field(description="年度基金预算（元）")
    reason: str = Field(max_length=500, description="设定依据")


@router.put("/budgets/{year}", summary="设定本市某年度的基金预算（基金运行分析）")
def put_budget(
    year: str, body: BudgetIn, request: Request, db: Db, user: User = VIEW
) -> dict[str, Any]:
    row = service.set_budget(db, user, year, body.amount, body.reason, request_actor(request, user))
    return {
        "region_code": row.region_code,
        "year": row.year,
        "amount": str(row.amount),
        "reason": row.reason,
        "set_by": row.set_by,
    }
