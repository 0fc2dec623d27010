"""事前事中审核记录: every real-time audit (3101 / 3102) as stored, for analysis.

A bureau reviewer or rule administrator sees its region's requests, a hospital user
its own: filtered by hospital, days, stage, outcome, rule, person or visit, with the
totals, the rules that warned most and what the doctors chose (3103), and an Excel
export (the JSON API's).  A request's page shows what the HIS sent, the warnings
with their lines and feedback, and the post-audit findings of the same visit.
Pages read through :mod:`yibao.supervision.realtime.repository` / ``views`` like the
API.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response

from yibao.accounts.models import User
from yibao.api.deps import CurrentUser, Db
from yibao.engines.audit.messages import STAGE_NAMES
from yibao.kit.bounds import DbId
from yibao.kit.errors import DomainError
from yibao.kit.paging import clamp_page
from yibao.supervision.realtime import repository, views
from yibao.supervision.realtime.auth import records_viewer
from yibao.supervision.realtime.repository import OUTCOMES, RequestFilter
from yibao.web.forms import date_param, page_arg
from yibao.web.render import render

router = APIRouter()
PAGE = "/supervision/realtime"
FILTERS = ("hospital", "day_from", "day_to", "stage", "outcome", "rule", "person", "visit")


async def _viewer(user: CurrentUser) -> User:
    return records_viewer(user)


VIEW = Depends(_viewer)


def _filter(request: Request) -> tuple[RequestFilter, dict[str, str]]:
    raw = {k: (request.query_params.get(k) or "").strip()[:50] for k in FILTERS}
    flt = RequestFilter(
        hospital=raw["hospital"] or None,
        day_from=date_param(raw["day_from"], "day_from", "开始日期（day_from）"),
        day_to=date_param(raw["day_to"], "day_to", "结束日期（day_to）"),
        stage=raw["stage"] or None,
        outcome=raw["outcome"] or None,
        rule=raw["rule"] or None,
        person=raw["person"] or None,
        visit=raw["visit"] or None,
    )
    return flt, raw


@router.get(PAGE)
def requests_view(request: Request, db: Db, user: User = VIEW) -> Response:
    ctx: dict[str, Any] = {
        "is_bureau": user.hospital_id is None,
        "stages": STAGE_NAMES,
        "outcomes": OUTCOMES,
        "error": None,
        "filters": {k: (request.query_params.get(k) or "")[:50] for k in FILTERS},
    }
    status_code = 200
    try:
        flt, raw = _filter(request)
        page, size = clamp_page(page_arg(request), 50)
        result = repository.list_requests(db, flt, page, size)
        ctx |= {
            "result": result,
            "rows": [views.request_row(r, code) for r, code in result.items],
            "totals": repository.totals(db, flt),
            "rules": repository.rule_hits(db, flt, limit=10),
            "filters": raw,
        }
    except DomainError as exc:
        status_code = exc.http_status
        ctx |= {
            "result": None,
            "rows": [],
            "totals": None,
            "rules": [],
            "error": {"message": exc.message, "field": exc.field},
        }
    return render(request, "supervision/realtime_list.html", ctx, status_code=status_code)


@router.get(PAGE + "/{request_id}")
def request_view(request_id: DbId, request: Request, db: Db, user: User = VIEW) -> Response:
    detail = views.request_detail(db, request_id, published_only=user.hospital_id is not None)
    ctx = {"r": detail, "is_bureau": user.hospital_id is None}
    return render(request, "supervision/realtime_detail.html", ctx)
