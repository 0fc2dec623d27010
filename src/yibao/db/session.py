"""Engine and session factories.  Created on demand, never at import time.

Concurrency model (ADR 0009):

* **SQLite** allows one writer at a time.  pysqlite's own transaction handling is
  switched off and SQLAlchemy emits the ``BEGIN`` itself.  Work that writes (request
  handlers of POST/PUT/DELETE, jobs, the command line) binds to :func:`writer`:
  ``BEGIN IMMEDIATE`` takes the write lock *when the transaction starts* and waits
  for it (``busy_timeout``) instead of failing half-way with "database is locked"
  (a deferred transaction that read first cannot wait: SQLite refuses its upgrade
  at once when another writer committed meanwhile).  Read-only work (GET pages,
  health checks) starts a deferred transaction that never waits for writers (WAL).
  Writers from several threads or processes are therefore serialised, and a request
  that cannot get the lock within the timeout gets a clear 503, never a 500.
* **PostgreSQL** runs transactions side by side; ids come from sequences
  (:func:`yibao.db.bulk.reserve_ids`), the connection pool is sized for the
  request threads (``YIBAO_DB_POOL_SIZE``), a lock wait longer than
  ``YIBAO_DB_LOCK_TIMEOUT_S`` ends with a clear 503 rather than a hung request, and
  the server closes a session left idle inside a transaction.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from functools import lru_cache
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, Engine, create_engine, event
from sqlalchemy.orm import Session, sessionmaker

from yibao.config import get_settings

#: execution option read by the SQLite ``begin`` hook: ``IMMEDIATE`` or ``DEFERRED``
SQLITE_BEGIN = "yibao_sqlite_begin"
#: execution option: how long (ms) a transaction waits for a lock before giving up
LOCK_WAIT_MS = "yibao_lock_wait_ms"


def make_engine(
    url: str,
    *,
    pool_size: int | None = None,
    max_overflow: int | None = None,
    busy_timeout_s: float | None = None,
    lock_timeout_s: float | None = None,
) -> Engine:
    """Create an engine (SQLite: WAL, foreign keys, busy timeout, BEGIN IMMEDIATE)."""
    settings = get_settings()
    if url.startswith("sqlite"):
        return _sqlite_engine(
            url, settings.sqlite_busy_timeout_s if busy_timeout_s is None else busy_timeout_s
        )
    if url.startswith("postgresql://"):
        url = "postgresql+psycopg://" + url.removeprefix("postgresql://")
    connect_args: dict[str, Any] = {"application_name": "yibao"}
    timeout = settings.db_lock_timeout_s if lock_timeout_s is None else lock_timeout_s
    if url.startswith("postgresql") and timeout:
        # a lock wait ends with an error (503) instead of a hung request; a session
        # left idle inside a transaction is closed by the server
        ms = int(timeout * 1000)
        connect_args["options"] = (
            f"-c lock_timeout={ms} -c idle_in_transaction_session_timeout={ms * 10}"
        )
    return create_engine(
        url,
        pool_pre_ping=True,
        pool_size=settings.db_pool_size if pool_size is None else pool_size,
        max_overflow=settings.db_max_overflow if max_overflow is None else max_overflow,
        pool_timeout=30,
        connect_args=connect_args if url.startswith("postgresql") else {},
    )


def _sqlite_engine(url: str, busy_timeout_s: float) -> Engine:
    path = url.split("///", 1)[-1]
    if path and path != ":memory:":
        Path(path).parent.mkdir(parents=True, exist_ok=True)
    engine = create_engine(
        url, connect_args={"check_same_thread": False, "timeout": busy_timeout_s}
    )
    busy_ms = int(busy_timeout_s * 1000)

    @event.listens_for(engine, "connect")
    def _sqlite_pragmas(dbapi_conn, _record):  # type: ignore[no-untyped-def]
        # SQLAlchemy, not pysqlite, starts transactions (see _sqlite_begin)
        dbapi_conn.isolation_level = None
        cur = dbapi_conn.cursor()
        cur.execute("PRAGMA journal_mode=WAL")
        cur.execute("PRAGMA foreign_keys=ON")
        cur.execute("PRAGMA synchronous=NORMAL")
        cur.execute(f"PRAGMA busy_timeout={busy_ms}")
        cur.close()

    @event.listens_for(engine, "begin")
    def _sqlite_begin(conn):  # type: ignore[no-untyped-def]
        options = conn.get_execution_options()
        mode = options.get(SQLITE_BEGIN, "DEFERRED")
        dbapi_conn = conn.connection.dbapi_connection
        wait = int(options.get(LOCK_WAIT_MS, busy_ms))
        conn.exec_driver_sql(f"PRAGMA busy_timeout={wait}")
        if mode == "PYSQLITE":
            # pysqlite's own behaviour: reads outside a transaction (each sees the
            # latest commit), BEGIN before the first write; for test sessions only
            dbapi_conn.isolation_level = ""
            return
        dbapi_conn.isolation_level = None
        conn.exec_driver_sql(f"BEGIN {mode}")

    return engine


def writer(engine: Engine) -> Engine:
    """The same engine (same pool) for work that writes: on SQLite each transaction
    takes the write lock when it begins (waiting for it); elsewhere unchanged."""
    return engine.execution_options(**{SQLITE_BEGIN: "IMMEDIATE"})


def reader(engine: Engine) -> Engine:
    """The same engine for read-only work: a deferred transaction (the default)."""
    return engine.execution_options(**{SQLITE_BEGIN: "DEFERRED"})


@contextmanager
def short_transaction(engine: Engine, wait_ms: int = 200) -> Iterator[Connection]:
    """A small write transaction that waits at most ``wait_ms`` for a lock and then
    raises (``OperationalError``) instead of queueing behind long work: for
    bookkeeping (last use of a token, job progress) that may be skipped."""
    bound = engine.execution_options(**{LOCK_WAIT_MS: wait_ms, SQLITE_BEGIN: "IMMEDIATE"})
    with bound.begin() as conn:
        if conn.dialect.name == "postgresql":
            conn.exec_driver_sql(f"SET LOCAL lock_timeout = {int(wait_ms)}")
        yield conn


@lru_cache(maxsize=4)
def get_engine(url: str | None = None) -> Engine:
    return make_engine(url or get_settings().effective_database_url)


def session_factory(engine: Engine) -> sessionmaker[Session]:
    return sessionmaker(bind=engine, expire_on_commit=False, autoflush=True)


@contextmanager
def unit_of_work(engine: Engine | None = None) -> Iterator[Session]:
    """One writing transaction: commit on success, roll back on error (CLI)."""
    session = session_factory(writer(engine or get_engine()))()
    try:
        yield session
        session.commit()
    except BaseException:
        session.rollback()
        raise
    finally:
        session.close()
