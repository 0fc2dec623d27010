"""What every versioned-data domain does the same way (house rule 1): who may maintain
a region's versions, and how publishing a version meets the published ones before it.

Catalogue versions (ADR 0016), benefit policies (ADR 0013), knowledge versions and
rule sets (ADR 0021) all have a region, ``valid_from`` / ``valid_to`` and a status;
publishing closes the open earlier version of the same scope the day before the new
one starts (audited) and refuses any other overlap.  The domains keep their own
words: the caller passes the messages.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import date, timedelta
from typing import Any, Protocol

from sqlalchemy import ColumnElement, select
from sqlalchemy.orm import Session

from yibao.audit.service import Actor, record
from yibao.kit.errors import Conflict, Forbidden
from yibao.regions.models import region_prefix


class Versioned(Protocol):
    """A stored version: an id, a region, a validity window and a status."""

    id: Any
    region_code: str
    valid_from: date
    valid_to: date | None
    status: str


def check_manages(actor: Actor, region_code: str, what: str) -> None:
    """403 unless ``actor`` may maintain ``what`` of ``region_code`` (a region under its
    own; a hospital user never)."""
    if actor.region_code and not region_code.startswith(region_prefix(actor.region_code)):
        raise Forbidden(
            f"无权维护区划 {region_code} 的{what}：只能维护本辖区（{actor.region_code}）的{what}",
            code="region",
        )
    if actor.hospital_id is not None:
        raise Forbidden(f"医疗机构不能维护{what}", code="region")


def close_earlier(
    session: Session,
    row: Versioned,
    same_scope: Sequence[ColumnElement[bool]],
    *,
    actor: Actor,
    action: str,
    object_type: str,
    conflict: Callable[[Any], str],
    closed_by: Callable[[Versioned], Any] = lambda r: r.id,
) -> list[Any]:
    """Before publishing ``row``: published versions of its scope (``same_scope``, the
    model's own filters, excluding drafts and ``row``) whose window meets ``row``'s.
    An open earlier one is closed the day before ``row`` starts (audited, ``action``);
    any other overlap is a 409 with ``conflict(prev)`` as the message."""
    model: Any = type(row)
    overlapping = []
    for prev in session.scalars(
        select(model).where(*same_scope, model.status != "draft", model.id != row.id)
    ):
        ends = prev.valid_to or date.max
        if not (prev.valid_from <= (row.valid_to or date.max) and row.valid_from <= ends):
            continue
        if prev.valid_from >= row.valid_from or prev.valid_to is not None:
            raise Conflict(conflict(prev), field="valid_from")
        overlapping.append(prev)
    for prev in overlapping:
        before = {"valid_to": prev.valid_to}
        prev.valid_to = row.valid_from - timedelta(days=1)
        record(
            session,
            actor,
            action,
            object_type,
            prev.id,
            before=before,
            after={"valid_to": prev.valid_to, "closed_by_version": closed_by(row)},
            region_code=prev.region_code,
        )
    return overlapping
