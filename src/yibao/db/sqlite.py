"""SQLite as a server database: explicit transactions and fair, bounded write waits.

* pysqlite's implicit transactions are off; SQLAlchemy's ``begin`` hook emits
  ``BEGIN DEFERRED`` (readers) or ``BEGIN IMMEDIATE`` (writers, see
  :func:`yibao.db.session.writer`).
* Writers of one process queue on a :class:`FairLock` per database file **before**
  ``BEGIN IMMEDIATE``: first come, first served, sleeping instead of polling.
  SQLite's own busy handler polls with growing sleeps and no order, so with dozens of
  writers some waited past any timeout while others went through many times; the
  queue bounds a writer's wait by the work queued ahead of it.  Writers in *other*
  processes (``--workers 2``, the CLI) still meet at SQLite's lock, with the busy
  timeout.
* A writer that does not get its turn within the wait raises the same
  ``OperationalError`` ("database is locked") as SQLite would; the web layer answers
  503 "busy, try again" and nothing was written.
"""

from __future__ import annotations

import sqlite3
import threading
import time
from collections import deque
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.exc import OperationalError

from yibao.db.jsontext import ENGINE_JSON

#: execution option read by the ``begin`` hook: ``IMMEDIATE``, ``DEFERRED`` or ``PYSQLITE``
SQLITE_BEGIN = "yibao_sqlite_begin"
#: execution option: how long (ms) a transaction waits for a lock before giving up
LOCK_WAIT_MS = "yibao_lock_wait_ms"
_HELD = "yibao_fair_lock"


class FairLock:
    """A first-come-first-served lock with a timeout (not re-entrant)."""

    def __init__(self) -> None:
        self._cond = threading.Condition()
        self._queue: deque[object] = deque()
        self._held = False

    def acquire(self, timeout: float) -> bool:
        ticket = object()
        deadline = time.monotonic() + timeout
        with self._cond:
            self._queue.append(ticket)
            while self._held or self._queue[0] is not ticket:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    self._queue.remove(ticket)
                    self._cond.notify_all()
                    return False
                self._cond.wait(remaining)
            self._queue.popleft()
            self._held = True
            return True

    def release(self) -> None:
        with self._cond:
            self._held = False
            self._cond.notify_all()

    @property
    def waiting(self) -> int:
        return len(self._queue)


_locks: dict[str, FairLock] = {}
_locks_guard = threading.Lock()


def _lock_for(path: str) -> FairLock:
    key = str(Path(path).resolve()) if path and path != ":memory:" else f"memory:{id(path)}"
    with _locks_guard:
        return _locks.setdefault(key, FairLock())


# long: the pragmas and the BEGIN/queue event hooks must be installed together on one engine
def sqlite_engine(
    url: str, busy_timeout_s: float, pool_size: int, overflow: int, pool_timeout_s: float = 30
) -> Engine:
    """An SQLite engine with WAL, foreign keys, explicit BEGIN and the writers' queue."""
    path = url.split("///", 1)[-1]
    memory = not path or path == ":memory:"
    if not memory:
        Path(path).parent.mkdir(parents=True, exist_ok=True)
    pool: dict[str, Any] = (
        {}
        if memory
        else {"pool_size": pool_size, "max_overflow": overflow, "pool_timeout": pool_timeout_s}
    )
    engine = create_engine(
        url,
        connect_args={"check_same_thread": False, "timeout": busy_timeout_s},
        **ENGINE_JSON,
        **pool,
    )
    busy_ms = int(busy_timeout_s * 1000)
    queue = _lock_for(path)

    @event.listens_for(engine, "connect")
    def _pragmas(dbapi_conn, _record):  # type: ignore[no-untyped-def]
        dbapi_conn.isolation_level = None  # SQLAlchemy, not pysqlite, starts transactions
        cur = dbapi_conn.cursor()
        cur.execute("PRAGMA journal_mode=WAL")
        cur.execute("PRAGMA foreign_keys=ON")
        cur.execute("PRAGMA synchronous=NORMAL")
        cur.execute(f"PRAGMA busy_timeout={busy_ms}")
        cur.close()

    @event.listens_for(engine, "begin")
    def _begin(conn):  # type: ignore[no-untyped-def]
        options = conn.get_execution_options()
        mode = options.get(SQLITE_BEGIN, "DEFERRED")
        fairy = conn.connection
        dbapi_conn = fairy.dbapi_connection
        wait_ms = int(options.get(LOCK_WAIT_MS, busy_ms))
        if mode == "PYSQLITE":
            # pysqlite's own behaviour: reads outside a transaction (each sees the latest
            # commit), BEGIN before the first write; for test sessions only
            conn.exec_driver_sql(f"PRAGMA busy_timeout={wait_ms}")
            dbapi_conn.isolation_level = ""
            return
        dbapi_conn.isolation_level = None
        if mode == "IMMEDIATE" and not fairy.info.get(_HELD):
            started = time.monotonic()
            if not queue.acquire(wait_ms / 1000):
                raise OperationalError(
                    "BEGIN IMMEDIATE", None, sqlite3.OperationalError("database is locked")
                )
            fairy.info[_HELD] = queue
            wait_ms = max(1, wait_ms - int((time.monotonic() - started) * 1000))
        try:
            conn.exec_driver_sql(f"PRAGMA busy_timeout={wait_ms}")
            conn.exec_driver_sql(f"BEGIN {mode}")
        except BaseException:
            _release(fairy.info)
            raise

    def _release(info: dict[str, Any]) -> None:
        held = info.pop(_HELD, None)
        if held is not None:
            held.release()

    @event.listens_for(engine, "commit")
    def _after_commit(conn):  # type: ignore[no-untyped-def]
        _release(conn.connection.info)

    @event.listens_for(engine, "rollback")
    def _after_rollback(conn):  # type: ignore[no-untyped-def]
        _release(conn.connection.info)

    @event.listens_for(engine, "checkin")
    def _checkin(_dbapi_conn, record):  # type: ignore[no-untyped-def]
        _release(record.info)  # safety net: a connection never goes back holding the queue

    return engine
