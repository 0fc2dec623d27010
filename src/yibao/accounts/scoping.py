"""Data scoping enforced in the ORM session, below the HTTP layer.

A session carries a :class:`Scope` in ``session.info["scope"]``.  Every ORM SELECT,
UPDATE and DELETE on a scoped entity (cases and any row with ``hospital_id`` /
``region_code`` via :class:`~yibao.cases.models.ScopedRow`, and hospitals) gets the
scope's criteria added, and a flush that would write a row outside the scope is
refused.  A hospital user therefore cannot read or change another hospital's rows
even through a query written carelessly; a bureau user only sees its region subtree.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import event
from sqlalchemy.orm import ORMExecuteState, Session, with_loader_criteria

from yibao.cases.models import ScopedRow
from yibao.kit.errors import Forbidden
from yibao.regions.models import Hospital, region_prefix


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
    if scope.hospital_id is not None:
        hid = scope.hospital_id
        state.statement = state.statement.options(
            with_loader_criteria(
                ScopedRow, lambda cls: cls.hospital_id == hid, include_aliases=True
            ),
            with_loader_criteria(Hospital, lambda cls: cls.id == hid, include_aliases=True),
        )
    else:
        prefix = scope.region_prefix or "\x00no-region"
        state.statement = state.statement.options(
            with_loader_criteria(
                ScopedRow, lambda cls: cls.region_code.startswith(prefix), include_aliases=True
            ),
            with_loader_criteria(
                Hospital, lambda cls: cls.region_code.startswith(prefix), include_aliases=True
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
        elif isinstance(obj, Hospital):
            ok = scope.allows(obj.id, obj.region_code)
        else:
            continue
        if not ok:
            raise Forbidden("无权修改其他机构或地区的数据 / row outside your scope")
