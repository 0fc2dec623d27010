"""A small process-wide cache of expensive, read-only figures.

Some pages show aggregates over every case of a region (the home page's totals and
charts): correct a minute late, but costly to recompute for every one of many users
at once.  :class:`TTLCache` keeps each key's value for ``ttl_s`` seconds and computes
a missing key once even when many threads ask at the same time (no stampede).  A
``ttl_s`` of 0 turns caching off.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Hashable
from typing import Generic, TypeVar

T = TypeVar("T")


class TTLCache(Generic[T]):
    """Values per key for ``ttl_s`` seconds, at most ``max_entries`` keys."""

    def __init__(self, max_entries: int = 1024) -> None:
        self._values: dict[Hashable, tuple[float, T]] = {}
        self._locks: dict[Hashable, threading.Lock] = {}
        self._guard = threading.Lock()
        self._max = max_entries

    def get(self, key: Hashable, ttl_s: float, compute: Callable[[], T]) -> T:
        """The cached value of ``key`` if younger than ``ttl_s``, else ``compute()``."""
        if ttl_s <= 0:
            return compute()
        now = time.monotonic()
        hit = self._values.get(key)
        if hit is not None and now - hit[0] < ttl_s:
            return hit[1]
        with self._guard:
            lock = self._locks.setdefault(key, threading.Lock())
        with lock:
            hit = self._values.get(key)
            if hit is not None and time.monotonic() - hit[0] < ttl_s:
                return hit[1]
            value = compute()
            with self._guard:
                if len(self._values) >= self._max:
                    oldest = min(self._values, key=lambda k: self._values[k][0])
                    del self._values[oldest]
                    self._locks.pop(oldest, None)
                self._values[key] = (time.monotonic(), value)
            return value

    def clear(self) -> None:
        with self._guard:
            self._values.clear()
            self._locks.clear()
