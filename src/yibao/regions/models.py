"""Regions (医保区划 admdvs) and medical institutions (定点医疗机构)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import CheckConstraint, ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column

from yibao.db.base import Base, TZDateTime
from yibao.kit.timeutil import utcnow

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


class Hospital(Base):
    __tablename__ = "hospitals"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(12), unique=True)
    name: Mapped[str] = mapped_column(String(100))
    level: Mapped[str] = mapped_column(String(1))
    region_code: Mapped[str] = mapped_column(String(6), ForeignKey("regions.code"), index=True)
    created_at: Mapped[datetime] = mapped_column(TZDateTime(), default=utcnow)

    __table_args__ = (
        CheckConstraint("length(code) = 12", name="code_len"),
        CheckConstraint("level in ('1','2','3')", name="level"),
    )

    @property
    def level_name(self) -> str:
        return HOSPITAL_LEVELS.get(self.level, self.level)


def region_prefix(code: str) -> str:
    """Codes of a region's subtree share this prefix: 990000 → 99, 990100 → 9901."""
    if code.endswith("0000"):
        return code[:2]
    if code.endswith("00"):
        return code[:4]
    return code
