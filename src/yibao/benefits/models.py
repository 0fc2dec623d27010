"""Stored benefit policies: one row per policy version (code + version)."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import JSON, Date, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from yibao.db.base import Base, TZDateTime
from yibao.kit.timeutil import utcnow

POLICY_STATUSES = {"draft": "草稿", "published": "已发布", "retired": "已停用"}


class StoredPolicy(Base):
    """One version of an insured place's inpatient benefit policy.

    ``body`` is the policy as :class:`yibao.engines.settlement.BenefitPolicy` reads it
    (levels, annual cap, cross-region rules); the columns beside it repeat what lists and
    lookups need.  A published version is immutable, except that publishing a later
    version closes an open earlier one the day before (audited)."""

    __tablename__ = "benefit_policies"
    __table_args__ = (UniqueConstraint("code", "version", name="uq_benefit_policies_code_version"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(40))
    version: Mapped[int] = mapped_column(Integer)
    name: Mapped[str] = mapped_column(String(100))
    region_code: Mapped[str] = mapped_column(String(6), index=True)
    region_name: Mapped[str] = mapped_column(String(50), default="")
    insutype: Mapped[str] = mapped_column(String(3))
    valid_from: Mapped[date] = mapped_column(Date)
    valid_to: Mapped[date | None] = mapped_column(Date)
    status: Mapped[str] = mapped_column(String(10), default="draft")
    body: Mapped[dict[str, Any]] = mapped_column(JSON)
    source: Mapped[str] = mapped_column(String(200), default="")
    created_by: Mapped[str] = mapped_column(String(100))
    created_at: Mapped[datetime] = mapped_column(TZDateTime(), default=utcnow)
    published_by: Mapped[str | None] = mapped_column(String(100))
    published_at: Mapped[datetime | None] = mapped_column(TZDateTime())

    @property
    def key(self) -> str:
        return f"{self.code}@v{self.version}"

    @property
    def status_label(self) -> str:
        return POLICY_STATUSES.get(self.status, self.status)
