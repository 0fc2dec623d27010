"""API tokens' principals kept per process for the fast routes (ADR 0026).

A fast route (:mod:`yibao.api.fastpath`) looks a token up once and keeps its
:class:`TokenPrincipal` for ``YIBAO_TOKEN_CACHE_SECONDS``; revoking a token or
disabling a user empties this process's caches at once (:func:`forget_principals`),
other processes follow within the time.  Unknown tokens are never kept."""

from __future__ import annotations

import hashlib
import threading
import time
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class TokenPrincipal:
    """A token's user as a fast route needs it (:mod:`yibao.api.fastpath`): detached,
    cacheable."""

    user_id: int
    token_id: int
    username: str
    role: str
    region_code: str | None
    hospital_id: int | None
    hospital_code: str | None
    hospital_name: str | None
    hospital_level: str | None
    #: the pooling region of the user's hospital (or the bureau user's region)
    home_region: str | None

    @property
    def rate_key(self) -> str:
        return f"token:{self.token_id}"


class PrincipalCache:
    """Valid tokens' principals for ``ttl`` seconds, per process (ADR 0026): a revoked
    token or a disabled user stops working within ``ttl``; an unknown token is never
    kept (each try asks the database)."""

    def __init__(self, ttl: float) -> None:
        self.ttl = ttl
        self._lock = threading.Lock()
        self._kept: dict[str, tuple[float, TokenPrincipal]] = {}

    @staticmethod
    def _key(plain: str) -> str:
        return hashlib.sha256(plain.encode("utf-8", "replace")).hexdigest()

    def get(self, plain: str) -> TokenPrincipal | None:
        if self.ttl <= 0:
            return None
        hit = self._kept.get(self._key(plain))
        if hit is None or hit[0] < time.monotonic():
            return None
        return hit[1]

    def put(self, plain: str, found: TokenPrincipal) -> None:
        if self.ttl <= 0:
            return
        with self._lock:
            if len(self._kept) > 10_000:
                self._kept.clear()
            self._kept[self._key(plain)] = (time.monotonic() + self.ttl, found)

    def clear(self) -> None:
        with self._lock:
            self._kept.clear()


_caches: dict[float, PrincipalCache] = {}


def principal_cache(ttl: float) -> PrincipalCache:
    """The process's cache for ``ttl`` (one per setting value)."""
    cache = _caches.get(ttl)
    if cache is None:
        cache = _caches.setdefault(ttl, PrincipalCache(ttl))
    return cache


def forget_principals() -> None:
    """Empty every cache of this process (a token revoked here takes effect at once
    in this process; other processes follow within the ttl)."""
    for cache in list(_caches.values()):
        cache.clear()
