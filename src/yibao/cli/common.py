"""Shared CLI helpers: console, progress bars, error reporting."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import typer
from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)

from yibao.kit.errors import DomainError

console = Console()
err_console = Console(stderr=True)


def fail(message: str, code: int = 2) -> typer.Exit:
    """Print a clear error (Chinese first) to stderr and return an Exit to raise."""
    err_console.print(f"[bold red]错误[/] {message}")
    return typer.Exit(code)


@contextmanager
def domain_errors() -> Iterator[None]:
    try:
        yield
    except DomainError as exc:
        field = f"（字段 {exc.field}）" if exc.field else ""
        raise fail(f"{exc.message}{field}") from None


@contextmanager
def progress_bar(description: str, total: int | None) -> Iterator[Progress]:
    with Progress(
        TextColumn("[progress.description]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        TimeRemainingColumn(),
        console=err_console,
        transient=False,
    ) as progress:
        progress.add_task(description, total=total)
        yield progress
