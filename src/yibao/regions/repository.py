"""Queries on hospitals and regions (scoped by the session)."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from yibao.cases.models import Case
from yibao.db.scoping import get_scope
from yibao.kit.cache import TTLCache
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


@dataclass(frozen=True)
class HospitalChoice:
    """A hospital as a filter or form choice."""

    code: str
    name: str
    level: str
    region_code: str


#: the hospitals a scope may choose from (the register changes rarely)
_CHOICES: TTLCache[list[HospitalChoice]] = TTLCache()


def hospital_choices(session: Session, *, cache_s: float = 0) -> list[HospitalChoice]:
    """Every hospital in the session's scope, best level first, for drop-down lists;
    at most ``cache_s`` seconds old."""

    def load() -> list[HospitalChoice]:
        rows = session.execute(
            select(Hospital.code, Hospital.name, Hospital.level, Hospital.region_code).order_by(
                Hospital.level.desc(), Hospital.code
            )
        )
        return [HospitalChoice(*r) for r in rows]

    scope = get_scope(session)
    return _CHOICES.get(scope, cache_s if scope is not None else 0, load)


#: cases per hospital (a count over every case of the hospitals shown)
_CASE_COUNTS: TTLCache[dict[int, int]] = TTLCache()


def case_counts(session: Session, hospital_ids: list[int], *, cache_s: float = 0) -> dict[int, int]:
    """Stored cases per hospital id, at most ``cache_s`` seconds old."""

    if not hospital_ids:
        return {}

    def load() -> dict[int, int]:
        rows = session.execute(
            select(Case.hospital_id, func.count(Case.id))
            .where(Case.hospital_id.in_(hospital_ids))
            .group_by(Case.hospital_id)
        )
        return {int(h): int(n) for h, n in rows}

    scope = get_scope(session)
    key = (scope, tuple(sorted(hospital_ids)))
    return _CASE_COUNTS.get(key, cache_s if scope is not None else 0, load)


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


def hospital_ids(session: Session, codes: set[str]) -> dict[str, int]:
    """The ids of the hospitals with these codes, in the session's scope."""
    if not codes:
        return {}
    rows = session.execute(select(Hospital.code, Hospital.id).where(Hospital.code.in_(codes)))
    return {str(code): int(hid) for code, hid in rows}
