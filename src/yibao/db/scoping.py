"""Data scoping enforced in the ORM session, below the HTTP layer: the base of every
domain's tables.

A session carries a :class:`Scope` in ``session.info["scope"]``.  Every ORM SELECT,
UPDATE and DELETE on a scoped entity gets the scope's criteria added, and a flush that
would write a row outside the scope is refused.  Scoped entities are the rows that
belong to one hospital in one region (:class:`ScopedRow`: cases, groupings, settlement
lists, jobs …) and the hospitals themselves (:class:`HospitalRow`, whose own id is the
hospital).  A hospital user therefore cannot read or change another hospital's rows
even through a query written carelessly; a bureau user only sees its region subtree.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from typing import Any

from sqlalchemy import ForeignKey, String, event
from sqlalchemy.orm import Mapped, ORMExecuteState, Session, mapped_column, with_loader_criteria

from yibao.kit.errors import Forbidden


def region_prefix(code: str) -> str:
    """Codes of a region's subtree share this prefix: 990000 → 99, 990100 → 9901."""
    if code.endswith("0000"):
        return code[:2]
    if code.endswith("00"):
        return code[:4]
    return code


class ScopedRow:
    """Mixin for rows that belong to one hospital in one region (scoped rows)."""

    hospital_id: Mapped[int] = mapped_column(ForeignKey("hospitals.id"))
    region_code: Mapped[str] = mapped_column(String(6))


class HospitalRow:
    """Mixin for the hospital register: the row's own ``id`` is the hospital a scope
    names, its ``region_code`` the region it lies in."""

    id: Mapped[int] = mapped_column(primary_key=True)
    region_code: Mapped[str] = mapped_column(String(6), ForeignKey("regions.code"), index=True)


@dataclass(frozen=True)
class Scope:
    """What rows a principal may touch.  ``global`` scope is for system jobs only."""

    hospital_id: int | None = None
    region_code: str | None = None
    is_global: bool = False

    @property
    def region_prefix(self) -> str | None:
        return region_prefix(self.region_code) if self.region_code else None

    def allows(self, hospital_id: int | None, region_code: str | None) -> bool:
        if self.is_global:
            return True
        if self.hospital_id is not None:
            return hospital_id == self.hospital_id
        prefix = self.region_prefix
        return prefix is not None and region_code is not None and region_code.startswith(prefix)


SYSTEM_SCOPE = Scope(is_global=True)


def set_scope(session: Session, scope: Scope) -> None:
    session.info["scope"] = scope


def get_scope(session: Session) -> Scope | None:
    return session.info.get("scope")


@event.listens_for(Session, "do_orm_execute")
def _add_scope_criteria(state: ORMExecuteState) -> None:
    scope: Scope | None = state.session.info.get("scope")
    if scope is None or scope.is_global:
        return
    if not (state.is_select or state.is_update or state.is_delete):
        return
    if state.execution_options.get("skip_scope"):
        return
    state.statement = state.statement.options(*_criteria(scope))


@functools.lru_cache(maxsize=4096)
def _criteria(scope: Scope) -> tuple[Any, ...]:
    """The loader criteria of ``scope``, built once per scope: building them (two
    lambda criteria) for every statement cost a twentieth of a busy request's CPU."""
    if scope.hospital_id is not None:
        hid = scope.hospital_id
        return (
            with_loader_criteria(
                ScopedRow, lambda cls: cls.hospital_id == hid, include_aliases=True
            ),
            with_loader_criteria(HospitalRow, lambda cls: cls.id == hid, include_aliases=True),
        )
    prefix = scope.region_prefix or "\x00no-region"
    return (
        with_loader_criteria(
            ScopedRow, lambda cls: cls.region_code.startswith(prefix), include_aliases=True
        ),
        with_loader_criteria(
            HospitalRow, lambda cls: cls.region_code.startswith(prefix), include_aliases=True
        ),
    )


@event.listens_for(Session, "before_flush")
def _check_scope_on_write(session: Session, _ctx: object, _instances: object) -> None:
    scope: Scope | None = session.info.get("scope")
    if scope is None or scope.is_global:
        return
    for obj in list(session.new) + list(session.dirty) + list(session.deleted):
        if isinstance(obj, ScopedRow):
            ok = scope.allows(obj.hospital_id, obj.region_code)
        elif isinstance(obj, HospitalRow):
            ok = scope.allows(obj.id, obj.region_code)
        else:
            continue
        if not ok:
            raise Forbidden("无权修改其他机构或地区的数据 / row outside your scope")
