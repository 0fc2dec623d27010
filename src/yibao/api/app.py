"""The application factory: middleware, error handlers, routers."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from sqlalchemy import text
from starlette.middleware.sessions import SessionMiddleware

from yibao import __version__
from yibao.api.metrics import MetricsMiddleware, metrics_endpoint
from yibao.config import Settings, get_settings
from yibao.db.session import make_engine, session_factory
from yibao.kit.errors import DomainError, Unauthorized
from yibao.logs import configure_logging

STATIC_DIR = Path(__file__).resolve().parent.parent / "web" / "static"


def _wants_html(request: Request) -> bool:
    return not request.url.path.startswith("/api/") and "text/html" in request.headers.get(
        "accept", ""
    )


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or get_settings()
    configure_logging(settings.log_level, settings.log_json)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        yield
        app.state.engine.dispose()

    app = FastAPI(
        title="Yibao 医保 DRG/DIP",
        version=__version__,
        lifespan=lifespan,
        docs_url="/api/docs",
        openapi_url="/api/openapi.json",
    )
    engine = make_engine(settings.effective_database_url)
    app.state.engine = engine
    app.state.sessionmaker = session_factory(engine)
    app.state.settings = settings

    app.add_middleware(
        SessionMiddleware,
        secret_key=settings.resolved_secret_key(),
        session_cookie="yibao_session",
        max_age=settings.session_max_age_s,
        same_site="lax",
        https_only=False,
    )
    app.add_middleware(MetricsMiddleware)
    app.mount("/static", StaticFiles(directory=STATIC_DIR), name="static")

    @app.exception_handler(DomainError)
    async def _domain_error(request: Request, exc: DomainError) -> Response:
        if _wants_html(request):
            if isinstance(exc, Unauthorized):
                return RedirectResponse(f"/login?next={request.url.path}", status_code=303)
            from yibao.web.render import render_error

            return render_error(request, exc)
        return JSONResponse(status_code=exc.http_status, content={"error": exc.to_dict()})

    @app.exception_handler(RequestValidationError)
    async def _validation_error(_request: Request, exc: RequestValidationError) -> Response:
        details = [
            {"field": ".".join(str(p) for p in e.get("loc", ())), "message": e.get("msg")}
            for e in exc.errors()
        ]
        return JSONResponse(
            status_code=422,
            content={
                "error": {
                    "code": "validation_failed",
                    "message": "请求数据格式错误 / invalid request payload",
                    "details": details,
                }
            },
        )

    @app.get("/healthz", include_in_schema=False)
    def healthz() -> JSONResponse:
        try:
            with engine.connect() as conn:
                conn.execute(text("SELECT 1"))
        except Exception as exc:
            return JSONResponse(
                status_code=503, content={"status": "error", "database": str(exc)[:200]}
            )
        return JSONResponse(
            {"status": "ok", "database": engine.dialect.name, "version": __version__}
        )

    app.add_route("/metrics", metrics_endpoint, include_in_schema=False)

    from yibao.api.routes import router as api_router
    from yibao.web.pages import router as web_router

    app.include_router(api_router)
    app.include_router(web_router)
    return app
