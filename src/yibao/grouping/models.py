"""Stored grouping results: one current row per (case, plan)."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import JSON, Date, ForeignKey, Index, LargeBinary, String, UniqueConstraint
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


class LocalPlan(Base):
    """A plan a bureau derived from a national or regional one through the Excel
    workbook (issue 16 item 4, ADR 0040): a draft until published, immutable after.

    ``bundle`` is the plan folder (plan.json, tables, meta.json, NOTICE) as a zip; each
    server process unpacks it into ``<var>/local-plans/<plan_id>`` where the plan
    registry finds it.  ``checksum`` is the plan's content checksum."""

    __tablename__ = "local_plans"

    id: Mapped[int] = mapped_column(primary_key=True)
    plan_id: Mapped[str] = mapped_column(String(40), unique=True)
    title: Mapped[str] = mapped_column(String(200))
    base_plan_id: Mapped[str | None] = mapped_column(String(40))
    region_code: Mapped[str] = mapped_column(String(6))
    status: Mapped[str] = mapped_column(String(12), default="draft")
    checksum: Mapped[str] = mapped_column(String(64))
    workbook_name: Mapped[str] = mapped_column(String(200))
    bundle: Mapped[bytes] = mapped_column(LargeBinary, deferred=True)
    #: what changed against the base plan (counts and the first changes), at import
    changes: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    #: the last trial on stored cases (how many change group, payment before/after)
    trial: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    reason: Mapped[str] = mapped_column(String(500))
    created_by: Mapped[str] = mapped_column(String(100))
    created_at: Mapped[datetime] = mapped_column(TZDateTime(), default=utcnow)
    published_by: Mapped[str | None] = mapped_column(String(100))
    published_at: Mapped[datetime | None] = mapped_column(TZDateTime())
