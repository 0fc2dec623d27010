"""``yibao serve``."""

from __future__ import annotations

import typer
import uvicorn

from yibao.config import get_settings


def serve(
    host: str | None = typer.Option(None, help="默认 YIBAO_HOST=127.0.0.1"),
    port: int | None = typer.Option(None, help="默认 YIBAO_PORT=8000"),
    workers: int = typer.Option(1, min=1, help="进程数 / worker processes"),
    reload: bool = typer.Option(False, help="开发时自动重载 / auto-reload"),
) -> None:
    """启动 Web 界面与 API / serve the web UI and the API."""
    settings = get_settings()
    uvicorn.run(
        "yibao.api.app:create_app",
        factory=True,
        host=host or settings.host,
        port=port or settings.port,
        workers=workers,
        reload=reload,
        access_log=False,
        log_level=settings.log_level.lower(),
    )
