"""Telling every server process that the knowledge or rule base changed (ADR 0021).

A ``do_…`` that publishes or retires calls :func:`announce` inside its transaction.
On commit:

* this process drops its caches at once (the embedded SQLite default is one process);
* on PostgreSQL the ``pg_notify`` sent in the transaction reaches every process that
  listens on :data:`CHANNEL` (delivered by the server on commit, never on rollback);
* with ``YIBAO_REDIS_URL`` configured the change is also published on the Redis
  channel of the same name.

Each process runs one daemon listener thread per transport (:func:`ensure_listening`,
started on the first audit in the process), with its own connection, reconnecting
after a second; it drops the caches on every message and after every reconnect (a
message may have been missed).  A missed message is corrected anyway: the runtime
looks up the current version ids at most :data:`CHECK_S` seconds apart.
"""

from __future__ import annotations

import logging
import os
import threading
from collections.abc import Callable
from typing import Any

import psycopg
from sqlalchemy import event, text
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session

from yibao.config import get_settings

CHANNEL = "yibao_supervision"
CHECK_S = 2.0
_FLAG = "supervision_changed"
log = logging.getLogger(__name__)
_subscribers: list[Callable[[str], None]] = []
_started: dict[tuple[int, str], threading.Thread] = {}
_guard = threading.Lock()


def subscribe(drop: Callable[[str], None]) -> None:
    """Call ``drop(reason)`` whenever this process learns of a change."""
    _subscribers.append(drop)


def changed(reason: str) -> None:
    """Drop every subscriber's cache (``reason`` for the log)."""
    log.info("supervision change: %s", reason)
    for drop in _subscribers:
        drop(reason)


def announce(session: Session, what: str) -> None:
    """Schedule the change notice ``what`` for when ``session`` commits."""
    bind = session.get_bind()
    if bind.dialect.name == "postgresql":
        session.execute(text("SELECT pg_notify(:c, :p)"), {"c": CHANNEL, "p": what[:7000]})
    session.info.setdefault(_FLAG, []).append(what)


@event.listens_for(Session, "after_commit")
def _committed(session: Session) -> None:
    notes = session.info.pop(_FLAG, None)
    if not notes:
        return
    for what in notes:
        changed(f"local: {what}")
    url = redis_url()
    if url:
        try:
            client = _redis_client(url)
            for what in notes:
                client.publish(CHANNEL, what)
        except Exception:  # the TTL check corrects the others within seconds
            log.exception("supervision change not published to Redis")


@event.listens_for(Session, "after_rollback")
def _rolled_back(session: Session) -> None:
    session.info.pop(_FLAG, None)


def redis_url() -> str:
    return get_settings().redis_url or ""


def _redis_client(url: str) -> Any:
    import redis  # noqa: PLC0415  optional: only with YIBAO_REDIS_URL

    return redis.Redis.from_url(url, socket_timeout=2, socket_connect_timeout=2)


def ensure_listening(database_url: str) -> None:
    """Start this process's listener threads (once per process and transport)."""
    wanted: list[tuple[str, Callable[[threading.Event], None]]] = []
    if database_url.startswith("postgresql"):
        conninfo = make_url(database_url).set(drivername="postgresql")
        dsn = conninfo.render_as_string(hide_password=False)
        wanted.append(("pg", lambda stop: _pg_loop(dsn, stop)))
    url = redis_url()
    if url:
        wanted.append(("redis", lambda stop: _redis_loop(url, stop)))
    pid = os.getpid()
    with _guard:
        for name, loop in wanted:
            if (pid, name) in _started and _started[(pid, name)].is_alive():
                continue
            stop = threading.Event()
            thread = threading.Thread(
                target=loop, args=(stop,), name=f"yibao-supervision-{name}", daemon=True
            )
            thread.start()
            _started[(pid, name)] = thread


def _pg_loop(dsn: str, stop: threading.Event) -> None:
    while not stop.is_set():
        try:
            with psycopg.connect(dsn, autocommit=True, connect_timeout=5) as conn:
                conn.execute(f"LISTEN {CHANNEL}")
                changed("pg listener (re)connected")
                while not stop.is_set():
                    for note in conn.notifies(timeout=1.0):
                        changed(f"pg: {note.payload}")
        except Exception:
            log.warning("supervision listener (PostgreSQL) lost; reconnecting", exc_info=True)
            stop.wait(1.0)


def _redis_loop(url: str, stop: threading.Event) -> None:
    while not stop.is_set():
        try:
            pubsub = _redis_client(url).pubsub(ignore_subscribe_messages=True)
            pubsub.subscribe(CHANNEL)
            changed("redis listener (re)connected")
            while not stop.is_set():
                message = pubsub.get_message(timeout=1.0)
                if message is not None:
                    data = message.get("data")
                    changed(f"redis: {data.decode() if isinstance(data, bytes) else data}")
        except Exception:
            log.warning("supervision listener (Redis) lost; reconnecting", exc_info=True)
            stop.wait(1.0)
