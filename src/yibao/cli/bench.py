"""``yibao bench <name>``: benchmarks users can run; the last line is ``key=value`` figures."""

from __future__ import annotations

import os
import resource
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import typer
from rich.table import Table

from yibao.cli.bench_dashboards import dashboards_command
from yibao.cli.bench_group import group_command
from yibao.cli.common import console, fail, progress_bar

if TYPE_CHECKING:
    from yibao.engines.synth import CaseBatch

app = typer.Typer(no_args_is_help=True)


def _figures(**values: object) -> None:
    print(" ".join(f"{k}={v}" for k, v in values.items()), flush=True)


@app.command("generate")
def generate(
    cases: int = typer.Option(1_000_000, min=1, help="病例数 / number of cases"),
    years: int = typer.Option(1, min=1, max=10, help="分布到几个年度 / spread over years"),
    seed: int = typer.Option(1, help="随机种子"),
    out: Path | None = typer.Option(None, help="Parquet 输出目录（默认临时目录）"),
) -> None:
    """合成病例生成速度：生成并写出 Parquet / synthetic case generation speed."""
    from yibao.engines.synth import generate_cases, make_region, write_parquet
    from yibao.plans import plan_dir

    year_list = list(range(2025 - years + 1, 2026))
    per_year = -(-cases // years)
    with tempfile.TemporaryDirectory() as tmp:
        target = out or Path(tmp)
        t0 = time.perf_counter()
        region = make_region(seed)
        with progress_bar("生成 / generating", per_year * years) as bar:

            def batches() -> Iterator[CaseBatch]:
                for b in generate_cases(region, year_list, per_year, seed, plan_dir()):
                    bar.advance(bar.task_ids[0], b.cases.height)
                    yield b

            counts = write_parquet(batches(), target)
        elapsed = time.perf_counter() - t0
    rss_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    n = counts["cases"]
    console.print(
        f"生成 {n:,} 例（诊断 {counts['diagnoses']:,}，手术 {counts['procedures']:,}）"
        f"用时 {elapsed:.2f} 秒，{n / elapsed:,.0f} 例/秒，峰值内存 {rss_mb:,.0f} MB"
    )
    _figures(generate_cases=n, generate_s=f"{elapsed:.2f}")


app.command("group")(group_command)


@app.command("measure")
def measure(
    cases_per_year: int = typer.Option(1_000_000, min=1, help="每年病例数（共 3 年）"),
    data_dir: Path | None = typer.Option(
        None, help="合成病例 Parquet 目录（不存在则生成，不计时；默认 var/bench/measure-<N>）"
    ),
    seed: int = typer.Option(1, help="随机种子"),
) -> None:
    """测算流水线速度：分组、排除、裁剪、权重、费率、模拟 / measurement pipeline speed."""
    from yibao.config import get_settings
    from yibao.engines.measure.bench import STAGES, run_benchmark

    folder = data_dir or get_settings().var_dir / "bench" / f"measure-{cases_per_year}"
    with progress_bar("测算基准 / measurement benchmark", None) as bar:
        task = bar.task_ids[0]

        def report(stage: str, done: int, total: int) -> None:
            bar.update(task, description=stage, completed=done, total=total)

        r = run_benchmark(cases_per_year, folder, seed=seed, progress=report)
    if r.get("generated"):
        console.print(f"已生成 3 × {cases_per_year:,} 例合成病例到 {folder}（不计时）")
    table = Table("阶段 / stage", "秒 / s")
    for name in STAGES:
        key = f"{name}_s"
        if key in r:
            table.add_row(name, f"{r[key]:.2f}")
    console.print(table)
    console.print(
        f"病例 {r['measure_cases']:,}，合计 {r['measure_total_s']:.2f} 秒；"
        + "，".join(f"{k}={v}" for k, v in r.items() if k in ("drgs", "riv", "rate", "solved_rate"))
    )
    _figures(measure_cases=r["measure_cases"], measure_total_s=f"{r['measure_total_s']:.2f}")


# long: a benchmark's set-up, timed part and report stay together so what is timed is visible
@app.command("intake")
def intake(
    lists: int = typer.Option(100_000, min=1, help="结算清单份数"),
    database_url: str | None = typer.Option(
        None, help="数据库（默认 YIBAO_DATABASE_URL）；建议用专门的基准库"
    ),
    chunk: int = typer.Option(5_000, min=100, max=50_000, help="每个事务的清单数"),
    workers: int = typer.Option(
        1, min=0, max=8, help="解析质控进程数（0 = 不用子进程）/ parse+QC worker processes"
    ),
    seed: int = typer.Option(1, help="随机种子"),
) -> None:
    """结算清单批量接收速度：解析 + 质控 + 分组 + 支付计算 + 入库 / bulk intake speed."""
    import gc
    import time as _time
    from datetime import date

    from yibao.audit.service import Actor
    from yibao.config import get_settings
    from yibao.db.migrate import upgrade
    from yibao.db.scoping import SYSTEM_SCOPE, set_scope
    from yibao.db.session import make_engine, session_factory
    from yibao.demo.seed import demo_exists, seed_demo
    from yibao.engines.qc.bench import synthetic_lists
    from yibao.grouping.plans import plan_registry
    from yibao.settlement.intake.bulk import intake_stream

    url = database_url or get_settings().effective_database_url
    upgrade(url)
    engine = make_engine(url)
    sessions = session_factory(engine)
    with sessions() as session:
        set_scope(session, SYSTEM_SCOPE)
        if not demo_exists(session):
            seed_demo(session, seed=seed, years=[2023], cases_per_year=100)
            session.commit()
    settings = get_settings()
    plan = plan_registry(settings).for_date(date.today())
    console.print(f"生成 {lists:,} 份合成结算清单（不计时）…")
    messages = synthetic_lists(lists, plan, seed=seed, year=2024)
    run = f"B{int(_time.time())}"  # fresh settlement ids, so every list is a new intake
    for n, m in enumerate(messages):  # new visits too: not duplicates of a previous run
        m["setlinfo"]["setl_id"] = f"{run}{n:08d}"
        m["setlinfo"]["mdtrt_id"] = f"M{run}{n:08d}"
    actor = Actor(None, "bench")
    states: dict[str, int] = {}
    chunks = (messages[offset : offset + chunk] for offset in range(0, lists, chunk))
    gc.freeze()  # the generated messages are set-up data: keep them out of the collector's scans
    with progress_bar("接收 / intake", lists) as bar:
        started = _time.perf_counter()
        for outcomes in intake_stream(
            sessions,
            chunks,
            settings=settings,
            actor=actor,
            scope=SYSTEM_SCOPE,
            source="bench",
            workers=workers,
        ):
            for o in outcomes:
                states[str(o.state)] = states.get(str(o.state), 0) + 1
            bar.advance(bar.task_ids[0], len(outcomes))
        elapsed = _time.perf_counter() - started
    engine.dispose()
    rate = lists / elapsed
    console.print(
        f"接收 {lists:,} 份，用时 {elapsed:.2f} 秒，{rate:,.0f} 份/秒（{engine.dialect.name}，"
        f"每事务 {chunk:,} 份，{workers} 个解析质控进程）；状态 {states}"
    )
    _figures(intake_lists=lists, intake_lists_per_s=round(rate))


@app.command("web")
def web(
    clients: int = typer.Option(80, min=1, max=1000, help="同时在线用户数 / concurrent users"),
    seconds: float = typer.Option(30, min=1, max=3600, help="持续秒数 / duration"),
    database_url: str | None = typer.Option(
        None, help="数据库（默认临时 SQLite；空库先生成演示数据）/ database URL"
    ),
    workers: int | None = typer.Option(
        None, min=1, max=16, help="服务进程数（默认每个 CPU 核一个）/ server processes"
    ),
    seed: int = typer.Option(1, help="随机种子"),
) -> None:
    """多用户并发访问：页面与接口读取为主，夹带少量清单上传 / many users at once."""
    from yibao.cli.bench_web import bench_web

    # as deployed: one server process per core (threads do not add capacity, ADR 0009)
    workers = workers or max(1, min(4, os.cpu_count() or 1))

    try:
        result = bench_web(
            clients=clients,
            seconds=seconds,
            database_url=database_url,
            workers=workers,
            seed=seed,
            say=lambda text: console.print(text),
        )
    except RuntimeError as exc:
        raise fail(str(exc)) from None
    console.print(
        f"{result['requests']:,} 个请求，{result['per_s']:,.0f} 个/秒；"
        f"p50 {result['p50_ms']:,.0f} ms，p90 {result['p90_ms']:,.0f} ms，"
        f"p99 {result['p99_ms']:,.0f} ms；错误 {result['errors']}（{result['database']}，"
        f"{workers} 个服务进程）；状态 {result['statuses']}；"
        f"压测进程占用 CPU {result['generator_cpu_share']:.0%}"
    )
    console.print(f"上传清单 {result['lists_sent']:,} 份；耗时最多的请求（次数、p50、合计）：")
    for name, n, p50, total in result["slowest"]:
        console.print(
            f"  {name:<40} {n:>6,} 次  p50 {p50:>6,.0f} ms  合计 {total:>6,.1f} s",
            soft_wrap=True,
        )
    if result["error_kinds"]:
        console.print(f"错误分布：{result['error_kinds']}")
    _figures(
        web_requests=result["requests"],
        web_per_s=round(result["per_s"]),
        p50_ms=round(result["p50_ms"]),
        p90_ms=round(result["p90_ms"]),
        p99_ms=round(result["p99_ms"]),
        errors=result["errors"],
    )


# long: the options and the report of one benchmark, kept together
@app.command("exchange")
def exchange(
    clients: int = typer.Option(200, min=1, max=2000, help="同时连接的 HIS 客户端数 / connections"),
    seconds: float = typer.Option(30, min=1, max=3600, help="压测秒数 / duration"),
    database_url: str | None = typer.Option(
        None, help="数据库（默认临时 SQLite；空库先生成演示数据）/ database URL"
    ),
    workers: int | None = typer.Option(
        None, min=1, max=16, help="服务进程数（默认每个 CPU 核一个）/ server processes"
    ),
    hospitals: int = typer.Option(10, min=1, max=100, help="参与的医院数 / institutions"),
    lines: int = typer.Option(6, min=1, max=100, help="每次住院的费用明细条数 / fee lines a stay"),
    stays: int | None = typer.Option(
        None, min=1, help="待结算住院数（默认按时长估算）/ stays to prepare"
    ),
    threads: int = typer.Option(2, min=1, max=16, help="wrk 线程数 / wrk threads"),
    seed: int = typer.Option(1, help="随机种子"),
) -> None:
    """交易接口实时结算：预结算、结算与少量撤销 / real-time settlement through the gateway."""
    from yibao.cli.bench_exchange import bench_exchange

    workers = workers or max(1, min(4, os.cpu_count() or 1))
    try:
        r = bench_exchange(
            clients=clients,
            seconds=seconds,
            database_url=database_url,
            workers=workers,
            hospitals=hospitals,
            lines=lines,
            stays=stays,
            threads=threads,
            seed=seed,
            say=lambda text: console.print(text),
        )
    except RuntimeError as exc:
        raise fail(str(exc)) from None
    table = Table("报文 / messages", "次数 / count", title="交易 / transactions")
    for key, n in sorted(r["counts"].items()):
        table.add_row(key, f"{n:,}")
    for key, n in r["wrk_errors"].items():
        if n:
            table.add_row(f"wrk {key} errors", f"{n:,}")
    console.print(table)
    checks = Table("数据库核对 / database check", "结果 / result", title="核对 / checks")
    for key, n in r["checks"].items():
        checks.add_row(key, f"{n:,}")
    console.print(checks)
    console.print(
        f"结算 {r['settlements']:,} 笔，{r['per_s']:,.0f} 笔/秒（{r['elapsed_s']:.1f} 秒）；"
        f"2304 p50 {r['p50_ms']:,.0f} ms，p90 {r['p90_ms']:,.0f} ms，p99 {r['p99_ms']:,.0f} ms，"
        f"最长 {r['max_ms']:,.0f} ms；错误 {r['errors']}，重复 {r['duplicates']}"
        f"（{r['database']}，{r['workers']} 个服务进程，{r['stays']:,} 个待结算住院）"
    )
    if r["server_cpu_ms"]:
        console.print(
            f"每笔结算（含预结算与撤销）的 CPU：服务 {r['server_cpu_ms']:.1f} ms，"
            f"PostgreSQL {r['db_cpu_ms']:.1f} ms，wrk {r['wrk_cpu_ms']:.2f} ms"
        )
    if r["exhausted"]:
        console.print("[yellow]待结算住院在压测结束前用完：请用 --stays 准备更多[/]")
    for text in r["samples"]:
        console.print(f"  例 / sample: {text}", soft_wrap=True)
    _figures(
        exchange_settlements=r["settlements"],
        settlements_per_s=round(r["per_s"]),
        p50_ms=round(r["p50_ms"]),
        p99_ms=round(r["p99_ms"]),
        errors=r["errors"],
        duplicates=r["duplicates"],
    )


# long: the options and the report of one benchmark, kept together
@app.command("audit")
def audit(
    clients: int = typer.Option(100, min=1, max=2000, help="同时连接数 / connections"),
    seconds: float = typer.Option(30, min=1, max=3600, help="压测秒数 / duration"),
    url: str | None = typer.Option(
        None, help="已运行的服务地址（默认在空闲端口启动一个）/ server to load"
    ),
    database_url: str | None = typer.Option(
        None, help="数据库（默认临时 SQLite；空库先生成演示数据）/ database URL"
    ),
    workers: int | None = typer.Option(
        None, min=1, max=16, help="服务进程数（默认每个 CPU 核一个）/ server processes"
    ),
    hospitals: int = typer.Option(10, min=1, max=100, help="参与的医院数 / institutions"),
    bodies: int = typer.Option(
        5_000, min=10, max=200_000, help="预先生成的不同请求数 / distinct requests"
    ),
    max_requests: int = typer.Option(
        2_000_000, min=1, help="请求总数上限 / at most this many requests"
    ),
    rate: int = typer.Option(
        2_000,
        min=0,
        max=1_000_000,
        help="目标请求速率（次/秒，0 = 不限速测最大吞吐）/ offered rate, 0: as fast as answered",
    ),
    threads: int = typer.Option(2, min=1, max=16, help="wrk 线程数 / wrk threads"),
    seed: int = typer.Option(1, help="随机种子"),
) -> None:
    """实时审核（3101 事前、3102 事中）吞吐与延迟 / real-time audit throughput."""
    from yibao.cli.bench_audit import bench_audit

    workers = workers or max(1, min(4, os.cpu_count() or 1))
    try:
        r = bench_audit(
            clients=clients,
            seconds=seconds,
            url=url,
            database_url=database_url,
            workers=workers,
            hospitals=hospitals,
            bodies=bodies,
            max_requests=max_requests,
            threads=threads,
            seed=seed,
            say=lambda text: console.print(text),
            rate=rate,
        )
    except RuntimeError as exc:
        raise fail(str(exc)) from None
    console.print(
        f"审核 {r['requests']:,} 次，{r['per_s']:,.0f} 次/秒（{r['elapsed_s']:.1f} 秒）；"
        f"p50 {r['p50_ms']:.1f} ms，p90 {r['p90_ms']:.1f} ms，p99 {r['p99_ms']:.1f} ms，"
        f"最长 {r['max_ms']:,.0f} ms；错误 {r['errors']}"
        f"（{r['database']}，{r['workers']} 个服务进程）"
    )
    for text in r["samples"]:
        console.print(f"  错误例 / failed: {text}", soft_wrap=True)
    _figures(
        audit_requests=r["requests"],
        audit_per_s=round(r["per_s"]),
        p50_ms=round(r["p50_ms"], 1),
        p90_ms=round(r["p90_ms"], 1),
        p99_ms=round(r["p99_ms"], 1),
        errors=r["errors"],
    )


@app.command("dip")
def dip_bench(
    cases_per_year: int = typer.Option(1_000_000, min=1, help="每年病例数（共 3 年）"),
    data_dir: Path | None = typer.Option(
        None, help="合成病例 Parquet 目录（不存在则生成，不计时；默认 var/bench/measure-<N>）"
    ),
    seed: int = typer.Option(1, help="随机种子"),
) -> None:
    """DIP 流水线速度：组合、目录、分值、同级标准、分组、支付 / DIP pipeline speed."""
    from yibao.config import get_settings
    from yibao.engines.dip.bench import STAGES, run_benchmark

    folder = data_dir or get_settings().var_dir / "bench" / f"measure-{cases_per_year}"
    with progress_bar("DIP 基准 / DIP benchmark", None) as bar:
        task = bar.task_ids[0]

        def report(stage: str, done: int, total: int) -> None:
            bar.update(task, description=stage, completed=done, total=total)

        r = run_benchmark(cases_per_year, folder, seed=seed, progress=report)
    if r.get("generated"):
        console.print(f"已生成 3 × {cases_per_year:,} 例合成病例到 {folder}（不计时）")
    table = Table("阶段 / stage", "秒 / s")
    for name in STAGES:
        table.add_row(name, f"{r[f'{name}_s']:.2f}")
    console.print(table)
    console.print(
        f"病例 {r['dip_cases']:,}：核心病种 {r['core_groups']:,}，综合病种 "
        f"{r['comprehensive_groups']:,}；模拟最近一年 {r['simulated_cases']:,} 例、"
        f"{r['hospitals']} 家医院，费用中性点值 {r['point_value']} 元/分；"
        f"合计 {r['dip_total_s']:.2f} 秒，峰值内存 {r['dip_peak_rss_mb']:,} MB"
    )
    _figures(
        dip_cases=r["dip_cases"],
        dip_total_s=f"{r['dip_total_s']:.2f}",
        dip_peak_rss_mb=r["dip_peak_rss_mb"],
    )


@app.command("monitoring")
def monitoring_bench(requests: int = typer.Option(20_000, min=100, help="每轮请求数")) -> None:
    """应用监控的开销：各组件全开与全关时每个请求的耗时 / monitoring overhead."""
    from yibao.cli.bench_monitoring import measure

    r = measure(requests)
    parts = "，".join(f"{k} {r[f'{k}_us']} µs" for k in ("metrics", "route_stats", "request_log"))
    console.print(f"每请求：监控全开 {r['on_us']} µs，全关 {r['off_us']} µs；单项开销 {parts}")
    _figures(
        monitoring_on_us=r["on_us"],
        monitoring_off_us=r["off_us"],
        monitoring_overhead_us=r["overhead_us"],
    )


app.command("dashboards")(dashboards_command)


@app.command("post-audit")
def post_audit(
    lines: int = typer.Option(1_000_000, min=1_000, help="费用明细行数 / claim lines"),
    rules: int = typer.Option(300, min=1, max=5_000, help="规则数 / enabled rules"),
    cases: int | None = typer.Option(
        None, min=1_000, help="住院病例数（默认明细行数的十分之一）/ inpatient cases"
    ),
    seed: int = typer.Option(1, help="随机种子"),
) -> None:
    """事后审核：规则批量审核明细行，加 DRG 专项检测 / post-audit: rules and detectors."""
    from yibao.engines.audit.bench import batch_lines_s
    from yibao.engines.audit.detectors_bench import post_audit_s

    n_cases = cases or max(1_000, lines // 10)
    rules_s = batch_lines_s(lines=lines, n_rules=rules, seed=seed)
    detectors_s = post_audit_s(cases=n_cases, seed=seed)
    total = rules_s + detectors_s
    rss_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    console.print(
        f"规则 {rules} 条审核 {lines:,} 行明细 {rules_s:.2f} 秒；DRG 专项检测 {n_cases:,} 例"
        f"（7 个月，审核最后一月，含门诊就诊）{detectors_s:.2f} 秒；合计 {total:.2f} 秒，"
        f"峰值内存 {rss_mb:,.0f} MB（合成数据，生成与编译不计时）"
    )
    _figures(postaudit_lines=lines, postaudit_s=f"{total:.2f}")
