"""``yibao bench exchange``: hospitals' HIS systems settling in real time through the
transaction gateway (issue 12), bounded and self-stopping.

1. **World.** The database is migrated and, when empty, seeded with the demo region
   (hospitals, the insured register, a published catalogue and benefit policies).
   The first ``--hospitals`` hospitals each get a HIS client user and a fresh token.
2. **Set-up (not timed).** The server starts on a free loopback port with
   ``--workers`` processes.  Each institution signs in (9001) and identifies its
   patients (1101); inpatient stays are admitted (2401), get their fee details
   (2301) and are discharged (2402) until enough stays wait to be settled for the
   whole run — stays left unsettled by an earlier run on the same database are
   used first.  The institutions, their tokens and sign_no, and the stays are
   written to files for the load generator.
3. **Load.** ``wrk`` with a Lua script (:data:`LUA`) drives ``--clients`` kept-alive
   connections for ``--seconds``: per stay a pre-settlement (2303), then, once it is
   answered, the settlement (2304); about 5 % of the settlements are reversed (2305)
   and later settled again, 2 % are sent again with the same msgid (a HIS that lost
   the answer: the stored answer must come back, nothing settled twice) and 1 % get
   another settlement with a new msgid (must be refused: 就诊已结算).  Every msgid is
   built in Lua by the rule (institution code + yyyyMMddHHmmss + 4-digit sequence,
   the sequence's residue naming the wrk thread, so unique per institution).
4. **Checks.** The database is read afterwards: visits with more than one live
   settlement, settlements whose fee lines, visit state or personal-account
   posting disagree with them (``duplicates``), and settlements the clients were
   told of but that are not stored (counted as ``errors``, with non-200 answers and
   −1 answers nobody expected).

The last line is ``exchange_settlements=… settlements_per_s=… p50_ms=… p99_ms=…
errors=… duplicates=…``; the latencies are those of the first sending of each 2304.
"""

from __future__ import annotations

import asyncio
import os
import random
import resource
import subprocess
import tempfile
import time
from collections import Counter
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from yibao.cli.bench_exchange.checks import check_database
from yibao.cli.bench_exchange.load import run_wrk, write_inputs
from yibao.cli.bench_exchange.model import STAYS_PER_SECOND
from yibao.cli.bench_exchange.setup import set_up
from yibao.cli.bench_exchange.world import load_world, prepare
from yibao.cli.bench_web import free_port, percentile, start_server, wait_healthy


def cpu_seconds(server_pid: int) -> dict[str, float]:
    """CPU used so far by the server's processes, by PostgreSQL's (when it runs on this
    machine) and by this process's finished children (wrk), from /proc: the cost of
    a settlement whatever else the machine runs.  Empty where there is no /proc."""
    proc = Path("/proc")
    if not proc.is_dir():
        return {}
    tick = os.sysconf("SC_CLK_TCK")
    parents: dict[int, int] = {}
    used: dict[int, float] = {}
    names: dict[int, str] = {}
    for entry in proc.iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        name, rest = stat[stat.index("(") + 1 : stat.rindex(")")], stat[stat.rindex(")") + 2 :]
        fields = rest.split()
        pid = int(entry.name)
        parents[pid], names[pid] = int(fields[1]), name
        used[pid] = (int(fields[11]) + int(fields[12])) / tick
    tree = {server_pid}
    for _ in range(4):  # the supervisor, its workers (and theirs)
        tree |= {pid for pid, parent in parents.items() if parent in tree}
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    return {
        "server": sum(used.get(pid, 0.0) for pid in tree),
        "postgres": sum(t for pid, t in used.items() if names[pid].startswith("postgres")),
        "wrk": children.ru_utime + children.ru_stime,
    }


def stays_needed(clients: int, seconds: float) -> int:
    return int(seconds * STAYS_PER_SECOND) + 4 * clients


# long: the whole run (world, set-up, load, checks) kept in one readable sequence
def bench_exchange(
    *,
    clients: int,
    seconds: float,
    database_url: str | None,
    workers: int,
    hospitals: int,
    lines: int,
    stays: int | None,
    threads: int,
    seed: int,
    say: Any,
) -> dict[str, Any]:
    """Run the benchmark (see the module docstring); the figures and the checks."""
    with tempfile.TemporaryDirectory(prefix="yibao-bench-exchange-") as tmp:
        var = Path(tmp)
        url = database_url or f"sqlite:///{var / 'bench.db'}"
        env = {
            **os.environ,
            "YIBAO_DATABASE_URL": url,
            "YIBAO_VAR_DIR": str(var),
            "YIBAO_LOG_LEVEL": "WARNING",
            "YIBAO_TOKEN_RATE_PER_MINUTE": "0",
        }
        env.setdefault("YIBAO_SECRET_KEY", "bench-exchange")
        prepare(url, env, say)
        world = load_world(url, hospitals, seed)
        wanted = stays if stays is not None else stays_needed(clients, seconds)
        new = max(0, wanted - len(world.waiting))
        port = free_port()
        log = var / "server.log"
        process = start_server(env, port, workers, log)
        base = f"http://127.0.0.1:{port}"
        try:
            asyncio.run(wait_healthy(base, process, log, ready_in_a_row=4 * workers))
            say(
                f"服务已启动 {base}（{workers} 个进程）；{len(world.institutions)} 家医院，"
                f"沿用上次未结算的住院 {len(world.waiting):,} 个，新办理 {new:,} 个 …"
            )
            t0 = time.perf_counter()
            waiting = len(world.waiting)

            def enough(rate: float) -> int:  # settled about as fast as prepared: 2.5× margin
                return int(2.5 * rate * seconds) + 4 * clients - waiting

            adapt = enough if stays is None else None
            ids = asyncio.run(set_up(base, world, new, lines, 16 * workers, seed, say, adapt))
            say(
                f"准备用时 {time.perf_counter() - t0:.0f} 秒；"
                f"{clients} 个连接压测 {seconds:.0f} 秒 …"
            )
            random.Random(seed).shuffle(world.waiting)
            write_inputs(var, world, ids.latest + 1)
            since = datetime.now().astimezone() - timedelta(seconds=1)
            before = cpu_seconds(process.pid)
            result = run_wrk(base, var, clients, seconds, threads)
            after = cpu_seconds(process.pid)
            result["cpu_s"] = {k: after[k] - before[k] for k in after}
        finally:
            process.terminate()
            try:
                process.wait(20)
            except subprocess.TimeoutExpired:
                process.kill()
        checks = check_database(
            url, list(world.hospital_ids), since, list(result.get("acknowledged", []))
        )
    return summarise(result, checks, url, workers, len(world.waiting))


def summarise(
    result: dict[str, Any], checks: dict[str, int], url: str, workers: int, stays: int
) -> dict[str, Any]:
    lat = [float(x) for x in result.get("lat2304", [])]
    counts: Counter[str] = Counter({k: int(v) for k, v in result.get("counts", {}).items()})
    elapsed = float(result.get("elapsed_ms", 0)) / 1000
    settled = counts["2304 ok"]
    wrk_errors = result.get("wrk_errors", {})
    errors = (
        counts["http"]
        + counts["unexpected"]
        + counts["retry mismatch"]
        + counts["unpaired"]
        + sum(int(v) for k, v in wrk_errors.items() if k != "status")
        + checks["lost"]
    )
    duplicates = (
        checks["twice_live"]
        + checks["lines_disagree"]
        + checks["stale_lines"]
        + checks["visit_disagrees"]
        + checks["unposted"]
        + checks["reversal_unposted"]
    )
    cpu = result.get("cpu_s", {})
    per = 1000 / settled if settled else 0.0
    return {
        "server_cpu_ms": cpu.get("server", 0.0) * per,
        "db_cpu_ms": cpu.get("postgres", 0.0) * per,
        "wrk_cpu_ms": cpu.get("wrk", 0.0) * per,
        "settlements": settled,
        "per_s": settled / elapsed if elapsed else 0.0,
        "p50_ms": percentile(lat, 0.50),
        "p90_ms": percentile(lat, 0.90),
        "p99_ms": percentile(lat, 0.99),
        "max_ms": max(lat, default=0.0),
        "elapsed_s": elapsed,
        "errors": errors,
        "duplicates": duplicates,
        "counts": dict(counts),
        "wrk_errors": wrk_errors,
        "samples": result.get("samples", []),
        "checks": checks,
        "database": url.split(":", 1)[0],
        "workers": workers,
        "stays": stays,
        "exhausted": bool(result.get("exhausted")),
    }
