"""Application monitoring (应用监控, issue 15 item 5, ADR 0034).

* Route figures come from this process's rolling window (:mod:`yibao.kit.monitor`).
* Thresholds (a route template or ``*``, a method or ``*``, P95 / P99 latency in ms or
  the error rate, a minimum number of calls) are checked by :func:`evaluate` — every
  few seconds by each server process (:mod:`yibao.monitoring.endpoints`), or at once
  from the page.  Crossing one opens an alert (one per threshold and route while it
  lasts) and posts it to the configured webhook; falling back closes it.
* Settings every process reads on each check: the component switches (no restart
  needed) and the webhook URL.
"""

from __future__ import annotations

import json
import os
import socket
import threading
import urllib.request
from datetime import timedelta
from decimal import Decimal
from fractions import Fraction
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from yibao.audit.service import Actor, record
from yibao.kit.errors import NotFound, ValidationFailed
from yibao.kit.monitor import COMPONENTS, FLAGS, WINDOW, merge, summary
from yibao.kit.timeutil import utcnow
from yibao.monitoring.models import (
    METRICS,
    MonitorAlert,
    MonitorInstance,
    MonitorSetting,
    MonitorThreshold,
)

WEBHOOK_TIMEOUT_S = 3.0


#: when this module was loaded: the process's start, as the operations page shows it
STARTED = utcnow()


def instance() -> str:
    """This server process (host:pid, read at call time: a forked worker is its own)."""
    return f"{socket.gethostname()[:100]}:{os.getpid()}"


def settings_of(session: Session) -> dict[str, Any]:
    rows = {r.key: r.value for r in session.scalars(select(MonitorSetting))}
    components = {**dict.fromkeys(COMPONENTS, True), **(rows.get("components") or {})}
    return {
        "components": components,
        "webhook_url": rows.get("webhook_url") or "",
        "screen_intervals": rows.get("screen_intervals") or {},
    }


def apply_switches(session: Session) -> dict[str, Any]:
    """Load the stored switches into this process (what every check does first)."""
    current = settings_of(session)
    FLAGS.update({k: bool(v) for k, v in current["components"].items() if k in COMPONENTS})
    return current


def _put(session: Session, key: str, value: Any, actor: Actor) -> None:
    row = session.get(MonitorSetting, key)
    before = row.value if row else None
    if row is None:
        row = MonitorSetting(key=key, value=value, updated_by=actor.name)
        session.add(row)
    else:
        row.value, row.updated_by, row.updated_at = value, actor.name, utcnow()
    record(session, actor, f"monitoring.{key}", "monitor_setting", None, before=before, after=value)


def do_set_setting(session: Session, key: str, value: Any, actor: Actor) -> None:
    """Store one setting (audited)."""
    _put(session, key, value, actor)


def do_set_components(session: Session, switches: dict[str, bool], actor: Actor) -> None:
    unknown = sorted(set(switches) - set(COMPONENTS))
    if unknown:
        raise ValidationFailed(f"components：不是可识别的监控组件：{'、'.join(unknown)}")
    _put(session, "components", {k: bool(switches.get(k, False)) for k in COMPONENTS}, actor)
    session.flush()
    apply_switches(session)


def do_set_webhook(session: Session, url: str, actor: Actor) -> None:
    url = url.strip()
    if (url and not url.startswith(("http://", "https://"))) or len(url) > 500:
        raise ValidationFailed(
            "webhook_url：须为 http:// 或 https:// 开头的地址（不超过 500 字符）"
        )
    _put(session, "webhook_url", url, actor)


def do_add_threshold(
    session: Session,
    *,
    route: str,
    method: str,
    metric: str,
    limit: Decimal,
    min_calls: int,
    actor: Actor,
) -> MonitorThreshold:
    route, method = route.strip() or "*", (method.strip() or "*").upper()
    if metric not in METRICS:
        raise ValidationFailed(f"metric：应为 {'、'.join(METRICS)} 之一（收到 {metric!r}）")
    if not (route == "*" or route.startswith("/")) or len(route) > 200:
        raise ValidationFailed("route：须为 * 或以 / 开头的路由模板，如 /api/cases/{case_id}")
    if method not in ("*", "GET", "POST", "PUT", "PATCH", "DELETE"):
        raise ValidationFailed(f"method：应为 * 或 HTTP 方法（收到 {method!r}）")
    top = Decimal(1) if metric == "error_rate" else Decimal(600_000)
    if not 0 < limit <= top:
        raise ValidationFailed(f"limit：阈值须大于 0 且不超过 {top}（收到 {limit}）")
    if limit != limit.quantize(Decimal("0.0001")):
        raise ValidationFailed(
            f"limit：阈值最多 4 位小数（收到 {limit}；错误率 0.0001 即万分之一）", field="limit"
        )
    if not 1 <= min_calls <= 100_000:
        raise ValidationFailed(f"min_calls：最少调用次数须在 1 到 100000 之间（收到 {min_calls}）")
    row = MonitorThreshold(
        route=route,
        method=method,
        metric=metric,
        limit=limit,
        min_calls=min_calls,
        created_by=actor.name,
    )
    session.add(row)
    session.flush()
    record(
        session,
        actor,
        "monitoring.threshold.add",
        "monitor_threshold",
        row.id,
        after={"route": route, "method": method, "metric": metric, "limit": limit},
    )
    return row


def do_delete_threshold(session: Session, threshold_id: int, actor: Actor) -> None:
    row = session.get(MonitorThreshold, threshold_id)
    if row is None:
        raise NotFound(f"阈值 {threshold_id} 不存在")
    session.delete(row)
    record(session, actor, "monitoring.threshold.delete", "monitor_threshold", threshold_id)


def thresholds(session: Session) -> list[MonitorThreshold]:
    return list(session.scalars(select(MonitorThreshold).order_by(MonitorThreshold.id)))


def alerts(session: Session, limit: int = 100) -> list[MonitorAlert]:
    return list(session.scalars(select(MonitorAlert).order_by(MonitorAlert.id.desc()).limit(limit)))


def _matches(t: MonitorThreshold, row: dict[str, Any]) -> bool:
    return (t.route in ("*", row["route"])) and (t.method in ("*", row["method"]))


def publish(session: Session, service_name: str = "web") -> None:
    """Write this process's route figures (mergeable) for the other processes."""
    me = instance()
    row = session.get(MonitorInstance, me)
    if row is None:
        host, _, pid = me.rpartition(":")
        row = MonitorInstance(
            instance=me,
            host=host[:100],
            pid=int(pid),
            service=service_name[:40],
            started_at=STARTED,
        )
        session.add(row)
    row.seen_at, row.routes = utcnow(), summary(WINDOW)
    session.flush()


def max_age(settings: Any) -> float:
    """How recent a process's published figures must be to count as live: three of its
    check intervals (a minute when checks run only on demand)."""
    interval = float(settings.monitor_interval_s)
    return 3 * interval if interval > 0 else 60.0


def live_instances(session: Session, max_age_s: float) -> list[MonitorInstance]:
    since = utcnow() - timedelta(seconds=max_age_s)
    return list(
        session.scalars(
            select(MonitorInstance)
            .where(MonitorInstance.seen_at >= since)
            .order_by(MonitorInstance.instance)
        )
    )


def merged_stats(session: Session, max_age_s: float) -> list[dict[str, Any]]:
    """Route figures of every live process: this one's exact window when it is the only
    one, else the merged histograms (this process's own figures taken fresh)."""
    me = instance()
    others = [i.routes for i in live_instances(session, max_age_s) if i.instance != me]
    if not others:
        return WINDOW.stats()
    return merge([summary(WINDOW), *others])


def evaluate(session: Session, max_age_s: float = 60.0) -> list[MonitorAlert]:
    """Check every enabled threshold against the figures of every live process (each
    process checks the same merged figures, so one does not close another's alert):
    open an alert for each newly crossed (threshold, route), close those back under.
    Returns the alerts opened (their webhook is posted after the caller commits:
    :func:`notify`).  The thresholds are locked, so two processes do not open the same
    alert twice."""
    current = apply_switches(session)
    if not FLAGS["alerts"]:
        return []
    enabled = list(
        session.scalars(select(MonitorThreshold).where(MonitorThreshold.enabled).with_for_update())
    )
    stats: list[dict[str, Any]] = merged_stats(session, max_age_s)
    open_rows = {
        (a.threshold_id, a.method, a.route): a
        for a in session.scalars(select(MonitorAlert).where(MonitorAlert.status == "open"))
    }
    opened = []
    for t in enabled:
        for row in stats:
            if not _matches(t, row) or int(row["calls"]) < t.min_calls:
                continue
            value = Decimal(str(row[t.metric]))
            # the error rate is compared unrounded (its 4 shown decimals can hide
            # the difference from the limit either way)
            exact = (
                Fraction(int(row["errors"]), int(row["calls"]))
                if t.metric == "error_rate"
                else Fraction(value)
            )
            over = exact > Fraction(t.limit)
            key = (t.id, str(row["method"]), str(row["route"]))
            existing = open_rows.get(key)
            if over and existing is None:
                alert = MonitorAlert(
                    threshold_id=t.id,
                    method=row["method"],
                    route=row["route"],
                    metric=t.metric,
                    value=value,
                    limit=t.limit,
                    calls=int(row["calls"]),
                    webhook=None if current["webhook_url"] else "未配置 Webhook",
                )
                session.add(alert)
                opened.append(alert)
            elif not over and existing is not None:
                existing.status, existing.closed_at = "closed", utcnow()
    session.flush()
    return opened


def payload(alert: MonitorAlert) -> dict[str, Any]:
    label = METRICS.get(alert.metric, alert.metric)
    return {
        "event": "yibao.monitoring.alert",
        "alert_id": alert.id,
        "method": alert.method,
        "route": alert.route,
        "metric": alert.metric,
        "value": str(alert.value),
        "limit": str(alert.limit),
        "calls": alert.calls,
        "opened_at": alert.opened_at.isoformat() if alert.opened_at else None,
        "text": f"{alert.method} {alert.route} {label} {alert.value} 超过阈值 {alert.limit}",
    }


def post_webhook(url: str, body: dict[str, Any]) -> str:
    """POST ``body`` as JSON; a short Chinese result for the alert row."""
    data = json.dumps(body, ensure_ascii=False).encode()
    request = urllib.request.Request(
        url, data=data, method="POST", headers={"content-type": "application/json"}
    )
    try:
        with urllib.request.urlopen(request, timeout=WEBHOOK_TIMEOUT_S) as answer:
            return f"已发送（HTTP {answer.status}）"
    except Exception as exc:  # a webhook that fails never stops monitoring
        return f"发送失败：{type(exc).__name__} {str(exc)[:150]}"


def notify(sessions: Any, alert_ids: list[int], url: str) -> threading.Thread | None:
    """Post the committed alerts to the webhook in a thread; record each result."""
    if not alert_ids or not url:
        return None

    def run() -> None:
        with sessions() as session:
            for a in session.scalars(select(MonitorAlert).where(MonitorAlert.id.in_(alert_ids))):
                a.webhook = post_webhook(url, payload(a))
            session.commit()

    thread = threading.Thread(target=run, name="yibao-monitor-webhook", daemon=True)
    thread.start()
    return thread
