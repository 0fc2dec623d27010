"""Settlement storage: periods (结算期间), received settlement lists with their versions
and QC findings, and the pricing of each accepted case."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import JSON, Date, ForeignKey, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from yibao.cases.models import ScopedRow
from yibao.db.base import Base, Money, TZDateTime
from yibao.kit.timeutil import utcnow

PERIOD_STATUSES = {"open": "未结算", "closed": "已结算"}


class SettlementPeriod(Base):
    __tablename__ = "settlement_periods"

    id: Mapped[int] = mapped_column(primary_key=True)
    region_code: Mapped[str] = mapped_column(String(6), ForeignKey("regions.code"))
    code: Mapped[str] = mapped_column(String(7))  # YYYY-MM
    start_date: Mapped[date] = mapped_column(Date)
    end_date: Mapped[date] = mapped_column(Date)
    status: Mapped[str] = mapped_column(String(10), default="open")

    __table_args__ = (UniqueConstraint("region_code", "code"),)

    @property
    def status_label(self) -> str:
        return PERIOD_STATUSES.get(self.status, self.status)


# --------------------------------------------------------------------------- intake


class SettlementList(ScopedRow, Base):
    """A hospital's settlement list (结算清单) as received: current version and state.

    Re-submitting the same ``setl_id`` makes a new version (history in
    :class:`SettlementListVersion`); a list in a confirmed settlement can't be replaced.
    """

    __tablename__ = "settlement_lists"

    id: Mapped[int] = mapped_column(primary_key=True)
    setl_id: Mapped[str] = mapped_column(String(40))
    hospital_code: Mapped[str] = mapped_column(String(12))
    version: Mapped[int] = mapped_column(Integer, default=1)
    state: Mapped[str] = mapped_column(String(20))
    case_id: Mapped[int | None] = mapped_column(
        ForeignKey("cases.id", ondelete="SET NULL"), index=True
    )
    blocking: Mapped[int] = mapped_column(Integer, default=0)
    warnings: Mapped[int] = mapped_column(Integer, default=0)
    source: Mapped[str] = mapped_column(String(10))
    raw: Mapped[dict[str, Any]] = mapped_column(JSON)
    received_at: Mapped[datetime] = mapped_column(TZDateTime(), default=utcnow)

    __table_args__ = (UniqueConstraint("hospital_id", "setl_id"),)


class SettlementListVersion(Base):
    __tablename__ = "settlement_list_versions"

    id: Mapped[int] = mapped_column(primary_key=True)
    list_id: Mapped[int] = mapped_column(
        ForeignKey("settlement_lists.id", ondelete="CASCADE"), index=True
    )
    version: Mapped[int] = mapped_column(Integer)
    raw: Mapped[dict[str, Any]] = mapped_column(JSON)
    state: Mapped[str] = mapped_column(String(20))
    received_by: Mapped[str] = mapped_column(String(100))
    received_at: Mapped[datetime] = mapped_column(TZDateTime(), default=utcnow)


class QcFinding(Base):
    __tablename__ = "qc_findings"

    id: Mapped[int] = mapped_column(primary_key=True)
    list_id: Mapped[int] = mapped_column(
        ForeignKey("settlement_lists.id", ondelete="CASCADE"), index=True
    )
    rule_id: Mapped[str] = mapped_column(String(10))
    severity: Mapped[str] = mapped_column(String(10))
    field: Mapped[str] = mapped_column(String(100))
    value: Mapped[str | None] = mapped_column(String(200))
    message: Mapped[str] = mapped_column(String(1000))


class CasePricing(ScopedRow, Base):
    """The DRG payment of a case with the standard used and the formula terms."""

    __tablename__ = "case_pricings"

    case_id: Mapped[int] = mapped_column(
        ForeignKey("cases.id", ondelete="CASCADE"), primary_key=True
    )
    plan_id: Mapped[str | None] = mapped_column(String(40))
    standard_set_id: Mapped[int | None] = mapped_column(Integer)
    drg: Mapped[str] = mapped_column(String(10))
    payment_class: Mapped[str] = mapped_column(String(20))
    payment_standard: Mapped[Decimal | None] = mapped_column(Money())
    drg_payment: Mapped[Decimal] = mapped_column(Money())
    fund_amount: Mapped[Decimal] = mapped_column(Money())
    explanation: Mapped[str] = mapped_column(String(1000))
    terms: Mapped[dict[str, Any]] = mapped_column(JSON)
    priced_at: Mapped[datetime] = mapped_column(TZDateTime(), default=utcnow)
