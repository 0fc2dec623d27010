"""``yibao serve``."""

from __future__ import annotations

import os

import typer
import uvicorn

from yibao.cli.workers import balances_by_port, run_workers
from yibao.config import get_settings

APP = "yibao.api.app:serve_app"


def serve(
    host: str | None = typer.Option(None, help="默认 YIBAO_HOST=127.0.0.1"),
    port: int | None = typer.Option(None, help="默认 YIBAO_PORT=8000"),
    workers: int = typer.Option(1, min=1, help="进程数 / worker processes"),
    reload: bool = typer.Option(False, help="开发时自动重载 / auto-reload"),
) -> None:
    """启动 Web 界面与 API / serve the web UI and the API."""
    # each server process compiles templates and today's plan in the background at start
    os.environ.setdefault("YIBAO_WARM_UP", "true")
    get_settings.cache_clear()
    settings = get_settings()
    config = uvicorn.Config(
        APP,
        factory=True,
        host=host or settings.host,
        port=port or settings.port,
        workers=workers,
        reload=reload,
        access_log=False,
        log_level=settings.log_level.lower(),
    )
    if workers > 1 and not reload and balances_by_port():
        # each process its own socket: connections spread evenly (yibao.cli.workers)
        run_workers(config)
    else:
        uvicorn.run(
            APP,
            factory=True,
            host=config.host,
            port=config.port,
            workers=workers,
            reload=reload,
            access_log=False,
            log_level=settings.log_level.lower(),
        )
