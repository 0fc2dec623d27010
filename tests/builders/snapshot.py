"""Expensive read-mostly worlds built once per test process, then copied.

:func:`cached` runs a builder (the demo seed, a priced settlement world …) on the
empty database of the first test that asks for it and keeps a copy of every row;
each later test that asks for the same key gets that copy written into its own,
freshly emptied database instead of building it again.  A test that writes still
writes to its own copy: nothing is shared between tests but the saved rows.

* **SQLite**: the whole database file is copied with SQLite's backup API (page by
  page, milliseconds for a few megabytes), so the copy is exact — sequences, the
  Alembic version and all.
* **PostgreSQL**: every table is copied into a schema of its own (``snap_<key>``) in
  the worker's database; restoring inserts the rows back in foreign-key order (the
  checks run at the end of each statement, so rows of a table that refer to one
  another load together) and sets every sequence where the builder left it.

A builder must start from the empty database the ``db`` fixture gives, write only to
the database (no files, no process state a later test relies on) and commit; what it
returns is kept and handed out again, so it must not hold ORM objects or a client.
"""

from __future__ import annotations

import atexit
import copy
import re
import shutil
import sqlite3
import tempfile
from collections.abc import Callable
from contextlib import closing
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

from sqlalchemy import Connection, Engine, literal, select, text
from sqlalchemy.orm import Session

from yibao.db.models import Base
from yibao.supervision import notify

T = TypeVar("T")


@dataclass
class _Saved:
    result: Any
    sqlite_file: Path | None = None
    schema: str = ""
    tables: list[str] = field(default_factory=list)  # the non-empty ones, parents first
    sequences: dict[str, int | None] = field(default_factory=dict)


_SAVED: dict[tuple[str, str], _Saved] = {}
_DIR: list[Path] = []


def cached(session: Session, key: str, build: Callable[[Session], T]) -> T:
    """``build(session)`` on this (empty) database the first time ``key`` is asked for
    in this process; afterwards the rows it left are copied in and its result returned."""
    engine = session.get_bind()
    assert isinstance(engine, Engine)
    session.commit()  # no transaction left open on our side while tables are rewritten
    _require_empty(session)
    slot = (engine.url.render_as_string(hide_password=False), key)
    saved = _SAVED.get(slot)
    if saved is None:
        result = build(session)
        session.commit()
        _SAVED[slot] = _save(session, key, copy.deepcopy(result))
        return result
    _restore(session, saved)
    return copy.deepcopy(saved.result)  # type: ignore[no-any-return]


def _require_empty(session: Session) -> None:
    """A cached world replaces the whole database: refuse if the test wrote first."""
    filled = [
        t.name
        for t in Base.metadata.sorted_tables
        if session.execute(select(literal(1)).select_from(t).limit(1)).first()
    ]
    assert not filled, f"cached world asked for after rows were written to {filled}"


def _sqlite_path(engine: Engine) -> str:
    path = engine.url.database
    assert path and path != ":memory:", engine.url
    return path


def _copy_sqlite(source: str | Path, target: str | Path) -> None:
    """SQLite's online backup: ``target`` becomes a page-for-page copy of ``source``."""
    with closing(sqlite3.connect(source)) as src, closing(sqlite3.connect(target)) as dst:
        src.backup(dst)


def _save(session: Session, key: str, result: Any) -> _Saved:
    engine = session.get_bind()
    assert isinstance(engine, Engine)
    if engine.dialect.name == "sqlite":
        if not _DIR:
            _DIR.append(Path(tempfile.mkdtemp(prefix="yibao-snapshots-")))
            atexit.register(shutil.rmtree, _DIR[0], ignore_errors=True)
        target = _DIR[0] / f"{re.sub(r'[^a-z0-9]+', '_', key.lower())}-{len(_SAVED)}.db"
        _copy_sqlite(_sqlite_path(engine), target)
        return _Saved(result, sqlite_file=target)
    schema = f"snap_{len(_SAVED)}_{re.sub(r'[^a-z0-9]+', '_', key.lower())}"[:60]
    conn = session.connection()
    conn.execute(text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
    conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    tables = []
    for t in Base.metadata.sorted_tables:
        conn.execute(text(f'CREATE TABLE "{schema}"."{t.name}" AS TABLE public."{t.name}"'))
        if conn.execute(text(f'SELECT 1 FROM "{schema}"."{t.name}" LIMIT 1')).first():
            tables.append(t.name)
    rows = conn.execute(
        text("SELECT sequencename, last_value FROM pg_sequences WHERE schemaname = 'public'")
    )
    sequences: dict[str, int | None] = dict(rows.all())
    session.commit()
    return _Saved(result, schema=schema, tables=tables, sequences=sequences)


def _restore(session: Session, saved: _Saved) -> None:
    engine = session.get_bind()
    assert isinstance(engine, Engine)
    if saved.sqlite_file is not None:
        _copy_sqlite(saved.sqlite_file, _sqlite_path(engine))
    else:
        _restore_postgres(session.connection(), saved)
        session.commit()
    session.expire_all()
    # rule and standards caches are keyed by ids: forget what an earlier test read
    notify.changed("test database restored from a snapshot")


def _restore_postgres(conn: Connection, saved: _Saved) -> None:
    for name in saved.tables:
        conn.execute(text(f'INSERT INTO public."{name}" SELECT * FROM "{saved.schema}"."{name}"'))
    for name, value in saved.sequences.items():
        if value is None:
            conn.execute(text("SELECT setval(:s, 1, false)"), {"s": f'public."{name}"'})
        else:
            conn.execute(text("SELECT setval(:s, :v, true)"), {"s": f'public."{name}"', "v": value})
