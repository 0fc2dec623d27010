"""Queries on users.  The session's scope (db.scoping) limits the hospitals they see."""

from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from yibao.accounts.models import User
from yibao.kit.paging import Page
from yibao.regions.models import Hospital, region_prefix


def users_in_reach(session: Session, admin: User, page: int, size: int) -> Page[User]:
    """The users an administrator sees: those of its region and its subregions, and
    those of the hospitals in the session's scope."""
    prefix = region_prefix(admin.region_code or "")
    hospital_ids = select(Hospital.id)  # scoped by the session to the admin's region
    stmt = select(User).where(
        User.region_code.startswith(prefix) | User.hospital_id.in_(hospital_ids)
    )
    total = session.scalar(select(func.count()).select_from(stmt.subquery())) or 0
    rows = session.scalars(stmt.order_by(User.id).offset((page - 1) * size).limit(size)).all()
    return Page(list(rows), int(total), page, size)
