"""``yibao analysis refresh``: rebuild a region's decision-analysis summaries (as the
page's 刷新汇总 job does), e.g. nightly from cron."""

from __future__ import annotations

import time

import typer

from yibao.analysis.refresh import do_refresh
from yibao.audit.service import Actor
from yibao.cli.common import console, domain_errors
from yibao.config import get_settings
from yibao.db.scoping import Scope, set_scope
from yibao.db.session import unit_of_work
from yibao.grouping.plans import plan_registry

app = typer.Typer(no_args_is_help=True)


@app.command("refresh")
def refresh(
    region: str = typer.Option("990100", help="区划代码（市或省）/ region code"),
) -> None:
    """刷新决策分析汇总表 / rebuild the decision-analysis summaries of a region."""
    started = time.perf_counter()
    with domain_errors(), unit_of_work() as session:
        set_scope(session, Scope(region_code=region))
        state = do_refresh(
            session,
            region,
            Actor(None, "cli"),
            progress=lambda text: console.print(f"{text} …"),
            registry=plan_registry(get_settings()),
        )
        summary = dict(state.summary)
    console.print(
        f"已刷新 {region}：病例 {summary['cases']:,} 例，{summary['case_months']:,} 个病例月，"
        f"DRG 指标 {summary['drg_years']:,} 行，用时 {time.perf_counter() - started:.1f} 秒"
    )
