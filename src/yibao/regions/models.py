"""Regions (医保区划 admdvs) and medical institutions (定点医疗机构)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import CheckConstraint, ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column

from yibao.db.base import Base, TZDateTime
from yibao.db.scoping import HospitalRow, region_prefix
from yibao.kit.timeutil import utcnow

__all__ = ["HOSPITAL_LEVELS", "REGION_LEVELS", "Hospital", "Region", "region_prefix"]

REGION_LEVELS = {"province": "省", "city": "市", "district": "区县"}
HOSPITAL_LEVELS = {"1": "一级", "2": "二级", "3": "三级"}


class Region(Base):
    __tablename__ = "regions"

    code: Mapped[str] = mapped_column(String(6), primary_key=True)
    name: Mapped[str] = mapped_column(String(100))
    level: Mapped[str] = mapped_column(String(10))
    parent_code: Mapped[str | None] = mapped_column(String(6), ForeignKey("regions.code"))

    __table_args__ = (
        CheckConstraint("length(code) = 6", name="code_len"),
        CheckConstraint("level in ('province','city','district')", name="level"),
    )


class Hospital(HospitalRow, Base):
    __tablename__ = "hospitals"

    code: Mapped[str] = mapped_column(String(12), unique=True)
    name: Mapped[str] = mapped_column(String(100))
    level: Mapped[str] = mapped_column(String(1))
    created_at: Mapped[datetime] = mapped_column(TZDateTime(), default=utcnow)

    __table_args__ = (
        CheckConstraint("length(code) = 12", name="code_len"),
        CheckConstraint("level in ('1','2','3')", name="level"),
    )

    @property
    def level_name(self) -> str:
        return HOSPITAL_LEVELS.get(self.level, self.level)
