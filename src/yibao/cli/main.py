"""``yibao`` command line (Typer)."""

from __future__ import annotations

import typer

from yibao.cli import (
    analysis,
    bench,
    cases,
    db,
    demo,
    exchange,
    his_sim,
    measure,
    plans,
    serve,
    supervision,
    users,
)

app = typer.Typer(
    name="yibao",
    help="Yibao 医保 DRG/DIP 平台命令行 / command line",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)
app.command("serve", help="启动 Web 服务 / serve the web UI and API")(serve.serve)
app.add_typer(db.app, name="db", help="数据库迁移 / database migrations")
app.add_typer(demo.app, name="demo", help="演示数据 / demo data")
app.add_typer(users.app, name="users", help="用户与令牌 / users and API tokens")
app.add_typer(cases.app, name="cases", help="结算清单 / cases")
app.add_typer(plans.app, name="plans", help="分组方案 / grouping plans")
app.command("group", help="对病例文件分组 / group a case file")(plans.group)
app.add_typer(measure.app, name="measure", help="DRG 测算 / measurement")
app.add_typer(bench.app, name="bench", help="性能基准 / benchmarks")
app.add_typer(analysis.app, name="analysis", help="决策分析汇总 / decision-analysis summaries")
app.add_typer(exchange.app, name="exchange", help="交易接口管理（签名密钥）/ gateway admin")
app.add_typer(
    supervision.app, name="supervision", help="智能审核：事后审核、疑点逾期处理 / intelligent audit"
)
app.command("his-sim", help="模拟 HIS 调用交易接口 / simulate a HIS")(his_sim.his_sim)


if __name__ == "__main__":
    app()
