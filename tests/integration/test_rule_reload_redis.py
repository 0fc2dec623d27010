"""Hot reload through Redis pub/sub (ADR 0021): with ``YIBAO_REDIS_URL`` configured a
process's listener hears a change published by another process within seconds.
Uses the Redis server on 127.0.0.1:6379 (skipped, with the reason, where there is
none: Redis is optional, a laptop install runs without it)."""

from __future__ import annotations

import secrets
import socket
import threading
import time

import pytest

from yibao.supervision import notify

URL = "redis://127.0.0.1:6379/0"


def _redis_up() -> bool:
    try:
        with socket.create_connection(("127.0.0.1", 6379), timeout=1):
            return True
    except OSError:
        return False


@pytest.mark.skipif(not _redis_up(), reason="no Redis server on 127.0.0.1:6379")
def test_a_change_published_on_redis_reaches_the_listener() -> None:
    heard: list[str] = []
    notify.subscribe(heard.append)
    stop = threading.Event()
    thread = threading.Thread(target=notify._redis_loop, args=(URL, stop), daemon=True)
    thread.start()
    try:
        deadline = time.monotonic() + 5
        while not any("redis listener" in h for h in heard) and time.monotonic() < deadline:
            time.sleep(0.05)
        payload = f"rule_set:test-{secrets.token_hex(4)}"
        notify._redis_client(URL).publish(notify.CHANNEL, payload)  # as another process would
        while f"redis: {payload}" not in heard and time.monotonic() < deadline:
            time.sleep(0.05)
        assert f"redis: {payload}" in heard, heard
    finally:
        stop.set()
        thread.join(5)
        notify._subscribers.remove(heard.append)
