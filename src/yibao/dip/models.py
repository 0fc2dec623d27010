"""DIP storage: a catalogue version and its groups with their scores.

A catalogue belongs to one bureau region.  It is built by a background job from the
region's cases of its years (``queued`` → ``running`` → ``draft``, or ``failed``),
then published; a published catalogue and its groups never change (a new build makes
the next version of the same code)."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import JSON, ForeignKey, Integer, Numeric, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from yibao.db.base import Base, Money, TZDateTime
from yibao.kit.timeutil import utcnow

STATUS_LABELS = {
    "queued": "排队中",
    "running": "建立中",
    "draft": "草稿",
    "failed": "失败",
    "published": "已发布",
}


class DipCatalogue(Base):
    __tablename__ = "dip_catalogues"
    __table_args__ = (UniqueConstraint("region_code", "code", "version"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    region_code: Mapped[str] = mapped_column(String(6), index=True)
    code: Mapped[str] = mapped_column(String(40))
    version: Mapped[int] = mapped_column(Integer)
    name: Mapped[str] = mapped_column(String(100))
    plan_id: Mapped[str] = mapped_column(String(40))  # whose procedure dictionary
    years: Mapped[list[int]] = mapped_column(JSON)
    params: Mapped[dict[str, Any]] = mapped_column(JSON)
    status: Mapped[str] = mapped_column(String(12), default="queued")
    job_id: Mapped[int | None] = mapped_column(Integer)
    summary: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    overall_mean: Mapped[Decimal | None] = mapped_column(Money())
    error: Mapped[str | None] = mapped_column(String(1000))
    created_by: Mapped[str] = mapped_column(String(50))
    created_at: Mapped[datetime] = mapped_column(TZDateTime(), default=utcnow)
    built_at: Mapped[datetime | None] = mapped_column(TZDateTime())
    published_at: Mapped[datetime | None] = mapped_column(TZDateTime())


class DipGroup(Base):
    __tablename__ = "dip_groups"

    catalogue_id: Mapped[int] = mapped_column(
        ForeignKey("dip_catalogues.id", ondelete="CASCADE"), primary_key=True
    )
    code: Mapped[str] = mapped_column(String(400), primary_key=True)
    kind: Mapped[str] = mapped_column(String(16))
    level: Mapped[str] = mapped_column(String(12))
    dx_key: Mapped[str] = mapped_column(String(10))
    procedures: Mapped[str] = mapped_column(String(400))
    proc_type: Mapped[str] = mapped_column(String(14))
    name: Mapped[str] = mapped_column(String(500))
    cases: Mapped[int] = mapped_column(Integer)
    kept: Mapped[int] = mapped_column(Integer)
    mean_cost: Mapped[Decimal | None] = mapped_column(Money())
    score: Mapped[Decimal | None] = mapped_column(Numeric(18, 2, asdecimal=True))
