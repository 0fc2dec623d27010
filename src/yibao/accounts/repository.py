"""Queries on users.  The session's scope (db.scoping) limits the hospitals they see."""

from __future__ import annotations

from sqlalchemy import ColumnElement, func, select
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


def username_is(username: str) -> ColumnElement[bool]:
    """The condition "this user's username is ``username``, whatever its case".

    Usernames are unique regardless of case and a login matches them so (ADR 0046);
    the expression is the one the unique index ``uq_users_username_lower`` is on, so
    the lookup uses it.  Usernames are ASCII (``USERNAME_RE``): a name with other
    characters is compared as typed and so matches none (Python's ``lower`` folds some
    of them, the Kelvin sign to ``k``, the database's does not).
    """
    folded = username.lower() if username.isascii() else username
    return func.lower(User.username) == folded


def user_by_username(session: Session, username: str) -> User | None:
    """The user whose username is ``username`` in any case (None: no such user)."""
    return session.scalar(select(User).where(username_is(username)))
