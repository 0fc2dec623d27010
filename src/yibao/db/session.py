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
  Writers are therefore serialised — within a process in arrival order
  (:mod:`yibao.db.sqlite`) — and a request that cannot get the lock within the
  timeout gets a clear 503, never a 500.
* **PostgreSQL** runs transactions side by side; ids come from sequences
  (:func:`yibao.db.bulk.reserve_ids`), the connection pool is sized for the
  request threads (``YIBAO_DB_POOL_SIZE``), a lock wait longer than
  ``YIBAO_DB_LOCK_TIMEOUT_S`` ends with a clear 503 rather than a hung request, and
  the server closes a session left idle inside a transaction.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from functools import lru_cache
from typing import Any

from sqlalchemy import Connection, Engine, create_engine, event
from sqlalchemy.exc import DisconnectionError
from sqlalchemy.orm import Session, sessionmaker

from yibao.config import get_settings
from yibao.db.jsontext import ENGINE_JSON
from yibao.db.sqlite import LOCK_WAIT_MS, SQLITE_BEGIN, sqlite_engine

__all__ = [
    "LOCK_WAIT_MS",
    "SQLITE_BEGIN",
    "make_engine",
    "read_requests",
    "reader",
    "session_factory",
    "writer",
]


def make_engine(
    url: str,
    *,
    pool_size: int | None = None,
    max_overflow: int | None = None,
    busy_timeout_s: float | None = None,
    lock_timeout_s: float | None = None,
    pool_timeout_s: float = 30,
    statement_timeout_s: float | None = None,
) -> Engine:
    """Create an engine (SQLite: WAL, foreign keys, busy timeout, BEGIN IMMEDIATE)."""
    settings = get_settings()
    size = settings.db_pool_size if pool_size is None else pool_size
    overflow = settings.db_max_overflow if max_overflow is None else max_overflow
    if url.startswith("sqlite"):
        busy = settings.sqlite_busy_timeout_s if busy_timeout_s is None else busy_timeout_s
        return sqlite_engine(url, busy, size, overflow, pool_timeout_s)
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
        if statement_timeout_s:
            connect_args["options"] += f" -c statement_timeout={int(statement_timeout_s * 1000)}"
    engine = create_engine(
        url,
        pool_size=size,
        max_overflow=overflow,
        pool_timeout=pool_timeout_s,
        connect_args=connect_args if url.startswith("postgresql") else {},
        **ENGINE_JSON,
    )
    _ping_when_idle(engine)
    return engine


#: a pooled connection unused for longer than this is checked before it is handed out
IDLE_PING_S = 30.0


def _ping_when_idle(engine: Engine) -> None:
    """Pessimistic disconnect handling, but only for connections that sat idle: a
    connection used a moment ago is alive, and pinging it on every checkout cost a
    round trip per request.  A dead one is replaced before the request sees it (the
    server was restarted, a firewall dropped it)."""

    @event.listens_for(engine, "checkin")
    def _checkin(_dbapi_conn, record):  # type: ignore[no-untyped-def]
        record.info["yibao_checked_in"] = time.monotonic()

    @event.listens_for(engine, "checkout")
    def _checkout(dbapi_conn, record, _proxy):  # type: ignore[no-untyped-def]
        since = record.info.get("yibao_checked_in")
        if since is None or time.monotonic() - since < IDLE_PING_S:
            return
        try:
            dbapi_conn.execute("SELECT 1")
            dbapi_conn.rollback()
        except Exception as exc:
            raise DisconnectionError("stale pooled connection") from exc


def writer(engine: Engine) -> Engine:
    """The same engine (same pool) for work that writes: on SQLite each transaction
    takes the write lock when it begins (waiting for it); elsewhere unchanged."""
    return engine.execution_options(**{SQLITE_BEGIN: "IMMEDIATE"})


def reader(engine: Engine) -> Engine:
    """The same engine for read-only work: a deferred transaction (the default)."""
    return engine.execution_options(**{SQLITE_BEGIN: "DEFERRED"})


def read_requests(engine: Engine) -> Engine:
    """The engine for requests that only read (GET, HEAD, OPTIONS).

    On PostgreSQL these run without a transaction block (autocommit): under READ
    COMMITTED, PostgreSQL's level here, every statement takes its own snapshot inside a
    transaction as well, so pages see exactly what they saw before, without the BEGIN
    and COMMIT round trips on every page.  SQLite keeps its deferred transaction (one
    snapshot for the page, and no round trips to save)."""
    if engine.dialect.name == "postgresql":
        return engine.execution_options(isolation_level="AUTOCOMMIT")
    return reader(engine)


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


def session_factory(engine: Engine, *, read_only: bool = False) -> sessionmaker[Session]:
    """Sessions on ``engine``; ``read_only`` sessions refuse to write rows (the sessions
    of GET requests, which on PostgreSQL run in autocommit: see :func:`read_requests`)."""
    info = {READ_ONLY: True} if read_only else {}
    return sessionmaker(bind=engine, expire_on_commit=False, autoflush=True, info=info)


READ_ONLY = "yibao_read_only"


@event.listens_for(Session, "before_flush")
def _refuse_writes_when_read_only(session: Session, _ctx: object, _instances: object) -> None:
    if session.info.get(READ_ONLY):
        raise RuntimeError("只读请求（GET）不能修改数据 / a read-only request tried to write")


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
