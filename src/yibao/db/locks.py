"""Transaction-scoped locks on things that are not rows yet.

Two requests that create the same new row (two parallel uploads of one settlement
list, say: a HIS retrying a request it thinks timed out) would both find it absent
and one would fail on the unique constraint.  :func:`hold` makes the second wait
until the first commits, so it then finds the row and takes the path a later
request takes.  On PostgreSQL these are transaction advisory locks
(``pg_advisory_xact_lock``), released at commit or rollback; SQLite's writers are
serialised already (``BEGIN IMMEDIATE``, see :mod:`yibao.db.session`)."""

from __future__ import annotations

import zlib
from collections.abc import Iterable

from sqlalchemy import func, select
from sqlalchemy.orm import Session


def namespace(name: str) -> int:
    """A stable 32-bit key for a kind of lock (PostgreSQL's two-key form)."""
    return zlib.crc32(name.encode()) - 2**31


def hold(session: Session, name: str, keys: Iterable[int]) -> None:
    """Lock ``keys`` of the kind ``name`` until the session's transaction ends, in
    ascending order (two callers taking overlapping sets cannot deadlock)."""
    if session.get_bind().dialect.name != "postgresql":
        return
    space = namespace(name)
    for key in sorted(set(keys)):
        session.execute(select(func.pg_advisory_xact_lock(space, key)))
