"""Settlement periods (结算期间): one per month and region."""

from __future__ import annotations

from datetime import date

from sqlalchemy import Date, ForeignKey, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from yibao.db.base import Base

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
