"""Measurement (测算) storage: base runs, weight plans, rate plans, simulations, standards.

Everything belongs to one bureau region (``region_code``); hospital users have no
measurement permission.  Weight plans and payment standards are versioned data:
draft → approved → published; published rows are immutable (service checks).
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import JSON, Boolean, Date, Float, ForeignKey, Integer, Numeric, String
from sqlalchemy.orm import Mapped, mapped_column

from yibao.db.base import Base, Money, TZDateTime
from yibao.kit.timeutil import utcnow

STATUS_LABELS = {
    "queued": "排队中",
    "running": "计算中",
    "succeeded": "已完成",
    "failed": "失败",
    "draft": "草稿",
    "approved": "已审批",
    "pending": "待批准发布",
    "published": "已发布",
    "retired": "已停用",
}


def Weight() -> Numeric[Any]:
    """Relative weight, 4 decimals."""
    return Numeric(12, 4, asdecimal=True)


class MeasurementRun(Base):
    """A base run: case base, exclusions, trimming, relative weights, quality."""

    __tablename__ = "measurement_runs"

    id: Mapped[int] = mapped_column(primary_key=True)
    region_code: Mapped[str] = mapped_column(String(6), index=True)
    name: Mapped[str] = mapped_column(String(100))
    plan_id: Mapped[str] = mapped_column(String(40))
    plan_version: Mapped[str | None] = mapped_column(String(20))
    years: Mapped[list[int]] = mapped_column(JSON)
    params: Mapped[dict[str, Any]] = mapped_column(JSON)
    status: Mapped[str] = mapped_column(String(12), default="queued")
    job_id: Mapped[int | None] = mapped_column(Integer)
    summary: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    error: Mapped[str | None] = mapped_column(String(1000))
    created_by: Mapped[str] = mapped_column(String(50))
    created_at: Mapped[datetime] = mapped_column(TZDateTime(), default=utcnow)
    finished_at: Mapped[datetime | None] = mapped_column(TZDateTime())


class RunWeight(Base):
    __tablename__ = "measurement_run_weights"

    run_id: Mapped[int] = mapped_column(
        ForeignKey("measurement_runs.id", ondelete="CASCADE"), primary_key=True
    )
    drg: Mapped[str] = mapped_column(String(8), primary_key=True)
    mdc: Mapped[str] = mapped_column(String(8))
    adrg: Mapped[str] = mapped_column(String(8))
    cases: Mapped[int] = mapped_column(Integer)
    volume: Mapped[int] = mapped_column(Integer)
    year_cases: Mapped[dict[str, int]] = mapped_column(JSON)
    mean_cost: Mapped[Decimal | None] = mapped_column(Money())
    cv: Mapped[float | None] = mapped_column(Float)
    relative_weight: Mapped[Decimal | None] = mapped_column(Weight())
    rw_source: Mapped[str] = mapped_column(String(12))
    needs_review: Mapped[bool] = mapped_column(Boolean)
    note: Mapped[str | None] = mapped_column(String(300))


class RunFence(Base):
    __tablename__ = "measurement_run_fences"

    run_id: Mapped[int] = mapped_column(
        ForeignKey("measurement_runs.id", ondelete="CASCADE"), primary_key=True
    )
    drg: Mapped[str] = mapped_column(String(8), primary_key=True)
    year: Mapped[int] = mapped_column(Integer, primary_key=True)
    lower: Mapped[float | None] = mapped_column(Float)
    upper: Mapped[float | None] = mapped_column(Float)
    below: Mapped[int] = mapped_column(Integer)
    above: Mapped[int] = mapped_column(Integer)
    kept: Mapped[int] = mapped_column(Integer)
    applied: Mapped[bool] = mapped_column(Boolean)


class WeightPlan(Base):
    """A named, versioned set of weights derived from a base run."""

    __tablename__ = "weight_plans"

    id: Mapped[int] = mapped_column(primary_key=True)
    region_code: Mapped[str] = mapped_column(String(6), index=True)
    code: Mapped[str] = mapped_column(String(40))
    version: Mapped[int] = mapped_column(Integer)
    name: Mapped[str] = mapped_column(String(100))
    run_id: Mapped[int] = mapped_column(ForeignKey("measurement_runs.id"))
    adjustments: Mapped[dict[str, Any]] = mapped_column(JSON)
    status: Mapped[str] = mapped_column(String(12), default="draft")
    total_before: Mapped[Decimal | None] = mapped_column(Numeric(18, 4))
    total_after: Mapped[Decimal | None] = mapped_column(Numeric(18, 4))
    scale: Mapped[Decimal | None] = mapped_column(Numeric(18, 8))
    created_by: Mapped[str] = mapped_column(String(50))
    created_at: Mapped[datetime] = mapped_column(TZDateTime(), default=utcnow)
    approved_at: Mapped[datetime | None] = mapped_column(TZDateTime())
    published_at: Mapped[datetime | None] = mapped_column(TZDateTime())


class WeightPlanItem(Base):
    __tablename__ = "weight_plan_items"

    plan_id: Mapped[int] = mapped_column(
        ForeignKey("weight_plans.id", ondelete="CASCADE"), primary_key=True
    )
    drg: Mapped[str] = mapped_column(String(8), primary_key=True)
    mdc: Mapped[str] = mapped_column(String(8))
    adrg: Mapped[str] = mapped_column(String(8))
    cases: Mapped[int] = mapped_column(Integer)
    base_relative_weight: Mapped[Decimal | None] = mapped_column(Weight())
    relative_weight: Mapped[Decimal | None] = mapped_column(Weight())
    rw_source: Mapped[str] = mapped_column(String(12))
    adjustment: Mapped[str | None] = mapped_column(String(200))


class RatePlanRow(Base):
    """A rate plan: budget → rate(s) per hospital level, on one weight plan."""

    __tablename__ = "rate_plans"

    id: Mapped[int] = mapped_column(primary_key=True)
    region_code: Mapped[str] = mapped_column(String(6), index=True)
    name: Mapped[str] = mapped_column(String(100))
    weight_plan_id: Mapped[int] = mapped_column(ForeignKey("weight_plans.id"))
    volume_year: Mapped[int] = mapped_column(Integer)
    params: Mapped[dict[str, Any]] = mapped_column(JSON)
    plan: Mapped[dict[str, Any]] = mapped_column(JSON)  # engine RatePlan as JSON (Decimal as str)
    status: Mapped[str] = mapped_column(String(12), default="draft")
    created_by: Mapped[str] = mapped_column(String(50))
    created_at: Mapped[datetime] = mapped_column(TZDateTime(), default=utcnow)


class Simulation(Base):
    """A simulated payment scenario on one year's cases."""

    __tablename__ = "simulations"

    id: Mapped[int] = mapped_column(primary_key=True)
    region_code: Mapped[str] = mapped_column(String(6), index=True)
    name: Mapped[str] = mapped_column(String(100))
    weight_plan_id: Mapped[int] = mapped_column(ForeignKey("weight_plans.id"))
    rate_plan_id: Mapped[int] = mapped_column(ForeignKey("rate_plans.id"))
    year: Mapped[int] = mapped_column(Integer)
    params: Mapped[dict[str, Any]] = mapped_column(JSON)
    rates: Mapped[dict[str, Any]] = mapped_column(JSON)  # the rate plan actually used
    results: Mapped[dict[str, Any]] = mapped_column(JSON)
    created_by: Mapped[str] = mapped_column(String(50))
    created_at: Mapped[datetime] = mapped_column(TZDateTime(), default=utcnow)


class PaymentStandardSet(Base):
    """A published (weight plan, rate plan) pair: the table settlement uses."""

    __tablename__ = "payment_standard_sets"

    id: Mapped[int] = mapped_column(primary_key=True)
    region_code: Mapped[str] = mapped_column(String(6), index=True)
    name: Mapped[str] = mapped_column(String(100))
    plan_id: Mapped[str] = mapped_column(String(40))
    weight_plan_id: Mapped[int | None] = mapped_column(ForeignKey("weight_plans.id"))
    rate_plan_id: Mapped[int | None] = mapped_column(ForeignKey("rate_plans.id"))
    source: Mapped[str] = mapped_column(String(12))  # measured / imported
    valid_from: Mapped[date] = mapped_column(Date)
    valid_to: Mapped[date | None] = mapped_column(Date)
    status: Mapped[str] = mapped_column(String(12), default="published")
    checksum: Mapped[str] = mapped_column(String(64))
    created_by: Mapped[str] = mapped_column(String(50))
    created_at: Mapped[datetime] = mapped_column(TZDateTime(), default=utcnow)
    #: how settlement classifies and pays cases under this table (high / low
    #: multipliers, RW bands, QY share, per-diem, high-case cap; ADR 0031); None: defaults
    payment_rules: Mapped[dict[str, Any] | None] = mapped_column(JSON)


class PaymentStandardItem(Base):
    __tablename__ = "payment_standard_items"

    set_id: Mapped[int] = mapped_column(
        ForeignKey("payment_standard_sets.id", ondelete="CASCADE"), primary_key=True
    )
    drg: Mapped[str] = mapped_column(String(8), primary_key=True)
    hospital_level: Mapped[str] = mapped_column(String(1), primary_key=True)
    relative_weight: Mapped[Decimal] = mapped_column(Weight())
    base_rate: Mapped[Decimal] = mapped_column(Numeric(28, 10))
    payment_standard: Mapped[Decimal] = mapped_column(Money())
