"""``yibao cases``."""

from __future__ import annotations

from pathlib import Path

import typer
from sqlalchemy import func, select

from yibao.cases.models import Case
from yibao.cases.service import export_parquet
from yibao.cli.common import console, progress_bar
from yibao.db.scoping import SYSTEM_SCOPE, set_scope
from yibao.db.session import unit_of_work

app = typer.Typer(no_args_is_help=True)


@app.command("export")
def export(
    out: Path = typer.Option(Path("var/export"), help="输出目录 / output folder"),
    year: int | None = typer.Option(None, help="仅导出该出院年度 / one discharge year"),
) -> None:
    """导出结算清单为 Parquet（cases/diagnoses/procedures）/ export cases to Parquet."""
    with unit_of_work() as session:
        set_scope(session, SYSTEM_SCOPE)
        total = session.scalar(select(func.count(Case.id))) or 0
        with progress_bar("导出 / export", total) as bar:
            counts = export_parquet(
                session, out, year=year, progress=lambda n: bar.advance(bar.task_ids[0], n)
            )
    console.print(
        f"已导出到 {out}: 病例 {counts['cases']:,}，诊断 {counts['diagnoses']:,}，"
        f"手术 {counts['procedures']:,}"
    )
