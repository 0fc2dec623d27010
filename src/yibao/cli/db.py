"""``yibao db``."""

from __future__ import annotations

import typer

from yibao.cli.common import console, fail
from yibao.config import get_settings
from yibao.db import migrate

app = typer.Typer(no_args_is_help=True)


def _url(database_url: str | None) -> str:
    return database_url or get_settings().effective_database_url


@app.command("upgrade")
def upgrade(
    revision: str = typer.Argument("head", help="目标版本 / target revision"),
    database_url: str | None = typer.Option(None, help="默认取 YIBAO_DATABASE_URL"),
) -> None:
    """应用数据库迁移 / apply migrations."""
    url = _url(database_url)
    try:
        migrate.upgrade(url, revision)
    except Exception as exc:
        raise fail(f"数据库迁移失败 / migration failed: {exc}") from None
    console.print(f"数据库已迁移到 {migrate.current(url)} ({url.split('@')[-1]})")


@app.command("current")
def current(database_url: str | None = typer.Option(None)) -> None:
    """显示当前迁移版本 / show the current revision."""
    console.print(migrate.current(_url(database_url)) or "（未迁移 / empty）")
