"""``yibao bench monitoring``: what the monitoring components cost per request — the
metrics middleware around a trivial ASGI app, called in-process with every component
on and with every component off (ADR 0034)."""

from __future__ import annotations

import asyncio
import statistics
import time
from typing import Any

from yibao.api.metrics import MetricsMiddleware
from yibao.kit.monitor import FLAGS, WINDOW


async def _app(scope: Any, receive: Any, send: Any) -> None:
    await send({"type": "http.response.start", "status": 200, "headers": []})
    await send({"type": "http.response.body", "body": b"ok"})


class _Route:
    path = "/bench/{item_id}"


async def _run(n: int) -> float:
    middleware = MetricsMiddleware(_app)
    scope = {"type": "http", "method": "GET", "path": "/bench/1", "route": _Route()}

    async def receive() -> dict[str, Any]:
        return {"type": "http.request", "body": b""}

    async def send(_message: Any) -> None:
        return None

    start = time.perf_counter()
    for _ in range(n):
        await middleware(scope, receive, send)
    return (time.perf_counter() - start) / n * 1e6


def measure(requests: int, rounds: int = 5) -> dict[str, float]:
    """Microseconds per request with the components on and off (medians of rounds)."""
    saved = dict(FLAGS)
    on, off = [], []
    try:
        for _ in range(rounds):
            FLAGS.update(dict.fromkeys(FLAGS, True))
            on.append(asyncio.run(_run(requests)))
            FLAGS.update(dict.fromkeys(FLAGS, False))
            off.append(asyncio.run(_run(requests)))
        alone = {}
        for name in list(FLAGS):
            FLAGS.update(dict.fromkeys(FLAGS, False))
            FLAGS[name] = True
            alone[name] = statistics.median(asyncio.run(_run(requests)) for _ in range(rounds))
    finally:
        FLAGS.update(saved)
        WINDOW.clear()
    a, b = statistics.median(on), statistics.median(off)
    out = {"on_us": round(a, 1), "off_us": round(b, 1), "overhead_us": round(a - b, 1)}
    out.update({f"{k}_us": round(v - b, 1) for k, v in alone.items()})
    return out
