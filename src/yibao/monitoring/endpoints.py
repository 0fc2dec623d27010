"""Monitoring API (应用监控, issue 15 item 5): route figures of this process, component
switches, thresholds, alerts, dependency health; and the checker each server process
runs every ``monitor_interval_s`` seconds (its router's lifespan)."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from decimal import Decimal
from typing import Any

from fastapi import APIRouter, FastAPI, Request
from pydantic import BaseModel, Field

from yibao.accounts.models import User
from yibao.accounts.roles import Permission
from yibao.api.deps import Db, request_actor, require
from yibao.db.scoping import SYSTEM_SCOPE, set_scope
from yibao.kit.bounds import DbId
from yibao.kit.monitor import COMPONENTS, WINDOW
from yibao.logs import get_logger
from yibao.monitoring import health, service

OPS = require(Permission.VIEW_AUDIT_LOG)
log = get_logger("yibao.monitoring")


def check_now(app: FastAPI) -> list[int]:
    """One check in this process: evaluate, commit, post the new alerts' webhook."""
    with app.state.sessionmaker() as session:
        set_scope(session, SYSTEM_SCOPE)
        service.publish(session)
        opened = service.evaluate(session, max_age(app))
        url = service.settings_of(session)["webhook_url"]
        session.commit()
        ids = [a.id for a in opened]
    service.notify(app.state.sessionmaker, ids, url)
    return ids


def max_age(app: FastAPI) -> float:
    return service.max_age(app.state.settings)


def _loop(app: FastAPI, stop: threading.Event, interval: float) -> None:
    while not stop.wait(interval):
        try:
            check_now(app)
        except Exception as exc:  # the checker must outlive a database hiccup
            log.warning("monitoring check failed", error=str(exc)[:200])


@asynccontextmanager
async def monitoring_lifespan(app: FastAPI) -> AsyncIterator[None]:
    interval = float(app.state.settings.monitor_interval_s)
    stop = threading.Event()
    thread = None
    if interval > 0:
        thread = threading.Thread(
            target=_loop, args=(app, stop, interval), name="yibao-monitor", daemon=True
        )
        thread.start()
    try:
        yield
    finally:
        stop.set()
        if thread is not None:
            await asyncio.to_thread(thread.join, 5)


router = APIRouter(
    prefix="/api/monitoring", tags=["monitoring 应用监控"], lifespan=monitoring_lifespan
)


class ThresholdIn(BaseModel):
    route: str = Field("*", max_length=200, description="路由模板，如 /api/cases；* 为全部")
    method: str = Field("*", max_length=10, description="HTTP 方法或 *")
    metric: str = Field(description="p95_ms、p99_ms 或 error_rate")
    limit: Decimal = Field(description="阈值：毫秒，或错误率（0–1）")
    min_calls: int = Field(5, description="窗口内至少这么多次调用才判断")


class SwitchesIn(BaseModel):
    components: dict[str, bool] = Field(description=f"组件开关：{'、'.join(COMPONENTS)}")


class WebhookIn(BaseModel):
    url: str = Field("", max_length=500, description="告警 Webhook 地址；空 = 不发送")


def overview(db: Db, request: Request) -> dict[str, Any]:
    current = service.settings_of(db)
    return {
        "routes": WINDOW.stats(),
        "routes_all": service.merged_stats(db, max_age(request.app)),
        "instances": [
            {
                "instance": i.instance,
                "service": i.service,
                "started_at": i.started_at.isoformat(),
                "seen_at": i.seen_at.isoformat(),
                "calls": sum(int(r["calls"]) for r in i.routes),
                "errors": sum(int(r["errors"]) for r in i.routes),
                "this": i.instance == service.instance(),
            }
            for i in service.live_instances(db, max_age(request.app))
        ],
        "components": current["components"],
        "webhook_url": current["webhook_url"],
        "thresholds": [
            {
                k: (str(v) if isinstance(v, Decimal) else v)
                for k, v in vars(t).items()
                if not k.startswith("_")
            }
            for t in service.thresholds(db)
        ],
        "alerts": [
            service.payload(a) | {"status": a.status, "webhook": a.webhook}
            for a in service.alerts(db)
        ],
        "health": health.dependencies(request.app),
    }


@router.get("", summary="应用监控：本进程各接口调用、组件开关、阈值、告警与依赖健康")
def get_overview(request: Request, db: Db, user: User = OPS) -> dict[str, Any]:
    return overview(db, request)


@router.post("/check", summary="立即检查阈值（否则每个服务进程按间隔自动检查）")
def check(request: Request, user: User = OPS) -> dict[str, Any]:
    return {"opened": check_now(request.app)}


@router.post("/thresholds", status_code=201, summary="新增告警阈值")
def add_threshold(body: ThresholdIn, request: Request, db: Db, user: User = OPS) -> dict[str, Any]:
    row = service.do_add_threshold(
        db,
        route=body.route,
        method=body.method,
        metric=body.metric,
        limit=body.limit,
        min_calls=body.min_calls,
        actor=request_actor(request, user),
    )
    return {"id": row.id}


@router.delete("/thresholds/{threshold_id}", status_code=204, summary="删除告警阈值")
def delete_threshold(threshold_id: DbId, request: Request, db: Db, user: User = OPS) -> None:
    service.do_delete_threshold(db, threshold_id, request_actor(request, user))


@router.put("/components", summary="监控组件开关（各服务进程下次检查时生效，无需重启）")
def set_components(body: SwitchesIn, request: Request, db: Db, user: User = OPS) -> dict[str, Any]:
    service.do_set_components(db, body.components, request_actor(request, user))
    return service.settings_of(db)


@router.put("/webhook", summary="告警 Webhook 地址")
def set_webhook(body: WebhookIn, request: Request, db: Db, user: User = OPS) -> dict[str, Any]:
    service.do_set_webhook(db, body.url, request_actor(request, user))
    return service.settings_of(db)
