"""实时监控 page (issue 15 item 1, first modules): one card per module, each refreshed
by HTMX on its own interval (全年趋势 never); the figures are scoped to the viewer (a
hospital sees itself, a district bureau its district).  Intervals are set here by a
bureau administrator and kept with the monitoring settings."""

from __future__ import annotations

import json
from typing import Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import RedirectResponse, Response

from yibao.accounts.models import User
from yibao.accounts.roles import Permission, has_permission
from yibao.api.deps import Db, PostedForm, check_csrf, request_actor, require
from yibao.kit.errors import Forbidden, NotFound, ValidationFailed
from yibao.monitoring import screens, service
from yibao.web.render import render

router = APIRouter(prefix="/screens")
VIEW = require(Permission.VIEW_CASES)


def intervals(db: Db) -> dict[str, int]:
    stored = service.settings_of(db).get("screen_intervals") or {}
    return {k: int(stored.get(k, d)) for k, (_, d) in screens.MODULES.items()}


@router.get("")
def index(request: Request, db: Db, user: User = VIEW) -> Response:
    ctx = {
        "modules": screens.MODULES,
        "intervals": intervals(db),
        "can_set": has_permission(user.role, Permission.VIEW_AUDIT_LOG),
    }
    return render(request, "screens/index.html", ctx)


@router.get("/modules/{name}")
def module(name: str, request: Request, db: Db, user: User = VIEW) -> Response:
    if name not in screens.MODULES:
        raise NotFound(f"监控模块 {name} 不存在")
    data: Any = getattr(screens, name)(db)
    chart = None
    if name == "counts":
        chart = {"x": [f"{h}时" for h in range(24)], "series": {
            screens.STAGES[s]: v for s, v in data["hours"].items()}}  # fmt: skip
    elif name == "visits":
        chart = {"x": [f"{h}时" for h in range(24)], "series": {
            f"{screens.KINDS[k]}结算": v for k, v in data["today"]["hours"].items()}}  # fmt: skip
    elif name == "trend":
        chart = {"x": [f"{m}月" for m in range(1, 13)], "series": {
            "审核次数": data["audits"], "有疑点": data["flagged"]}}  # fmt: skip
    ctx = {
        "name": name,
        "data": data,
        "chart": json.dumps(chart, ensure_ascii=False) if chart else None,
    }
    return render(request, f"screens/_{name}.html", ctx)


@router.post("/intervals", dependencies=[Depends(check_csrf)])
def set_intervals(request: Request, form: PostedForm, db: Db, user: User = VIEW) -> Response:
    if not has_permission(user.role, Permission.VIEW_AUDIT_LOG):
        raise Forbidden("只有医保局管理员可以设置刷新间隔")
    values = {}
    for key in screens.MODULES:
        raw = str(form.get(f"i_{key}") or "0").strip()
        if not raw.isdigit() or int(raw) > 3600 or 0 < int(raw) < 2:
            raise ValidationFailed(f"刷新间隔 {key}：须为 0（不刷新）或 2–3600 秒（收到 {raw!r}）")
        values[key] = int(raw)
    service.do_set_setting(db, "screen_intervals", values, request_actor(request, user))
    return RedirectResponse("/screens", status_code=303)
