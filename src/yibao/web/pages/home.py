"""Home page: real figures from the database, within the viewer's scope."""

from __future__ import annotations

import json

from fastapi import APIRouter, Request
from fastapi.responses import Response

from yibao.accounts.roles import Permission, has_permission
from yibao.analysis import service as analysis
from yibao.analysis.exports import shown
from yibao.analysis.figures import home_figures
from yibao.api.deps import CurrentUser, Db
from yibao.api.inline import light_read
from yibao.cases.service import overview
from yibao.kit.timeutil import local, utcnow
from yibao.messages import service as messages
from yibao.regions.models import region_prefix
from yibao.settlement import special
from yibao.settlement.views import hospital_home, period_labels
from yibao.web.render import render

router = APIRouter()


@router.get("/")
@light_read
def home(request: Request, db: Db, user: CurrentUser) -> Response:
    todo = None
    reads = has_permission(user.role, Permission.VIEW_CASES)  # the message centre's readers
    if user.hospital is not None:
        city = user.hospital.region_code[:4] + "00"
        prefix = region_prefix(city)
        today = local(utcnow()).date()
        todo = hospital_home(db, today=today, rules=special.SpecialRules())
        todo["cmi"] = analysis.hospital_cmi(db, user.hospital)  # as 决策分析 › DRG 绩效
    else:
        code = user.region_code or ""
        prefix = region_prefix(code[:4] + "00" if not code.endswith("00") else code)
    state = analysis.state_for(db, user)  # the summaries, where refreshed (ADR 0037)
    ov = overview(
        db,
        prefix,
        cache_s=request.app.state.settings.figures_cache_s,
        figures_of=(lambda: home_figures(db, state)) if state is not None else None,
    )
    charts = {
        "by_month": {"x": [m for m, _ in ov.by_month], "y": [c for _, c in ov.by_month]},
        "by_year": {
            "x": [str(y) for y, _, _ in ov.by_year],
            "cases": [c for _, c, _ in ov.by_year],
            "cost": [round(float(s) / 10000, 1) for _, _, s in ov.by_year],
        },
        "by_level": [{"name": n, "value": c} for n, c in ov.by_level],
        "by_insutype": [{"name": n, "value": c} for n, c in ov.by_insutype],
    }
    return render(
        request,
        "home.html",
        {
            "ov": ov,
            "charts_json": json.dumps(charts, ensure_ascii=False),
            "period_labels": period_labels(db, ov.latest_periods),
            "todo": todo,
            "shown": shown,
            "unread": messages.unread_count(db, user) if reads else 0,
            "due": messages.deadlines(db, user) if reads else [],
        },
    )
