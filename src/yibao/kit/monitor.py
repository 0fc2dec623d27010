"""Application monitoring in this process (issue 15 item 5): a rolling window of each
route's calls (latency and error) for percentiles and error rates, and the switches
of the monitoring components, flipped at run time (no restart).

Components: ``metrics`` (the Prometheus counters of :mod:`yibao.api.metrics`),
``route_stats`` (this window), ``request_log`` (one log line per request) and
``alerts`` (threshold checks, :mod:`yibao.monitoring`).  The window keeps at most
``MAX_SAMPLES`` calls per route of the last ``WINDOW_S`` seconds."""

from __future__ import annotations

import threading
import time
from collections import deque
from typing import Final

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
                return round(ms[min(len(ms) - 1, max(0, int(q * len(ms) + 0.5) - 1))], 1)

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
