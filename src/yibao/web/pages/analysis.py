"""决策分析 pages (issue 15 item 2): one tab per report — filters, chart, table, Excel
and PDF (the API's files) — and, for an analyst or bureau administrator, the refresh of
the summaries and the year's fund budget."""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Request
from fastapi.responses import RedirectResponse, Response

from yibao.accounts.models import User
from yibao.accounts.roles import Permission
from yibao.analysis import service
from yibao.analysis.exports import shown
from yibao.analysis.reports import Report, years
from yibao.api.deps import Db, PostedForm, check_csrf, request_actor, require, runner_of
from yibao.kit.errors import DomainError
from yibao.regions.repository import hospital_choices
from yibao.web.forms import failure, text
from yibao.web.render import render

router = APIRouter(prefix="/analysis")
VIEW = require(Permission.VIEW_CASES)


def _query(r: Report, fmt: str) -> str:
    f = r.filters
    given = {"year": f.year, "month": f.month, "hospital": f.hospital, "format": fmt}
    return urlencode({k: v for k, v in given.items() if v})


def _page(
    request: Request, db: Db, user: User, name: str, errors: dict[str, Any] | None = None
) -> Response:
    q = request.query_params
    report = error = None
    try:
        report = service.report(
            db, user, name, year=q.get("year"), month=q.get("month"), hospital=q.get("hospital")
        )
    except DomainError as exc:
        error = failure(db, exc)
    ctx = {
        "name": name,
        "names": service.NAMES,
        "report": report,
        "error": error,
        "years": years(db),
        "hospitals": [] if user.hospital_id is not None else hospital_choices(db),
        "chart": json.dumps(report.chart, ensure_ascii=False) if report else "{}",
        "xlsx": f"/api/analysis/reports/{name}?{_query(report, 'xlsx')}" if report else None,
        "pdf": f"/api/analysis/reports/{name}?{_query(report, 'pdf')}" if report else None,
        "can_manage": service.can_manage(user),
        "state": service.state_for(db, user),
        "errors": errors or {},
        "shown": shown,
    }
    status = (errors or {}).get("form", {}).get("status") or (error or {}).get("status") or 200
    return render(request, "analysis/report.html", ctx, status_code=status)


@router.get("")
def index() -> Response:
    return RedirectResponse("/analysis/institutions", status_code=303)


@router.post("/refresh", dependencies=[Depends(check_csrf)])
def refresh(request: Request, db: Db, user: User = VIEW) -> Response:
    try:
        job = service.submit_refresh(db, runner_of(request), user, request_actor(request, user))
    except DomainError as exc:
        return _page(request, db, user, "institutions", {"form": failure(db, exc)})
    return RedirectResponse(f"/jobs/{job.id}", status_code=303)


@router.post("/budget", dependencies=[Depends(check_csrf)])
def budget(request: Request, form: PostedForm, db: Db, user: User = VIEW) -> Response:
    year = text(form, "year")
    try:
        service.set_budget(
            db, user, year, text(form, "amount"), text(form, "reason"), request_actor(request, user)
        )
    except DomainError as exc:
        return _page(request, db, user, "fund", {"form": failure(db, exc)})
    return RedirectResponse(f"/analysis/fund?year={year}", status_code=303)


@router.get("/{name}")
def report_page(name: str, request: Request, db: Db, user: User = VIEW) -> Response:
    return _page(request, db, user, name)
