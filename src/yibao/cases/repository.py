"""Queries on cases.  The session's scope (db.scoping) limits every query."""

from __future__ import annotations

import sys
from dataclasses import dataclass
from datetime import date
from typing import Any, TypeVar, cast

from sqlalchemy import Select, func, select
from sqlalchemy.orm import Session

from yibao.cases.models import Case, CaseDiagnosis, CaseProcedure
from yibao.db.scoping import get_scope
from yibao.kit.cache import TTLCache
from yibao.kit.errors import NotFound, ValidationFailed
from yibao.kit.paging import Page
from yibao.kit.timeutil import local, utcnow
from yibao.regions.models import Hospital

#: a SELECT of any columns (SQLAlchemy types a statement by its column types)
SelectT = TypeVar("SelectT", bound=Select[*tuple[Any, ...]])


@dataclass(frozen=True)
class CaseFilter:
    hospital_code: str | None = None
    district: str | None = None
    level: str | None = None
    year: int | None = None
    date_from: date | None = None
    date_to: date | None = None
    insutype: str | None = None
    principal_dx: str | None = None
    q: str | None = None  # setl_id / psn_no / name

    def apply(self, stmt: SelectT) -> SelectT:
        if self.hospital_code:
            stmt = stmt.where(Case.hospital_code == self.hospital_code)
        if self.district:
            stmt = stmt.where(Case.region_code == self.district)
        if self.level:
            stmt = stmt.where(
                Case.hospital_id.in_(select(Hospital.id).where(Hospital.level == self.level))
            )
        if self.year:
            stmt = stmt.where(
                Case.discharge_date >= date(self.year, 1, 1),
                Case.discharge_date <= date(self.year, 12, 31),
            )
        if self.date_from:
            stmt = stmt.where(Case.discharge_date >= self.date_from)
        if self.date_to:
            stmt = stmt.where(Case.discharge_date <= self.date_to)
        if self.insutype:
            stmt = stmt.where(Case.insutype == self.insutype)
        if self.principal_dx:
            # a prefix as a code range, so the index on case_diagnoses.code is used
            prefix = self.principal_dx
            principal = select(CaseDiagnosis.case_id).where(
                CaseDiagnosis.is_principal.is_(True), CaseDiagnosis.code >= prefix
            )
            if prefix[-1] != chr(sys.maxunicode):  # the last code point has no successor
                upper = prefix[:-1] + chr(ord(prefix[-1]) + 1)
                principal = principal.where(CaseDiagnosis.code < upper)
            stmt = stmt.where(Case.id.in_(principal))
        if self.q:
            term = self.q.strip()
            stmt = stmt.where(
                (Case.setl_id == term) | (Case.psn_no == term) | (Case.psn_name == term)
            )
        return stmt


#: totals of case lists per scope and filter (a count over every case in scope)
_TOTALS: TTLCache[int] = TTLCache()


@dataclass(frozen=True)
class CaseRow:
    """A case as a list shows it: plain values, principal codes and hospital name."""

    id: int
    setl_id: str
    hospital_code: str
    hospital_name: str
    region_code: str
    sex: str
    age_years: int | None
    age_days: int | None
    insutype: str
    discharge_date: date
    los_days: int
    total_cost: Any
    principal_dx: str | None
    principal_procedure: str | None


def _principal(model: Any) -> Any:
    return (
        select(model.code)
        .where(model.case_id == Case.id, model.is_principal.is_(True))
        .order_by(model.seq)
        .limit(1)
        .scalar_subquery()
    )


def list_cases(
    session: Session,
    flt: CaseFilter,
    page: int,
    size: int,
    *,
    total_cache_s: float = 0,
) -> Page[CaseRow]:
    """A page of cases, newest discharge first, as plain rows (no ORM objects: a list
    page is read by many users at once).  The total may be up to ``total_cache_s``
    seconds old (counting every case of a region is the costly part); the rows are
    always current."""
    scope = get_scope(session)
    key = (scope, flt) if scope is not None else None
    total = _TOTALS.get(
        key,
        total_cache_s if key is not None else 0,
        lambda: int(session.scalar(flt.apply(select(func.count()).select_from(Case))) or 0),
    )
    stmt = flt.apply(
        select(
            Case.id,
            Case.setl_id,
            Case.hospital_code,
            Hospital.name,
            Case.region_code,
            Case.sex,
            Case.age_years,
            Case.age_days,
            Case.insutype,
            Case.discharge_date,
            Case.los_days,
            Case.total_cost,
            _principal(CaseDiagnosis),
            _principal(CaseProcedure),
        ).join(Hospital, Hospital.id == Case.hospital_id)
    )
    rows = session.execute(
        stmt.order_by(Case.discharge_date.desc(), Case.id.desc())
        .offset((page - 1) * size)
        .limit(size)
    ).all()
    return Page([CaseRow(*cast(tuple[Any, ...], r)) for r in rows], int(total), page, size)


def get_case(session: Session, case_id: int) -> Case:
    """A case in the caller's scope; another hospital's case is simply 'not found'."""
    case = session.scalar(select(Case).where(Case.id == case_id))
    if case is None:
        raise NotFound(f"结算清单 {case_id} 不存在 / case not found")
    return case


def get_case_by_setl_id(session: Session, setl_id: str, hospital_code: str | None = None) -> Case:
    """A case by settlement id in the caller's scope.  Settlement ids are unique per
    hospital: a bureau user who sees several hospitals with the id is asked to name
    the hospital."""
    stmt = select(Case).where(Case.setl_id == setl_id)
    if hospital_code:
        stmt = stmt.where(Case.hospital_code == hospital_code)
    found = session.scalars(stmt.order_by(Case.id).limit(10)).all()
    if not found:
        raise NotFound(f"结算清单 {setl_id} 不存在 / case not found")
    if len(found) > 1:
        codes = "、".join(c.hospital_code for c in found)
        raise ValidationFailed(
            f"结算ID {setl_id} 在多家医疗机构（{codes}）都有："
            "请从结算清单列表打开，或同时指定医疗机构",
            field="setl_id",
        )
    return found[0]


def case_years(session: Session) -> list[int]:
    years = session.execute(
        select(func.min(Case.discharge_date), func.max(Case.discharge_date))
    ).one()
    if years[0] is None:
        return []
    return list(range(years[1].year, years[0].year - 1, -1))


def complete_years(years: list[int], today: date | None = None) -> list[int]:
    """Of ``years``, those already over (before the current year in business time):
    what measurement, rate plans and indices default to — never the partial current
    year (ascending)."""
    current = (today or local(utcnow()).date()).year
    return sorted(y for y in years if y < current)
