"""Prometheus metrics: request counts and latency per route template."""

from __future__ import annotations

import time

from prometheus_client import CONTENT_TYPE_LATEST, Counter, Histogram, generate_latest
from starlette.requests import Request
from starlette.responses import Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from yibao.kit.monitor import FLAGS, WINDOW
from yibao.logs import get_logger

REQUESTS = Counter("yibao_http_requests_total", "HTTP requests", ["method", "route", "status"])
LATENCY = Histogram(
    "yibao_http_request_duration_seconds",
    "HTTP request latency",
    ["method", "route"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
)
log = get_logger("yibao.http")


def _route_of(scope: Scope) -> str:
    route = scope.get("route")
    path = getattr(route, "path", None)
    return path if isinstance(path, str) else "<unmatched>"


class MetricsMiddleware:
    """Pure ASGI middleware: times each request, counts it, writes one log line."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        start = time.perf_counter()
        status = 500

        async def _send(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, _send)
        finally:
            elapsed = time.perf_counter() - start
            route = _route_of(scope)
            method = scope["method"]
            if not route.startswith("/static"):
                if FLAGS["metrics"]:
                    REQUESTS.labels(method, route, str(status)).inc()
                    LATENCY.labels(method, route).observe(elapsed)
                if FLAGS["route_stats"] and not scope["path"].startswith("/static/"):
                    WINDOW.record(method, route, elapsed, status >= 500)
            if not route.startswith("/static") and FLAGS["request_log"]:
                log.info(
                    "request",
                    method=method,
                    path=scope["path"],
                    route=route,
                    status=status,
                    ms=round(elapsed * 1000, 1),
                )


def metrics_endpoint(_request: Request) -> Response:
    return Response(generate_latest(), media_type=CONTENT_TYPE_LATEST)
