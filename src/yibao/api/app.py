"""The application factory: middleware, error handlers, routers."""

from __future__ import annotations

import logging
import threading
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import date
from pathlib import Path
from typing import Any

import anyio
import anyio.to_thread
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, Response
from fastapi.staticfiles import StaticFiles
from sqlalchemy import text
from starlette.types import ASGIApp

from yibao import __version__
from yibao.api import errors, openapi
from yibao.api.cookies import SessionCookieMiddleware
from yibao.api.deps import csrf_token
from yibao.api.fastpath import FastPathMiddleware
from yibao.api.headers import SecurityHeadersMiddleware
from yibao.api.limits import BodyLimitMiddleware, RateBuckets, request_gate, write_gate
from yibao.api.metrics import MetricsMiddleware, metrics_endpoint
from yibao.api.routes import FAST_ROUTES
from yibao.api.routes import router as api_router
from yibao.config import Settings, get_settings
from yibao.db.session import make_engine, read_requests, reader, session_factory, writer
from yibao.grouping.local_plans import sync_local_plans
from yibao.grouping.plans import plan_registry
from yibao.kit import heap
from yibao.logs import configure_logging
from yibao.supervision import runtime
from yibao.web.pages import router as web_router
from yibao.web.render import compile_templates, templates

STATIC_DIR = Path(__file__).resolve().parent.parent / "web" / "static"
HEALTH_TIMEOUT_S = 3.0
log = logging.getLogger(__name__)


def resolve_routes(app: FastAPI) -> None:
    """Have the router resolve every route now rather than on the first request that
    reaches it (FastAPI builds each included route's dependency models lazily): a
    request for a path that matches nothing walks all of them."""
    for method in ("GET", "POST"):
        scope = {"type": "http", "method": method, "path": "/\u0000", "root_path": ""}
        for route in app.router.routes:
            route.matches(dict(scope))


def warm_up(settings: Settings, app: FastAPI | None = None) -> None:
    """Compile the page templates, the grouping plan valid today, the routes and the
    audit rule sets in force today, so the first users after a (re)start do not wait
    for them (a second or two of CPU per process)."""

    try:
        compile_templates()
        plan_registry(settings).for_date(date.today())
        if app is not None:
            resolve_routes(app)
    except Exception:  # a plan problem shows on first use, with its own message
        log.warning("warm-up incomplete", exc_info=True)
    if app is not None:
        try:  # the audit rule sets in force today (real-time audit's first requests)
            runtime.warm(app.state.engine, date.today())
        except Exception:  # no tables yet, a database away: the first audit compiles
            log.warning("rule sets not compiled at start", exc_info=True)


def unpack_local_plans(settings: Settings, engine: Any) -> None:
    """Unpack the bureau's local plans this process lacks (ADR 0040)."""
    try:
        with session_factory(engine)() as session:
            sync_local_plans(session, settings, plan_registry(settings))
    except Exception:  # no tables yet (before ``db upgrade``): nothing to unpack
        log.warning("local plans not unpacked at start", exc_info=True)


def settle_for_serving() -> None:
    """Move everything loaded so far (code, templates, plans, route models) out of the
    cyclic garbage collector's scans (``gc.freeze``), as long-running servers do: its
    collections then cost a quarter less per request; only in a server process, after
    :func:`warm_up`."""
    heap.settle()


def prepare_to_serve(settings: Settings, app: FastAPI) -> None:
    try:
        warm_up(settings, app)
        settle_for_serving()
    finally:
        app.state.warm.set()


def serve_app() -> ASGIApp:
    """What ``yibao serve`` runs: :func:`create_app` with its fast routes (ADR 0026)
    served from outside FastAPI, before the framework's own layers (its error page,
    telemetry and body limit: about 7 % of a real-time audit's CPU).  Every other
    request goes on to the app as before; tests use :func:`create_app`, whose own
    :class:`FastPathMiddleware` serves the same routes the same way."""
    app = create_app()
    return FastPathMiddleware(app, FAST_ROUTES, state=app.state)


# long: the app is assembled in one place (engines, middleware order, health, routers)
def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or get_settings()
    configure_logging(settings.log_level, settings.log_json)
    engine = make_engine(settings.effective_database_url)
    # health checks have their own threads and connections: they never queue behind requests
    health_engine = make_engine(settings.effective_database_url, pool_size=1, max_overflow=1)
    health_limiter = anyio.CapacityLimiter(2)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        # request handlers run in worker threads: as many as the database pool serves
        anyio.to_thread.current_default_thread_limiter().total_tokens = settings.request_threads
        unpack_local_plans(settings, engine)
        if settings.warm_up:
            threading.Thread(
                target=prepare_to_serve, args=(settings, app), name="yibao-warm-up", daemon=True
            ).start()
        yield
        for batch_writer in list(app.state.batch_writers.values()):
            batch_writer.close()
        app.state.engine.dispose()
        app.state.aux_engine.dispose()
        if inline_engine is not None:
            inline_engine.dispose()
        health_engine.dispose()

    app = FastAPI(
        title="Yibao 医保 DRG/DIP",
        version=__version__,
        lifespan=lifespan,
        docs_url=None,  # served below from the vendored Swagger UI (no CDN, no inline script)
        redoc_url=None,
        openapi_url="/api/openapi.json",
    )
    app.state.engine = engine
    # bookkeeping (last use of tokens and sessions) never waits for the request pool
    app.state.aux_engine = make_engine(
        settings.effective_database_url, pool_size=2, max_overflow=4, pool_timeout_s=1
    )
    app.state.write_gate = write_gate(settings, engine.dialect.name)
    app.state.request_gate = request_gate(settings)
    app.state.rate_buckets = RateBuckets()
    # group commits of the fast routes' small writes, by name (api.fastpath, ADR 0026)
    app.state.batch_writers = {}
    #: set when this process's warm-up is done (at once without one): /healthz?ready=1
    app.state.warm = threading.Event()
    if not settings.warm_up:
        app.state.warm.set()
    app.state.sessionmaker = session_factory(writer(engine))
    app.state.read_sessionmaker = session_factory(read_requests(engine), read_only=True)
    # light reads served on the event loop (api.inline) have a pool of their own, with a
    # short lock wait and a statement time limit: PostgreSQL only
    inline_engine = None
    if settings.inline_reads and engine.dialect.name == "postgresql":
        inline_engine = make_engine(
            settings.effective_database_url,
            pool_size=2,
            max_overflow=2,
            pool_timeout_s=1,
            lock_timeout_s=1,
            statement_timeout_s=settings.inline_read_timeout_s,
        )
    app.state.inline_sessionmaker = (
        None
        if inline_engine is None
        else session_factory(read_requests(inline_engine), read_only=True)
    )
    app.state.settings = settings

    # the last added is the outermost: metrics → headers → body limit → session cookie
    app.add_middleware(
        SessionCookieMiddleware,
        secret_key=settings.resolved_secret_key(),
        max_age=settings.session_max_age_s,
        https=settings.https,
    )
    app.add_middleware(
        BodyLimitMiddleware,
        max_body=settings.max_body_bytes,
        max_upload=settings.max_upload_bytes,
    )
    app.add_middleware(SecurityHeadersMiddleware, https=settings.https)
    app.add_middleware(MetricsMiddleware)
    # outermost: the busy machine-to-machine routes, served before everything above
    app.add_middleware(FastPathMiddleware, routes=FAST_ROUTES)
    app.mount("/static", StaticFiles(directory=STATIC_DIR), name="static")
    errors.install(app)

    def _ping() -> str:
        with reader(health_engine).connect() as conn:
            conn.execute(text("SELECT 1"))
        return health_engine.dialect.name

    @app.get("/healthz", include_in_schema=False)
    async def healthz(ready: bool = False) -> JSONResponse:
        """Liveness and database check; answers within a few seconds whatever the load
        (its own threads, a time limit), 503 when the database does not answer.  With
        ``?ready=1`` (a reverse proxy's or a benchmark's readiness check) also 503 while
        this process is still warming up (templates, plan, rule sets: ``warm_up``)."""
        if ready and not app.state.warm.is_set():
            return JSONResponse(
                status_code=503, content={"status": "warming", "database": "预热中 / warming up"}
            )
        try:
            with anyio.fail_after(HEALTH_TIMEOUT_S):
                name = await anyio.to_thread.run_sync(
                    _ping, limiter=health_limiter, abandon_on_cancel=True
                )
        except TimeoutError:
            return JSONResponse(
                status_code=503,
                content={"status": "error", "database": "数据库在 3 秒内没有响应 / timeout"},
            )
        except Exception as exc:
            return JSONResponse(
                status_code=503, content={"status": "error", "database": str(exc)[:200]}
            )
        return JSONResponse({"status": "ok", "database": name, "version": __version__})

    app.add_route("/metrics", metrics_endpoint, include_in_schema=False)

    @app.get("/api/docs", include_in_schema=False)
    def api_docs(request: Request) -> Response:

        return templates.TemplateResponse(
            request, "api_docs.html", {"csrf_token": csrf_token(request)}
        )

    app.include_router(api_router)
    app.include_router(web_router)
    openapi.install(app)
    return app
