"""DIP storage: a catalogue version and its groups with their scores.

A catalogue belongs to one bureau region.  It is built by a background job from the
region's cases of its years (``queued`` → ``running`` → ``draft``, or ``failed``),
then published; a published catalogue and its groups never change (a new build makes
the next version of the same code)."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import JSON, Date, ForeignKey, Integer, Numeric, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from yibao.db.base import Base, Money, TZDateTime
from yibao.kit.timeutil import utcnow

STATUS_LABELS = {
    "queued": "排队中",
    "running": "建立中",
    "draft": "草稿",
    "failed": "失败",
    "published": "已发布",
    "succeeded": "已完成",
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
    #: hospital level → the group's mean cost there in the newest history year (yuan as
    #: text): the standard a case's cost is compared with (偏差病例, domain.md §2.4)
    level_costs: Mapped[dict[str, str] | None] = mapped_column(JSON)


class DipSimulation(Base):
    """One year of the region's cases paid under a catalogue (issue 14 item 6): the
    point value given, solved for a budget, or cost-neutral (the year's total cost)."""

    __tablename__ = "dip_simulations"

    id: Mapped[int] = mapped_column(primary_key=True)
    catalogue_id: Mapped[int] = mapped_column(ForeignKey("dip_catalogues.id"), index=True)
    region_code: Mapped[str] = mapped_column(String(6), index=True)
    year: Mapped[int] = mapped_column(Integer)
    params: Mapped[dict[str, Any]] = mapped_column(JSON)
    status: Mapped[str] = mapped_column(String(12), default="queued")
    job_id: Mapped[int | None] = mapped_column(Integer)
    point_value: Mapped[Decimal | None] = mapped_column(Numeric(18, 4, asdecimal=True))
    summary: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    error: Mapped[str | None] = mapped_column(String(1000))
    created_by: Mapped[str] = mapped_column(String(50))
    created_at: Mapped[datetime] = mapped_column(TZDateTime(), default=utcnow)
    finished_at: Mapped[datetime | None] = mapped_column(TZDateTime())


class DipSimulationHospital(Base):
    __tablename__ = "dip_simulation_hospitals"

    simulation_id: Mapped[int] = mapped_column(
        ForeignKey("dip_simulations.id", ondelete="CASCADE"), primary_key=True
    )
    hospital_code: Mapped[str] = mapped_column(String(12), primary_key=True)
    hospital_level: Mapped[str] = mapped_column(String(1))
    coefficient: Mapped[Decimal] = mapped_column(Numeric(18, 4, asdecimal=True))
    cases: Mapped[int] = mapped_column(Integer)
    by_items: Mapped[int] = mapped_column(Integer)
    low: Mapped[int] = mapped_column(Integer)
    high: Mapped[int] = mapped_column(Integer)
    extreme: Mapped[int] = mapped_column(Integer)
    total_cost: Mapped[Decimal] = mapped_column(Money())
    total_score: Mapped[Decimal] = mapped_column(Numeric(18, 4, asdecimal=True))
    payment: Mapped[Decimal] = mapped_column(Money())
    balance: Mapped[Decimal] = mapped_column(Money())


SCHEME_STATUSES = {"pending": "待批准", "published": "已发布"}


class DipScheme(Base):
    """A DIP payment scheme (DIP 付费方案, issue 14 item 6): the published catalogue the
    region's cases discharged from ``valid_from`` to ``valid_to`` are settled by, at
    the budget point value (预算点值, the monthly advance) with the hospital
    coefficients and deviation bounds of ``params``.  Immutable once published; a new
    scheme closes an open earlier one the day before it starts (ADR 0030)."""

    __tablename__ = "dip_schemes"

    id: Mapped[int] = mapped_column(primary_key=True)
    region_code: Mapped[str] = mapped_column(String(6), index=True)
    catalogue_id: Mapped[int] = mapped_column(ForeignKey("dip_catalogues.id"), index=True)
    name: Mapped[str] = mapped_column(String(100))
    valid_from: Mapped[date] = mapped_column(Date)
    valid_to: Mapped[date | None] = mapped_column(Date)
    point_value: Mapped[Decimal] = mapped_column(Numeric(18, 4, asdecimal=True))
    params: Mapped[dict[str, Any]] = mapped_column(JSON)
    status: Mapped[str] = mapped_column(String(12))
    created_by: Mapped[str] = mapped_column(String(50))
    created_at: Mapped[datetime] = mapped_column(TZDateTime(), default=utcnow)
    published_by: Mapped[str | None] = mapped_column(String(50))
    published_at: Mapped[datetime | None] = mapped_column(TZDateTime())
