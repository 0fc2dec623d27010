"""Write audit rows in the caller's transaction (never commits)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Any, cast

from sqlalchemy import Table, insert
from sqlalchemy.orm import Session

from yibao.audit.models import AuditLog
from yibao.kit.timeutil import utcnow


@dataclass(frozen=True)
class Actor:
    """Who does something: a user, or the system (``user_id`` None)."""

    user_id: int | None
    name: str
    region_code: str | None = None
    hospital_id: int | None = None
    ip: str | None = None


SYSTEM = Actor(user_id=None, name="system")


def _jsonable(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    if isinstance(value, (Decimal, date, datetime)):
        return str(value)
    return value


def record(
    session: Session,
    actor: Actor,
    action: str,
    object_type: str,
    object_id: str | int | None,
    before: dict[str, Any] | None = None,
    after: dict[str, Any] | None = None,
    *,
    region_code: str | None = None,
    hospital_id: int | None = None,
) -> AuditLog:
    """Add one audit row to the session; it commits (or not) with the change itself."""
    values = _values(actor, action, object_type, object_id, before, after, region_code, hospital_id)
    row = AuditLog(**values)
    session.add(row)
    return row


def record_now(
    session: Session,
    actor: Actor,
    action: str,
    object_type: str,
    object_id: str | int | None,
    before: dict[str, Any] | None = None,
    after: dict[str, Any] | None = None,
    *,
    region_code: str | None = None,
    hospital_id: int | None = None,
) -> None:
    """:func:`record`, written at once in the session's transaction by one prebuilt
    statement instead of through the unit of work (it commits or rolls back with the
    change all the same): for busy paths — the gateway's settlement — whose row
    refers to nothing still pending in the session."""
    values = _values(actor, action, object_type, object_id, before, after, region_code, hospital_id)
    session.connection().execute(_INSERT, values)


_INSERT = insert(cast(Table, AuditLog.__table__))


def _values(
    actor: Actor,
    action: str,
    object_type: str,
    object_id: str | int | None,
    before: dict[str, Any] | None,
    after: dict[str, Any] | None,
    region_code: str | None,
    hospital_id: int | None,
) -> dict[str, Any]:
    return {
        "at": utcnow(),
        "actor_id": actor.user_id,
        "actor_name": actor.name,
        "action": action,
        "object_type": object_type,
        "object_id": None if object_id is None else str(object_id),
        "before": _jsonable(before) if before is not None else None,
        "after": _jsonable(after) if after is not None else None,
        "region_code": region_code if region_code is not None else actor.region_code,
        "hospital_id": hospital_id if hospital_id is not None else actor.hospital_id,
        "ip": actor.ip,
    }
