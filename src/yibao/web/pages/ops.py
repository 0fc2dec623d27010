"""应用监控 page (issue 15 item 5): this process's route figures, dependency health,
component switches, thresholds, webhook and alerts; forms post here and come back."""

from __future__ import annotations

from decimal import Decimal, InvalidOperation
from typing import Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import RedirectResponse, Response

from yibao.accounts.models import User
from yibao.accounts.roles import Permission
from yibao.api.deps import Db, PostedForm, check_csrf, request_actor, require
from yibao.kit.bounds import DbId
from yibao.kit.errors import DomainError, ValidationFailed
from yibao.kit.monitor import COMPONENTS
from yibao.monitoring import health, service
from yibao.monitoring.models import METRICS
from yibao.web.forms import failure, text
from yibao.web.render import render

router = APIRouter(prefix="/ops")
OPS = require(Permission.VIEW_AUDIT_LOG)
CSRF = [Depends(check_csrf)]


def _page(request: Request, db: Db, **extra: Any) -> Response:
    current = service.settings_of(db)
    ctx = {
        "routes": service.merged_stats(db, service.max_age(request.app.state.settings)),
        "instances": service.live_instances(db, service.max_age(request.app.state.settings)),
        "me": service.instance(),
        "components": COMPONENTS,
        "switches": current["components"],
        "webhook_url": current["webhook_url"],
        "thresholds": service.thresholds(db),
        "alerts": service.alerts(db),
        "metrics": METRICS,
        "health": health.dependencies(request.app),
        "interval": request.app.state.settings.monitor_interval_s,
        "errors": {},
        **extra,
    }
    error = next(iter(ctx["errors"].values()), None)
    return render(
        request, "ops/monitoring.html", ctx, status_code=error["status"] if error else 200
    )


@router.get("/monitoring")
def monitoring_page(request: Request, db: Db, user: User = OPS) -> Response:
    return _page(request, db)


def _done(request: Request, db: Db, which: str, exc: DomainError) -> Response:
    return _page(request, db, errors={which: failure(db, exc)})


@router.post("/monitoring/thresholds", dependencies=CSRF)
def add_threshold(request: Request, form: PostedForm, db: Db, user: User = OPS) -> Response:
    try:
        try:
            limit = Decimal(text(form, "limit") or "x")
            calls = int(text(form, "min_calls") or "5")
        except (InvalidOperation, ValueError):
            raise ValidationFailed("阈值 limit / 最少调用 min_calls：须为数字") from None
        service.do_add_threshold(
            db,
            route=text(form, "route"),
            method=text(form, "method"),
            metric=text(form, "metric"),
            limit=limit,
            min_calls=calls,
            actor=request_actor(request, user),
        )
    except DomainError as exc:
        return _done(request, db, "threshold", exc)
    return RedirectResponse("/ops/monitoring", status_code=303)


@router.post("/monitoring/thresholds/{threshold_id}/delete", dependencies=CSRF)
def delete_threshold(threshold_id: DbId, request: Request, db: Db, user: User = OPS) -> Response:
    try:
        service.do_delete_threshold(db, threshold_id, request_actor(request, user))
    except DomainError as exc:
        return _done(request, db, "threshold", exc)
    return RedirectResponse("/ops/monitoring", status_code=303)


@router.post("/monitoring/components", dependencies=CSRF)
def set_components(request: Request, form: PostedForm, db: Db, user: User = OPS) -> Response:
    switches = {k: form.get(f"c_{k}") == "on" for k in COMPONENTS}
    service.do_set_components(db, switches, request_actor(request, user))
    return RedirectResponse("/ops/monitoring", status_code=303)


@router.post("/monitoring/webhook", dependencies=CSRF)
def set_webhook(request: Request, form: PostedForm, db: Db, user: User = OPS) -> Response:
    try:
        service.do_set_webhook(db, text(form, "url"), request_actor(request, user))
    except DomainError as exc:
        return _done(request, db, "webhook", exc)
    return RedirectResponse("/ops/monitoring", status_code=303)
