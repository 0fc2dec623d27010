"""Queries on hospitals and regions (scoped by the session)."""

from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from yibao.kit.errors import NotFound
from yibao.kit.paging import Page
from yibao.regions.models import Hospital, Region, region_prefix


def list_hospitals(
    session: Session,
    *,
    district: str | None = None,
    level: str | None = None,
    q: str | None = None,
    page: int = 1,
    size: int = 50,
) -> Page[Hospital]:
    stmt = select(Hospital)
    if district:
        stmt = stmt.where(Hospital.region_code == district)
    if level:
        stmt = stmt.where(Hospital.level == level)
    if q:
        stmt = stmt.where(Hospital.name.contains(q.strip()) | (Hospital.code == q.strip()))
    total = session.scalar(select(func.count()).select_from(stmt.subquery())) or 0
    rows = session.scalars(
        stmt.order_by(Hospital.level.desc(), Hospital.code).offset((page - 1) * size).limit(size)
    ).all()
    return Page(list(rows), int(total), page, size)


def get_hospital_by_code(session: Session, code: str) -> Hospital:
    hospital = session.scalar(select(Hospital).where(Hospital.code == code))
    if hospital is None:
        raise NotFound(f"医疗机构 {code} 不存在 / hospital not found")
    return hospital


def districts_under(session: Session, region_code: str | None) -> list[Region]:
    """Districts (and the region itself) under a region code, for filters."""
    stmt = select(Region).order_by(Region.code)
    if region_code:
        stmt = stmt.where(Region.code.startswith(region_prefix(region_code)))
    return list(session.scalars(stmt))
