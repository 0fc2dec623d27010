"""Monitoring storage: thresholds on a route's latency or error rate, the alerts their
crossing raised, and the settings every server process reads (component switches,
webhook)."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import JSON, Boolean, ForeignKey, Integer, Numeric, String
from sqlalchemy.orm import Mapped, mapped_column

from yibao.db.base import Base, TZDateTime
from yibao.kit.timeutil import utcnow

METRICS = {"p95_ms": "P95 延迟（毫秒）", "p99_ms": "P99 延迟（毫秒）", "error_rate": "错误率"}


class MonitorThreshold(Base):
    __tablename__ = "monitor_thresholds"

    id: Mapped[int] = mapped_column(primary_key=True)
    route: Mapped[str] = mapped_column(String(200))  # a route template, or * for every route
    method: Mapped[str] = mapped_column(String(10), default="*")
    metric: Mapped[str] = mapped_column(String(20))
    limit: Mapped[Decimal] = mapped_column(Numeric(18, 4, asdecimal=True))
    min_calls: Mapped[int] = mapped_column(Integer, default=5)
    enabled: Mapped[bool] = mapped_column(Boolean, default=True)
    created_by: Mapped[str] = mapped_column(String(100))
    created_at: Mapped[datetime] = mapped_column(TZDateTime(), default=utcnow)


class MonitorAlert(Base):
    __tablename__ = "monitor_alerts"

    id: Mapped[int] = mapped_column(primary_key=True)
    threshold_id: Mapped[int] = mapped_column(
        ForeignKey("monitor_thresholds.id", ondelete="CASCADE"), index=True
    )
    method: Mapped[str] = mapped_column(String(10))
    route: Mapped[str] = mapped_column(String(200))
    metric: Mapped[str] = mapped_column(String(20))
    value: Mapped[Decimal] = mapped_column(Numeric(18, 4, asdecimal=True))
    limit: Mapped[Decimal] = mapped_column(Numeric(18, 4, asdecimal=True))
    calls: Mapped[int] = mapped_column(Integer)
    status: Mapped[str] = mapped_column(String(10), default="open")
    opened_at: Mapped[datetime] = mapped_column(TZDateTime(), default=utcnow)
    closed_at: Mapped[datetime | None] = mapped_column(TZDateTime())
    webhook: Mapped[str | None] = mapped_column(String(300))


class MonitorSetting(Base):
    __tablename__ = "monitor_settings"

    key: Mapped[str] = mapped_column(String(40), primary_key=True)
    value: Mapped[Any] = mapped_column(JSON)
    updated_by: Mapped[str] = mapped_column(String(100))
    updated_at: Mapped[datetime] = mapped_column(TZDateTime(), default=utcnow)


class MonitorInstance(Base):
    """A server process's latest route figures (mergeable histograms), written at each
    of its checks, so every process and the operations page see all of them."""

    __tablename__ = "monitor_instances"

    instance: Mapped[str] = mapped_column(String(120), primary_key=True)  # host:pid
    host: Mapped[str] = mapped_column(String(100))
    pid: Mapped[int] = mapped_column(Integer)
    service: Mapped[str] = mapped_column(String(40))
    started_at: Mapped[datetime] = mapped_column(TZDateTime())
    seen_at: Mapped[datetime] = mapped_column(TZDateTime(), index=True)
    routes: Mapped[Any] = mapped_column(JSON)
