"""Catalogue versions and their entries.

A version belongs to one region (a pooling region ``xxxx00`` or a province
``xx0000``), has validity dates and a status (draft → published).  Its entries are
replaced as a whole while it is a draft; once published, neither the version nor an
entry changes, except that publishing a later version of the same region closes the
open earlier one the day before (audited).  Restrictions (限定支付范围) live in each
entry's ``restrictions`` JSON, typed by :mod:`yibao.engines.catalogue.restrictions`.
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import JSON, Date, ForeignKey, Integer, Numeric, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from yibao.db.base import Base, Money, TZDateTime
from yibao.kit.timeutil import utcnow

VERSION_STATUSES = {"draft": "草稿", "published": "已发布"}


class CatalogueVersion(Base):
    """One version of a region's catalogue."""

    __tablename__ = "catalogue_versions"

    id: Mapped[int] = mapped_column(primary_key=True)
    region_code: Mapped[str] = mapped_column(String(6), index=True)
    region_name: Mapped[str] = mapped_column(String(50), default="")
    name: Mapped[str] = mapped_column(String(100))
    valid_from: Mapped[date] = mapped_column(Date)
    valid_to: Mapped[date | None] = mapped_column(Date)
    status: Mapped[str] = mapped_column(String(10), default="draft")
    entry_count: Mapped[int] = mapped_column(Integer, default=0)
    checksum: Mapped[str | None] = mapped_column(String(64))
    source: Mapped[str] = mapped_column(String(200), default="")
    note: Mapped[str] = mapped_column(String(500), default="")
    created_by: Mapped[str] = mapped_column(String(100))
    created_at: Mapped[datetime] = mapped_column(TZDateTime(), default=utcnow)
    published_by: Mapped[str | None] = mapped_column(String(100))
    published_at: Mapped[datetime | None] = mapped_column(TZDateTime())

    @property
    def status_label(self) -> str:
        return VERSION_STATUSES.get(self.status, self.status)


class CatalogueEntry(Base):
    """One item of a version: a drug, a service item or a consumable."""

    __tablename__ = "catalogue_entries"
    __table_args__ = (
        UniqueConstraint("version_id", "code", name="uq_catalogue_entries_version_code"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    version_id: Mapped[int] = mapped_column(
        ForeignKey("catalogue_versions.id", ondelete="CASCADE"), index=True
    )
    code: Mapped[str] = mapped_column(String(50))
    name: Mapped[str] = mapped_column(String(200))
    kind: Mapped[str] = mapped_column(String(10))
    fee_type: Mapped[str] = mapped_column(String(2))
    chrgitm_lv: Mapped[str] = mapped_column(String(2))
    selfpay_prop: Mapped[Decimal] = mapped_column(Numeric(5, 4, asdecimal=True))
    cap_lv1: Mapped[Decimal | None] = mapped_column(Money())
    cap_lv2: Mapped[Decimal | None] = mapped_column(Money())
    cap_lv3: Mapped[Decimal | None] = mapped_column(Money())
    unit: Mapped[str] = mapped_column(String(20), default="")
    spec: Mapped[str] = mapped_column(String(100), default="")
    limit_text: Mapped[str] = mapped_column(String(500), default="")
    restrictions: Mapped[list[dict[str, Any]] | None] = mapped_column(JSON)
