"""``yibao bench dashboards``: the home page, every supervision screen and module, the
map and every decision-analysis report, as a bureau, a district bureau and a hospital
user see them, on a region of ``--cases-per-year`` × 3 years (issue 15 item 6).

The benchmark migrates the database, seeds the demo region when it is empty (above
100,000 cases a year without the settlement workload, whose measurement would group
every case first), refreshes the decision-analysis summaries when none exist, starts
``yibao serve`` on a free loopback port, and requests each page and endpoint
``--rounds`` times per user, one request at a time (a manager's browser), after two
warm-up requests each (one per server process).  It stops by itself.  The last line
is ``dashboards_p95_ms=… dashboards_max_ms=…``.
"""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import typer

from yibao.cli.common import console, fail

USERS = ("admin", "district_reviewer", "hosp01")
REPORTS = ("institutions", "trend", "drg", "dip", "usage", "fund")
MODULES = ("bills", "counts", "results", "hospitals", "trend", "visits")
PATHS: tuple[str, ...] = (
    "/",
    "/screens",
    *(f"/screens/modules/{m}" for m in MODULES),
    "/maps",
    "/api/maps/current/figures",
    *(f"/analysis/{r}" for r in REPORTS),
    *(f"/api/analysis/reports/{r}" for r in REPORTS),
)


def _run(env: dict[str, str], *args: str) -> str:
    from yibao.cli.bench_web import SERVE

    done = subprocess.run(
        [sys.executable, "-c", SERVE, *args], env=env, capture_output=True, text=True, check=False
    )
    if done.returncode != 0:
        tail = f"{done.stdout[-2000:]}\n{done.stderr[-2000:]}"
        raise RuntimeError(f"yibao {' '.join(args)} 失败：\n{tail}")
    return done.stdout


def prepare(env: dict[str, str], cases_per_year: int, say: Any) -> None:
    say("yibao db upgrade …")
    _run(env, "db", "upgrade")
    seed = ["demo", "seed", "--if-empty", "--cases-per-year", str(cases_per_year)]
    if cases_per_year > 100_000:
        seed.append("--no-settlement")
    say(f"yibao {' '.join(seed)} …（已有演示数据时跳过）")
    _run(env, *seed)
    probe = (
        "from sqlalchemy import select, func\n"
        "from yibao.db.session import unit_of_work\n"
        "from yibao.analysis.models import AnalysisState\n"
        "with unit_of_work() as s:\n"
        "    print(s.scalar(select(func.count()).select_from(AnalysisState)))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", probe], env=env, capture_output=True, text=True, check=False
    )
    if done.stdout.strip() in ("", "0"):
        say("yibao analysis refresh …")
        _run(env, "analysis", "refresh")


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    if not ordered:
        return 0.0
    k = min(len(ordered) - 1, max(0, round(q * (len(ordered) - 1))))
    return ordered[k]


async def measure(base: str, rounds: int) -> tuple[dict[str, list[float]], list[str]]:
    """Per "user path": the latencies (ms) of ``rounds`` requests; failures listed."""
    from yibao.cli.bench_web import login

    times: dict[str, list[float]] = {}
    errors: list[str] = []
    for username in USERS:
        http = await login(base, username)
        try:
            for path in PATHS:
                key = f"{username} {path}"
                for n in range(rounds + 2):
                    started = time.perf_counter()
                    r = await http.get(path, headers={"accept": "text/html"})
                    ms = (time.perf_counter() - started) * 1000
                    if r.status_code >= 400:
                        errors.append(f"{key} → HTTP {r.status_code}")
                        break
                    if n >= 2:  # two warm-ups: one per server process
                        times.setdefault(key, []).append(ms)
                    else:
                        times.setdefault("warm-up", []).append(ms)
        finally:
            await http.aclose()
    return times, errors


# long: set-up, the server's life and the report in one sequence
def bench_dashboards(
    *,
    database_url: str | None,
    cases_per_year: int,
    rounds: int,
    workers: int,
    say: Any,
) -> dict[str, Any]:
    from yibao.cli.bench_web import free_port, start_server, wait_healthy

    with tempfile.TemporaryDirectory(prefix="yibao-dash-") as tmp:
        folder = Path(tmp)
        url = database_url or f"sqlite:///{folder / 'bench.db'}"
        env = {
            **os.environ,
            "YIBAO_DATABASE_URL": url,
            "YIBAO_VAR_DIR": str(folder / "var"),
            "YIBAO_SECRET_KEY": os.environ.get("YIBAO_SECRET_KEY", "bench-dashboards"),
            "YIBAO_LOG_LEVEL": "WARNING",
        }
        prepare(env, cases_per_year, say)
        port = free_port()
        log = folder / "server.log"
        server = start_server(env, port, workers, log)
        base = f"http://127.0.0.1:{port}"
        try:
            asyncio.run(wait_healthy(base, server, log, ready_in_a_row=2 * workers))
            say(f"服务已启动（{workers} 个进程），按 3 类用户请求 {len(PATHS)} 个页面与接口 …")
            times, errors = asyncio.run(measure(base, rounds))
        finally:
            server.terminate()
            try:
                server.wait(timeout=20)
            except subprocess.TimeoutExpired:
                server.kill()
    warm = times.pop("warm-up", [])
    every = [ms for values in times.values() for ms in values]
    slowest = sorted(
        ((k, percentile(v, 0.5), percentile(v, 0.95), max(v)) for k, v in times.items()),
        key=lambda row: -row[2],
    )[:10]
    return {
        "requests": len(every),
        "p50_ms": percentile(every, 0.5),
        "p95_ms": percentile(every, 0.95),
        "max_ms": max(every) if every else 0.0,
        "warm_max_ms": max(warm) if warm else 0.0,
        "slowest": slowest,
        "errors": errors,
        "database": url.split("://")[0],
    }


def dashboard_lines(r: dict[str, Any]) -> list[str]:
    """The human-readable report: totals, then the slowest pages."""
    lines = [
        f"{r['requests']:,} 个请求（{r['database']}），失败 {len(r['errors'])}："
        f"p50 {r['p50_ms']:,.0f} ms，p95 {r['p95_ms']:,.0f} ms，最长 {r['max_ms']:,.0f} ms"
        f"（预热请求最长 {r['warm_max_ms']:,.0f} ms，不计入）；"
        "最慢的页面（p50、p95、最长）："
    ]
    for key, p50, p95, top in r["slowest"]:
        lines.append(f"  {key:<48} {p50:>7,.0f} {p95:>7,.0f} {top:>7,.0f} ms")
    if r["errors"]:
        lines.append(f"失败：{r['errors'][:10]}")
    return lines


def dashboards_command(
    cases_per_year: int = typer.Option(20_000, min=100, help="每年病例数（共 3 年）"),
    database_url: str | None = typer.Option(
        None, help="数据库（默认临时 SQLite；空库先生成演示数据）/ database URL"
    ),
    rounds: int = typer.Option(10, min=1, max=1000, help="每个页面每个用户的请求次数"),
    workers: int = typer.Option(2, min=1, max=16, help="服务进程数 / server processes"),
) -> None:
    """首页、实时监控、地图与决策分析各页面的响应时间 / dashboard latencies."""
    try:
        r = bench_dashboards(
            database_url=database_url,
            cases_per_year=cases_per_year,
            rounds=rounds,
            workers=workers,
            say=lambda text: console.print(text),
        )
    except RuntimeError as exc:
        raise fail(str(exc)) from None
    for line in dashboard_lines(r):
        console.print(line, soft_wrap=True)
    print(
        f"dashboards_p95_ms={round(r['p95_ms'])} dashboards_max_ms={round(r['max_ms'])}",
        flush=True,
    )
