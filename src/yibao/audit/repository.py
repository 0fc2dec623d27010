"""Reading the audit log (the page and its filters)."""

from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from yibao.audit.models import AuditLog
from yibao.kit.paging import Page
from yibao.regions.models import region_prefix


def audit_rows(
    session: Session,
    region_code: str | None,
    *,
    action: str = "",
    actor: str = "",
    each_list: bool = False,
    page: int = 1,
    size: int = 50,
) -> Page[AuditLog]:
    """Rows of the viewer's region (and system-wide rows), newest first.  Unless
    ``each_list``, the per-list rows written by a bulk action are left out: its own
    summary row (``settlement.bulk_approve``) stands for them."""
    prefix = region_prefix(region_code or "")
    stmt = select(AuditLog).where(
        AuditLog.region_code.startswith(prefix) | AuditLog.region_code.is_(None)
    )
    if action:
        stmt = stmt.where(AuditLog.action.startswith(action))
    if actor:
        stmt = stmt.where(AuditLog.actor_name == actor)
    if not each_list:
        bulk = AuditLog.after["bulk"].as_boolean()
        stmt = stmt.where(bulk.is_(None) | (bulk == False))  # noqa: E712  (SQL, not Python)
    total = session.scalar(select(func.count()).select_from(stmt.subquery())) or 0
    rows = session.scalars(
        stmt.order_by(AuditLog.id.desc()).offset((page - 1) * size).limit(size)
    ).all()
    return Page(list(rows), int(total), page, size)


def audit_actions(session: Session) -> list[str]:
    return [
        a for (a,) in session.execute(select(AuditLog.action).distinct().order_by(AuditLog.action))
    ]
