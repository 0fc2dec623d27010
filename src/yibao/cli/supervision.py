"""``yibao supervision``: intelligent audit from the command line — a post-audit run of
a region and the expiry sweep of the findings workflow (for cron, ADR 0024)."""

from __future__ import annotations

import typer

from yibao.audit.service import Actor
from yibao.cli.common import console, domain_errors
from yibao.db.scoping import Scope, set_scope
from yibao.db.session import unit_of_work

app = typer.Typer(no_args_is_help=True)
CLI_ACTOR = Actor(None, "cli")
REGION = typer.Option(..., "--region", help="医保区划代码（如 990100）/ region code")


@app.command("post-audit")
def post_audit(
    region: str = REGION,
    period_from: str = typer.Option(..., "--from", help="开始月份 YYYY-MM / first month"),
    period_to: str | None = typer.Option(None, "--to", help="结束月份 YYYY-MM / last month"),
) -> None:
    """事后审核：审核区划内一个月或连续多个月的已存数据并保存疑点 / run a post-audit."""
    from yibao.supervision.findings.run import parse_months, run_post_audit

    with domain_errors(), unit_of_work() as session:
        set_scope(session, Scope(region_code=region))
        months = parse_months(period_from, period_to)
        summary = run_post_audit(
            session, months, actor=CLI_ACTOR, note=lambda m: console.print(m, highlight=False)
        )
    console.print(
        f"发现疑点 {summary['found']:,} 条：新增 {summary['new']:,}，已有 "
        f"{summary['refreshed'] + summary['kept']:,}，撤销 {summary['dropped']:,}"
    )
    for note in summary["notes"]:
        console.print(f"[yellow]注意[/] {note}")


@app.command("expire-findings")
def expire_findings(region: str = REGION) -> None:
    """逾期未答复的疑点按规则维持并计入扣款（可由 cron 每日运行）/ expiry sweep."""
    from yibao.supervision.findings.service import do_expire_overdue

    with domain_errors(), unit_of_work() as session:
        set_scope(session, Scope(region_code=region))
        count = do_expire_overdue(session, actor=CLI_ACTOR)
    console.print(f"逾期维持的疑点 {count:,} 条 / findings upheld after their deadline")
