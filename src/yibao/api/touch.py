"""Bookkeeping of last use (API tokens, browser sessions), outside the business transaction.

Writing ``api_tokens.last_used_at`` inside every request's transaction made all
requests of one HIS system queue on that one row (and, with the event loop blocked,
hang).  Here a request only *notes* what it used; after its own transaction has
committed (or rolled back) the note is written in a short transaction of its own,
at most once per :data:`INTERVAL_S` per row and process, and skipped when the
database is busy — last use is advisory, never worth a failed or slow request.
"""

from __future__ import annotations

import logging
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta

from fastapi import Request
from sqlalchemy import Engine, Table, or_, update
from sqlalchemy.exc import SQLAlchemyError

from yibao.accounts.models import ApiToken, WebSession
from yibao.db.session import short_transaction
from yibao.kit.timeutil import utcnow

log = logging.getLogger(__name__)

TOKEN = "api_tokens"
SESSION = "web_sessions"
INTERVAL_S = 60.0
_COLUMNS = {
    TOKEN: (ApiToken.__table__, "last_used_at"),
    SESSION: (WebSession.__table__, "last_seen_at"),
}
_written: dict[tuple[str, int], float] = {}
_lock = threading.Lock()


def later(request: Request, kind: str, row_id: int) -> None:
    """Note that this request used ``row_id`` of ``kind`` (written by :func:`flush`)."""
    notes: set[tuple[str, int]] = getattr(request.state, "touches", set())
    notes.add((kind, row_id))
    request.state.touches = notes


def _due(notes: set[tuple[str, int]], now: float) -> list[tuple[str, int]]:
    with _lock:
        due = [key for key in notes if now - _written.get(key, -INTERVAL_S) >= INTERVAL_S]
        for key in due:
            _written[key] = now
        if len(_written) > 100_000:  # forget the oldest half; the database keeps the truth
            for key in sorted(_written, key=_written.__getitem__)[: len(_written) // 2]:
                del _written[key]
    return due


def flush(request: Request) -> None:
    """Write the noted last-use times (throttled); never raises."""
    due = _noted_due(request)
    if due:
        _write(request.app.state.aux_engine, due)


def flush_later(request: Request) -> None:
    """:func:`flush` from a request served on the event loop: what is due (rarely
    anything: once a minute per row) is written by a background thread, so the loop
    never waits for the database's locks."""
    due = _noted_due(request)
    if due:
        _background.submit(_write, request.app.state.aux_engine, due)


def token_used(engine: Engine, token_id: int) -> None:
    """Note a fast route's use of an API token (:mod:`yibao.api.fastpath`); written by
    the background thread at most once per :data:`INTERVAL_S` per token and process."""
    due = _due({(TOKEN, token_id)}, time.monotonic())
    if due:
        _background.submit(_write, engine, due)


#: one thread for the last-use writes of requests served on the event loop
_background = ThreadPoolExecutor(max_workers=1, thread_name_prefix="yibao-touch")


def _noted_due(request: Request) -> list[tuple[str, int]]:
    notes: set[tuple[str, int]] = getattr(request.state, "touches", set())
    return _due(notes, time.monotonic()) if notes else []


def _write(engine: Engine, due: list[tuple[str, int]]) -> None:
    now = utcnow()
    cutoff = now - timedelta(seconds=INTERVAL_S)
    try:
        with short_transaction(engine, wait_ms=200) as conn:
            for kind, row_id in sorted(due):
                table, column = _COLUMNS[kind]
                assert isinstance(table, Table)
                col = table.c[column]
                conn.execute(
                    update(table)
                    .where(table.c.id == row_id)
                    .where(or_(col.is_(None), col < cutoff))
                    .values({column: now})
                )
    except SQLAlchemyError as exc:
        with _lock:
            for key in due:
                _written.pop(key, None)
        log.debug("last-use bookkeeping skipped: %s", str(exc).splitlines()[0])
