"""Stored grouping results: one current row per (case, plan)."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import Date, ForeignKey, Index, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from yibao.db.base import Base, TZDateTime
from yibao.db.scoping import ScopedRow
from yibao.kit.timeutil import utcnow


class CaseGrouping(ScopedRow, Base):
    """The result of grouping a stored case with one plan version.

    Scoped like its case (``hospital_id`` / ``region_code`` copied from the case), so a
    hospital user only ever reads its own cases' results.  Re-grouping replaces the
    row of the same (case, plan).
    """

    __tablename__ = "case_groupings"

    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id", ondelete="CASCADE"))
    plan_id: Mapped[str] = mapped_column(String(40))
    plan_version: Mapped[str] = mapped_column(String(20))
    #: SHA-256 of the plan's plan.json (every table's checksum inside): the exact plan
    plan_checksum: Mapped[str | None] = mapped_column(String(64))
    status: Mapped[str] = mapped_column(String(20))
    mdc: Mapped[str] = mapped_column(String(10))
    adrg: Mapped[str] = mapped_column(String(10))
    drg: Mapped[str] = mapped_column(String(10))
    drg_name: Mapped[str | None] = mapped_column(String(200))
    grouped_at: Mapped[datetime] = mapped_column(TZDateTime(), default=utcnow)

    __table_args__ = (
        UniqueConstraint("case_id", "plan_id"),
        Index("ix_case_groupings_plan_drg", "plan_id", "drg"),
        Index("ix_case_groupings_hospital_plan", "hospital_id", "plan_id"),
        Index("ix_case_groupings_region_plan", "region_code", "plan_id"),
    )


class RegionPlan(Base):
    """The grouping plan a region pays by from ``valid_from`` (to ``valid_to``, open
    when None): a city or province bureau's own choice, national or regional (ADR 0039).
    The periods of one region never overlap."""

    __tablename__ = "region_plans"
    __table_args__ = (Index("ix_region_plans_region_from", "region_code", "valid_from"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    region_code: Mapped[str] = mapped_column(String(6))
    plan_id: Mapped[str] = mapped_column(String(40))
    valid_from: Mapped[date] = mapped_column(Date)
    valid_to: Mapped[date | None] = mapped_column(Date)
    reason: Mapped[str] = mapped_column(String(500))
    set_by: Mapped[str] = mapped_column(String(100))
    set_at: Mapped[datetime] = mapped_column(TZDateTime(), default=utcnow)
