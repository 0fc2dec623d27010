"""``yibao demo``."""

from __future__ import annotations

import time
from pathlib import Path

import typer
from rich.table import Table

from yibao.analysis.refresh import do_refresh
from yibao.cli.common import console, domain_errors, fail, progress_bar
from yibao.cli.demo_gateway import GatewaySeedResult, drive_gateway
from yibao.config import Settings, get_settings
from yibao.db.scoping import SYSTEM_SCOPE, set_scope
from yibao.db.session import get_engine, unit_of_work
from yibao.demo.audit_traffic import RealtimeSeedResult, seed_realtime_audits
from yibao.demo.findings import FindingsSeedResult, seed_findings
from yibao.demo.seed import CITY, DEMO_PASSWORD, SEED_ACTOR, demo_exists, reset_demo, seed_demo
from yibao.demo.settlement import default_lists_per_month, seed_settlement, settlement_months
from yibao.grouping.plans import plan_registry
from yibao.kit.timeutil import local, utcnow

app = typer.Typer(no_args_is_help=True)


def parse_years(text: str) -> list[int]:
    try:
        years = sorted({int(y) for y in text.replace(" ", "").split(",") if y})
    except ValueError:
        raise fail(f"--years 应为逗号分隔的年份，如 2023,2024,2025：{text!r}") from None
    if not years or any(y < 2000 or y > 2100 for y in years):
        raise fail(f"--years 年份应在 2000–2100 之间：{text!r}")
    return years


def print_logins(token: str | None = None) -> None:
    from sqlalchemy import select

    from yibao.accounts.models import User
    from yibao.accounts.roles import Role

    table = Table(title=f"演示账号（密码均为 {DEMO_PASSWORD}）/ demo logins", show_lines=False)
    table.add_column("用户名")
    table.add_column("角色")
    table.add_column("范围")
    with unit_of_work() as session:
        users = list(
            session.scalars(select(User).where(User.password_hash != "").order_by(User.id))
        )
        shown = [
            u
            for u in users
            if not u.username.startswith("hosp") or u.username in ("hosp01", "hosp02")
        ]
        for u in shown:
            scope = u.hospital.name if u.hospital else f"区划 {u.region_code}"
            table.add_row(u.username, Role(u.role).label, scope)
        more = len(users) - len(shown)
    console.print(table)
    if more:
        console.print(f"另有 {more} 个医院账号 hosp03… 同一密码 / {more} more hospital logins")
    if token:
        console.print(f"HIS 接口令牌 his01（只显示一次）: [bold]{token}[/]")


# long: the command's options and its step-by-step console report
@app.command("seed")
def seed(
    seed_value: int | None = typer.Option(None, "--seed", help="随机种子（默认 YIBAO_DEMO_SEED）"),
    cases_per_year: int | None = typer.Option(
        None, min=1, max=5_000_000, help="每年病例数（默认 YIBAO_DEMO_CASES_PER_YEAR=20000）"
    ),
    years: str | None = typer.Option(None, help="年度，逗号分隔（默认 2023,2024,2025）"),
    hospitals: int = typer.Option(30, min=3, max=500, help="医院数 / hospitals"),
    settlement: bool = typer.Option(
        True,
        help="测算发布支付标准并生成最近两个月的结算清单、审核和确认 / settlement workload",
    ),
    lists_per_month: int | None = typer.Option(
        None,
        min=1,
        max=4_000,
        help="每个结算月的清单数（默认每年病例数的 1/20，30–2000）/ lists per month",
    ),
    reset: bool = typer.Option(False, help="先删除已有演示数据 / delete the demo region first"),
    if_empty: bool = typer.Option(False, help="已有演示数据时跳过 / skip when already seeded"),
) -> None:
    """生成演示地区、医院、账号、三年历史病例，以及支付标准和最近两个月的结算业务 /
    seed the synthetic demo region (with a settlement workload unless --no-settlement)."""
    settings = get_settings()
    year_list = parse_years(years or settings.demo_years)
    per_year = cases_per_year or settings.demo_cases_per_year
    seed_used = settings.demo_seed if seed_value is None else seed_value
    with unit_of_work() as session:
        set_scope(session, SYSTEM_SCOPE)
        exists = demo_exists(session)
    if exists and if_empty and not reset:
        console.print("演示数据已存在，跳过生成 / demo data present, skipped")
        return
    started = time.perf_counter()
    with domain_errors(), unit_of_work(get_engine()) as session:
        set_scope(session, SYSTEM_SCOPE)
        if reset and exists:
            n = reset_demo(session)
            console.print(f"已删除演示数据（{n:,} 例）/ demo region removed")
        with progress_bar("生成演示病例 / generating cases", per_year * len(year_list)) as bar:
            result = seed_demo(
                session,
                seed=seed_used,
                years=year_list,
                cases_per_year=per_year,
                hospitals=hospitals,
                progress=lambda n: bar.advance(bar.task_ids[0], n),
            )
        workload = None
        audits = RealtimeSeedResult()
        if settlement:
            workload = seed_settlement(
                session,
                seed=seed_used,
                years=year_list,
                registry=plan_registry(settings),
                var_dir=settings.var_dir,
                lists_per_month=lists_per_month or default_lists_per_month(per_year),
                hospitals=hospitals,
                step=lambda text: console.print(f"{text} …"),
            )
            console.print("事前事中审核（演示 HIS 请求）/ real-time audits …")
            audits = seed_realtime_audits(session, CITY, seed=seed_used, settings=settings)
        console.print("提交事务 / committing …")
    refresh_statistics()
    traffic = None
    if settlement and result.his_token:
        traffic = seed_traffic(settings, result.his_token)
    with domain_errors(), unit_of_work(get_engine()) as session:
        set_scope(session, SYSTEM_SCOPE)
        console.print("决策分析汇总 / decision-analysis summaries …")
        do_refresh(session, CITY, SEED_ACTOR, registry=plan_registry(settings))
    elapsed = time.perf_counter() - started
    console.print(
        f"演示数据已生成：医院 {result.hospitals}，病例 {result.cases:,}，"
        f"诊断 {result.diagnoses:,}，手术 {result.procedures:,}，"
        f"用时 {elapsed:.1f} 秒（种子 {seed_used}）"
    )
    people = result.insured
    console.print(
        f"医保目录已发布（版本 {result.catalogue_id}）；参保人员 {people.get('persons', 0):,}"
        f"（个人账户 {people.get('accounts', 0):,}，本年已有累计 {people.get('openings', 0):,}）"
    )
    if workload is not None:
        console.print(workload.summary())
        console.print(audits.summary())
    if traffic is not None:
        console.print(traffic[0].summary())
        console.print(traffic[1].summary())
    print_logins(result.his_token)


def seed_traffic(
    settings: Settings, his_token: str
) -> tuple[GatewaySeedResult, FindingsSeedResult]:
    """After the seed has committed: the demo HIS's flows through the gateway, then the
    post-audit of the settlement months and this month, with findings published and
    answered (:mod:`yibao.cli.demo_gateway`, :mod:`yibao.demo.findings`)."""
    console.print("实时结算演示（HIS 经交易接口）/ settlements through the gateway …")
    gateway = GatewaySeedResult()
    drive_gateway(settings, his_token, gateway)
    today = local(utcnow()).date()
    months = sorted({*settlement_months(today), today.strftime("%Y-%m")})
    console.print("事后审核与疑点公示 / post-audit and findings …")
    with domain_errors(), unit_of_work(get_engine()) as session:
        found = seed_findings(session, CITY, months)
    return gateway, found


def refresh_statistics() -> None:
    """After a bulk load, give PostgreSQL's planner current row counts (the first
    autovacuum may come only minutes later, and the pages would meanwhile scan)."""
    engine = get_engine()
    if engine.dialect.name != "postgresql":
        return
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.exec_driver_sql("ANALYZE")


@app.command("logins")
def logins() -> None:
    """显示演示账号 / print the demo logins."""
    print_logins()


@app.command("persons")
def persons(
    out: Path = typer.Option(..., "--out", help="写入的 JSON 文件 / sim kit file to write"),
    count: int = typer.Option(40, min=1, max=5_000, help="参保人员数 / persons"),
    codes: int = typer.Option(40, min=3, max=1_000, help="目录编码数 / catalogue codes"),
) -> None:
    """导出 HIS 模拟所需的演示参保人员和目录编码（sim kit，供 yibao his-sim --kit）/
    export demo persons and catalogue codes for ``yibao his-sim``."""
    import json

    from yibao.demo.simkit import demo_sim_kit
    from yibao.kit.timeutil import local, utcnow

    with domain_errors(), unit_of_work() as session:
        set_scope(session, SYSTEM_SCOPE)
        kit = demo_sim_kit(session, persons=count, codes=codes, on=local(utcnow()).date())
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(kit, ensure_ascii=False, indent=1), encoding="utf-8")
    console.print(
        f"已写入 {out}：参保人员 {len(kit['persons'])}，目录编码 {len(kit['codes'])}，"
        f"机构 {kit['hospital_code']}（HIS 用户 {kit['his_user']}）"
    )
