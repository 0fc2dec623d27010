"""Application monitoring in this process (issue 15 item 5): a rolling window of each
route's calls (latency and error) for percentiles and error rates, and the switches
of the monitoring components, flipped at run time (no restart).

Components: ``metrics`` (the Prometheus counters of :mod:`yibao.api.metrics`),
``route_stats`` (this window), ``request_log`` (one log line per request) and
``alerts`` (threshold checks, :mod:`yibao.monitoring`).  The window keeps at most
``MAX_SAMPLES`` calls per route of the last ``WINDOW_S`` seconds."""

from __future__ import annotations

import math
import threading
import time
from collections import deque
from typing import Any, Final

COMPONENTS: Final = {
    "metrics": "Prometheus 指标（/metrics）",
    "route_stats": "接口调用统计（延迟分位数、错误率）",
    "request_log": "请求日志",
    "alerts": "阈值告警（页面与 Webhook）",
}
FLAGS: dict[str, bool] = dict.fromkeys(COMPONENTS, True)
WINDOW_S: Final = 300.0
MAX_SAMPLES: Final = 2048


class RouteWindow:
    """Calls per (method, route) in the last ``WINDOW_S`` seconds: (time, seconds, error)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._calls: dict[tuple[str, str], deque[tuple[float, float, bool]]] = {}

    def record(self, method: str, route: str, seconds: float, error: bool) -> None:
        key = (method, route)
        with self._lock:
            calls = self._calls.get(key)
            if calls is None:
                calls = self._calls[key] = deque(maxlen=MAX_SAMPLES)
            calls.append((time.monotonic(), seconds, error))

    def clear(self) -> None:
        with self._lock:
            self._calls.clear()

    def stats(self) -> list[dict[str, object]]:
        """Per route: calls, errors, error rate, p50 / p95 / p99 latency (ms), in the
        window; sorted by calls, most first."""
        cutoff = time.monotonic() - WINDOW_S
        with self._lock:
            snapshot = {k: [c for c in v if c[0] >= cutoff] for k, v in self._calls.items()}
        out: list[dict[str, object]] = []
        for (method, route), calls in snapshot.items():
            if not calls:
                continue
            ms = sorted(c[1] * 1000 for c in calls)
            errors = sum(1 for c in calls if c[2])

            def pct(q: float, ms: list[float] = ms) -> float:
                # nearest rank ⌈q·n⌉, as the merged view (merge) reads its histogram
                rank = math.ceil(round(q * len(ms), 9))
                return round(ms[min(len(ms) - 1, max(0, rank - 1))], 1)

            out.append(
                {
                    "method": method,
                    "route": route,
                    "calls": len(ms),
                    "errors": errors,
                    "error_rate": round(errors / len(ms), 4),
                    "p50_ms": pct(0.50),
                    "p95_ms": pct(0.95),
                    "p99_ms": pct(0.99),
                }
            )
        return sorted(out, key=lambda r: (-int(str(r["calls"])), str(r["route"])))


WINDOW = RouteWindow()


# --- figures of several processes ------------------------------------------------------
#: latency buckets for merging processes' windows: bucket i holds (B·R^(i-1), B·R^i] ms,
#: so a merged percentile (the bucket's upper bound) is at most 5 % above the true one
BUCKET_BASE_MS: Final = 0.05
BUCKET_RATIO: Final = 1.05


def bucket_of(ms: float) -> int:
    if ms <= BUCKET_BASE_MS:
        return 0
    return max(0, math.ceil(math.log(ms / BUCKET_BASE_MS) / math.log(BUCKET_RATIO) - 1e-9))


def bucket_ms(index: int) -> float:
    return BUCKET_BASE_MS * BUCKET_RATIO**index


def summary(window: RouteWindow) -> list[dict[str, object]]:
    """This process's window as mergeable figures: per route calls, errors and the
    latency histogram ``{bucket: calls}`` (sparse)."""
    cutoff = time.monotonic() - WINDOW_S
    with window._lock:
        snapshot = {k: [c for c in v if c[0] >= cutoff] for k, v in window._calls.items()}
    out: list[dict[str, object]] = []
    for (method, route), calls in snapshot.items():
        if not calls:
            continue
        buckets: dict[str, int] = {}
        for c in calls:
            key = str(bucket_of(c[1] * 1000))
            buckets[key] = buckets.get(key, 0) + 1
        errors = sum(1 for c in calls if c[2])
        out.append(
            {
                "method": method,
                "route": route,
                "calls": len(calls),
                "errors": errors,
                "buckets": buckets,
            }
        )
    return out


def merge(summaries: list[list[dict[str, Any]]]) -> list[dict[str, object]]:
    """Several processes' :func:`summary` as one route table (the :meth:`RouteWindow.stats`
    shape); percentiles are the upper bounds of the merged histogram's buckets."""
    merged: dict[tuple[str, str], dict[str, Any]] = {}
    for rows in summaries:
        for r in rows:
            m = merged.setdefault(
                (str(r["method"]), str(r["route"])), {"calls": 0, "errors": 0, "buckets": {}}
            )
            m["calls"] += int(r["calls"])
            m["errors"] += int(r["errors"])
            for k, n in dict(r["buckets"]).items():
                m["buckets"][int(k)] = m["buckets"].get(int(k), 0) + int(n)
    out: list[dict[str, object]] = []
    for (method, route), m in merged.items():
        order = sorted(m["buckets"].items())

        def pct(q: float, order: list[tuple[int, int]] = order, n: int = m["calls"]) -> float:
            want, seen = max(1, math.ceil(q * n)), 0
            for index, count in order:
                seen += count
                if seen >= want:
                    return round(bucket_ms(index), 1)
            return round(bucket_ms(order[-1][0]), 1) if order else 0.0

        out.append(
            {
                "method": method,
                "route": route,
                "calls": m["calls"],
                "errors": m["errors"],
                "error_rate": round(m["errors"] / m["calls"], 4) if m["calls"] else 0.0,
                "p50_ms": pct(0.50),
                "p95_ms": pct(0.95),
                "p99_ms": pct(0.99),
            }
        )
    return sorted(out, key=lambda r: (-int(str(r["calls"])), str(r["route"])))
