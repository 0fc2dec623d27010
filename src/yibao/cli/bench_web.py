"""``yibao bench web``: many users at once against a real server, bounded and self-stopping.

The benchmark starts ``yibao serve`` on a free loopback port over the given database
(seeded with the demo region when empty), logs in several roles (bureau reviewer,
analyst and administrator, hospital users, a HIS system with its token) and has
``--clients`` simulated users request a realistic mix of pages and API reads, with a
trickle of settlement-list submissions, for ``--seconds``.  The load generator is one
asyncio process at lower CPU priority (``nice``), so it does not starve the server.
The last line is ``web_requests=… web_per_s=… p50_ms=… p90_ms=… p99_ms=… errors=…``.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import random
import re
import subprocess
import sys
import tempfile
import time
from collections import Counter
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

import httptools
import httpx

from yibao.demo.seed import DEMO_PASSWORD

SERVE = "from yibao.cli.main import app; app()"


@dataclass(frozen=True)
class Step:
    """One kind of request a user of some role makes, with its share of the mix."""

    weight: int
    method: str
    path: str


#: the mix per role: what a working bureau or hospital user clicks most
MIX: dict[str, list[Step]] = {
    "reviewer": [
        Step(8, "GET", "/"),
        Step(14, "GET", "/settlement/review"),
        Step(10, "GET", "/settlement/lists"),
        Step(6, "GET", "/settlement/lists/{list}"),
        Step(6, "GET", "/cases"),
        Step(4, "GET", "/settlement/statements"),
        Step(4, "GET", "/settlement/periods"),
        Step(10, "GET", "/api/settlement/review?size=50"),
        Step(8, "GET", "/api/settlement/lists?size=50"),
        Step(6, "GET", "/api/settlement/lists/{list}"),
        Step(6, "GET", "/api/cases?size=50"),
    ],
    "analyst": [
        Step(6, "GET", "/"),
        Step(8, "GET", "/measurement"),
        Step(6, "GET", "/measurement/standards"),
        Step(6, "GET", "/cases"),
        Step(6, "GET", "/api/cases?size=50"),
        Step(4, "GET", "/api/measurement/standards"),
    ],
    "admin": [
        Step(6, "GET", "/"),
        Step(4, "GET", "/hospitals"),
        Step(4, "GET", "/admin/users"),
        Step(4, "GET", "/admin/audit"),
        Step(4, "GET", "/api/me"),
    ],
    "hospital": [
        Step(8, "GET", "/"),
        Step(12, "GET", "/settlement/lists"),
        Step(8, "GET", "/settlement/lists/{list}"),
        Step(6, "GET", "/cases"),
        Step(4, "GET", "/settlement/statements"),
        Step(10, "GET", "/api/settlement/lists?size=50"),
        Step(6, "GET", "/api/settlement/lists/{list}"),
        Step(4, "GET", "/api/cases?size=50"),
    ],
    "his": [
        # a HIS polls its lists and now and then sends two new ones: at 200 requests/s
        # about one submission a second, many times a city's real discharges per hour
        Step(18, "GET", "/api/settlement/lists?size=20"),
        Step(1, "POST", "/api/settlement/lists"),
    ],
}
#: how the simulated users are spread over the roles
ROLE_SHARE = {"reviewer": 30, "hospital": 45, "analyst": 10, "admin": 5, "his": 10}


class LeanClient:
    """A minimal keep-alive HTTP/1.1 client for the load generator (asyncio streams and
    uvicorn's C parser ``httptools``): a tenth of httpx's CPU per request, so the
    generator measures the server instead of itself.  One connection, one request at
    a time, the session cookie kept up to date like a browser's."""

    def __init__(self, base: str, cookies: dict[str, str], headers: dict[str, str]) -> None:
        url = httpx.URL(base)
        self.host, self.port = url.host, url.port or 80
        self.cookies = dict(cookies)
        self.headers = {k.lower(): v for k, v in headers.items()}
        self._reader: asyncio.StreamReader | None = None
        self._writer: asyncio.StreamWriter | None = None

    def _head(self, method: str, path: str, body: bytes | None, accept: str) -> bytes:
        lines = [f"{method} {path} HTTP/1.1", f"host: {self.host}:{self.port}", f"accept: {accept}"]
        lines += [f"{k}: {v}" for k, v in self.headers.items()]
        if self.cookies:
            lines.append("cookie: " + "; ".join(f"{k}={v}" for k, v in self.cookies.items()))
        if body is not None:
            lines += ["content-type: application/json", f"content-length: {len(body)}"]
        return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")

    async def request(
        self, method: str, path: str, json_body: Any = None, accept: str = "text/html"
    ) -> int:
        """Send one request and read the whole answer; its status code."""
        body = None if json_body is None else json.dumps(json_body).encode()
        for attempt in (1, 2):  # a keep-alive connection the server closed: reconnect once
            if self._writer is None:
                self._reader, self._writer = await asyncio.open_connection(self.host, self.port)
            assert self._reader is not None
            try:
                self._writer.write(self._head(method, path, body, accept) + (body or b""))
                return await self._response(self._reader)
            except (ConnectionError, asyncio.IncompleteReadError) as exc:
                await self.aclose()
                if attempt == 2:
                    raise httpx.RemoteProtocolError(str(exc)) from exc
        raise AssertionError("unreachable")

    async def _response(self, reader: asyncio.StreamReader) -> int:
        done: list[bool] = []
        keep: list[bool] = []
        set_cookies: list[bytes] = []

        class Events:
            name = b""

            def on_header(self, name: bytes, value: bytes) -> None:
                if name.lower() == b"set-cookie":
                    set_cookies.append(value)

            def on_message_complete(self) -> None:
                done.append(True)

        parser = httptools.HttpResponseParser(Events())
        while not done:
            data = await reader.read(65536)
            if not data:
                parser.feed_data(b"")  # end of a body delimited by the close
                if not done:
                    raise ConnectionError("连接被服务器关闭 / connection closed")
                break
            parser.feed_data(data)
        keep.append(parser.should_keep_alive())
        for raw in set_cookies:
            name, _, rest = raw.decode("latin-1").partition("=")
            value = rest.split(";", 1)[0]
            if "expires=Thu, 01 Jan 1970" in rest:
                self.cookies.pop(name.strip(), None)
            else:
                self.cookies[name.strip()] = value
        if not keep[0]:
            await self.aclose()
        return int(parser.get_status_code())

    async def aclose(self) -> None:
        if self._writer is not None:
            self._writer.close()
            with contextlib.suppress(Exception):
                await self._writer.wait_closed()
        self._reader = self._writer = None


@dataclass
class User:
    role: str
    http: LeanClient
    list_ids: list[int] = field(default_factory=list)
    hospital_code: str | None = None


@dataclass
class Tally:
    latencies: list[float] = field(default_factory=list)
    statuses: Counter[int] = field(default_factory=Counter)
    errors: Counter[str] = field(default_factory=Counter)
    generator_cpu_s: float = 0.0
    #: seconds spent per kind of request ("GET /cases"), for the summary
    per_step: dict[str, list[float]] = field(default_factory=dict)
    lists_sent: int = 0


def free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def prepare_database(url: str, env: dict[str, str], say: Any) -> None:
    """Migrate and, when empty, seed the demo region (through the CLI, as a user would)."""
    for args in (["db", "upgrade"], ["demo", "seed", "--if-empty"]):
        say(f"yibao {' '.join(args)} …")
        done = subprocess.run(
            [sys.executable, "-c", SERVE, *args],
            env=env,
            capture_output=True,
            text=True,
            check=False,
        )
        if done.returncode != 0:
            raise RuntimeError(f"yibao {' '.join(args)} 失败：\n{done.stdout}\n{done.stderr}")


def start_server(
    env: dict[str, str], port: int, workers: int, log: Path
) -> subprocess.Popen[bytes]:
    cmd = [sys.executable, "-c", SERVE, "serve", "--port", str(port), "--workers", str(workers)]
    with log.open("wb") as out:
        return subprocess.Popen(cmd, env=env, stdout=out, stderr=subprocess.STDOUT)


async def wait_healthy(
    base: str, process: subprocess.Popen[bytes], log: Path, ready_in_a_row: int = 0
) -> None:
    """Wait until the server answers its health check; with ``ready_in_a_row`` > 0
    until that many readiness checks in a row say warmed up (each may reach any of the
    server's processes: ask at least a few times per process)."""
    deadline = time.monotonic() + 90
    path = "/healthz?ready=1" if ready_in_a_row else "/healthz"
    in_a_row = 0
    async with httpx.AsyncClient(timeout=3) as http:
        while time.monotonic() < deadline:
            if process.poll() is not None:
                raise RuntimeError(f"服务进程退出：\n{log.read_text(errors='replace')[-3000:]}")
            try:
                ok = (await http.get(base + path)).status_code == 200
            except httpx.HTTPError:
                ok = False
            in_a_row = in_a_row + 1 if ok else 0
            if ok and in_a_row >= max(1, ready_in_a_row):
                return
            await asyncio.sleep(0.05 if ok else 0.2)
    raise RuntimeError("服务未能在 90 秒内启动")


async def login(base: str, username: str) -> httpx.AsyncClient:
    limits = httpx.Limits(max_connections=1, max_keepalive_connections=1)
    http = httpx.AsyncClient(base_url=base, timeout=60, limits=limits)
    page = await http.get("/login")
    token = re.search(r'name="csrf_token" value="([^"]+)"', page.text)
    if token is None:
        raise RuntimeError("登录页没有 CSRF 令牌")
    r = await http.post(
        "/login",
        data={"username": username, "password": DEMO_PASSWORD, "csrf_token": token.group(1)},
    )
    if r.status_code >= 400:
        raise RuntimeError(f"{username} 登录失败：HTTP {r.status_code}")
    home = await http.get("/", headers={"accept": "text/html"})
    csrf = re.search(r'"X-CSRF-Token": "([^"]+)"', home.text)
    if csrf:
        http.headers["x-csrf-token"] = csrf.group(1)
    return http


async def his_client(base: str, env: dict[str, str]) -> httpx.AsyncClient:
    done = subprocess.run(
        [sys.executable, "-c", SERVE, "users", "token", "his01", "--name", "bench-web"],
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    token = done.stdout.strip().splitlines()[-1] if done.returncode == 0 else ""
    if not token.startswith("ybt_"):
        raise RuntimeError(f"无法为 his01 创建接口令牌：{done.stderr[-500:]}")
    limits = httpx.Limits(max_connections=1, max_keepalive_connections=1)
    return httpx.AsyncClient(
        base_url=base,
        timeout=60,
        limits=limits,
        headers={"Authorization": f"Bearer {token}"},
    )


def _client(base: str, template: httpx.AsyncClient) -> LeanClient:
    """One simulated user's connection (keep-alive), sharing a logged-in session's
    cookie and CSRF header (the same person in another browser tab)."""
    return LeanClient(
        base,
        {c.name: c.value or "" for c in template.cookies.jar},
        {k: v for k, v in template.headers.items() if k in ("x-csrf-token", "authorization")},
    )


async def make_users(
    base: str, clients: int, env: dict[str, str], rng: random.Random
) -> list[User]:
    """The simulated users: each demo account logs in once (argon2 is slow on purpose);
    users of one account share its session, like one person's browser tabs."""
    names = {"reviewer": ["reviewer"], "analyst": ["analyst"], "admin": ["admin"]}
    names["hospital"] = [f"hosp{i:02d}" for i in range(1, 11)]
    roles = [r for r, share in ROLE_SHARE.items() for _ in range(share)]
    sessions: dict[str, httpx.AsyncClient] = {}
    planned: list[tuple[str, str]] = []
    for n in range(clients):
        role = roles[n * len(roles) // clients] if clients >= len(ROLE_SHARE) else rng.choice(roles)
        username = "his01" if role == "his" else names[role][n % len(names[role])]
        if username not in sessions:
            sessions[username] = (
                await his_client(base, env) if role == "his" else await login(base, username)
            )
        planned.append((role, username))
    visible: dict[str, list[dict[str, Any]]] = {}
    for username, http in sessions.items():
        r = await http.get("/api/settlement/lists", params={"size": 200})
        visible[username] = r.json().get("items", []) if r.status_code == 200 else []
    users = []
    for role, username in planned:
        items = visible[username]
        users.append(
            User(
                role,
                _client(base, sessions[username]),
                [int(i["id"]) for i in items],
                items[0]["hospital_code"] if items else None,
            )
        )
    for http in sessions.values():
        await http.aclose()
    return users


def submissions(count: int, seed: int) -> list[dict[str, Any]]:
    """Clean synthetic 4101A lists for the HIS users to send (made before the clock)."""
    from yibao.engines.qc.bench import synthetic_lists
    from yibao.grouping.plans import plan_registry

    plan = plan_registry(None).for_date(date.today())
    return synthetic_lists(count, plan, seed=seed, year=date.today().year - 1)


def _submission(user: User, pool: list[dict[str, Any]], seq: int) -> list[dict[str, Any]]:
    """Two lists of the HIS user's hospital, with settlement and visit ids never used
    before (new visits, not duplicates of earlier ones)."""
    out = []
    for i in range(2):
        m = pool[(seq * 2 + i) % len(pool)]
        new_id = f"W{os.getpid() % 10000:04d}{seq:07d}{i}"
        setl = {**m["setlinfo"], "setl_id": new_id, "mdtrt_id": "M" + new_id}
        if user.hospital_code:
            setl["fixmedins_code"] = user.hospital_code
        out.append({**m, "setlinfo": setl})
    return out


async def run_user(
    user: User,
    stop_at: float,
    tally: Tally,
    rng: random.Random,
    seq: list[int],
    pool: list[dict[str, Any]],
) -> None:
    steps = MIX[user.role]
    weights = [s.weight for s in steps]
    while time.monotonic() < stop_at:
        step = rng.choices(steps, weights)[0]
        path = step.path
        if "{list}" in path:
            if not user.list_ids:
                continue
            path = path.replace("{list}", str(rng.choice(user.list_ids)))
        body = None
        if step.method == "POST":
            seq[0] += 1
            body = _submission(user, pool, seq[0])
        started = time.perf_counter()
        try:
            status = await user.http.request(step.method, path, body)
        except (httpx.HTTPError, OSError) as exc:
            tally.errors[type(exc).__name__] += 1
            status = 0
        took = time.perf_counter() - started
        tally.latencies.append(took)
        tally.per_step.setdefault(f"{step.method} {step.path}", []).append(took)
        tally.statuses[status] += 1
        if body is not None and status == 200:
            tally.lists_sent += len(body)
        if status >= 500 or status == 0 or status >= 400:
            tally.errors[f"{step.method} {step.path} → {status}"] += 1


def percentile(values: list[float], q: float) -> float:
    if not values:
        return 0.0
    ordered = sorted(values)
    k = min(len(ordered) - 1, max(0, round(q * (len(ordered) - 1))))
    return ordered[k]


async def drive(
    base: str, clients: int, seconds: float, env: dict[str, str], seed: int
) -> tuple[Tally, float]:
    """Log the users in (not timed), then run the mix for ``seconds``."""
    rng = random.Random(seed)
    pool = submissions(200, seed)
    users = await make_users(base, clients, env, rng)
    tally = Tally()
    started = time.perf_counter()
    cpu_started = time.process_time()
    stop_at = time.monotonic() + seconds
    seq = [0]
    try:
        await asyncio.gather(
            *(run_user(u, stop_at, tally, random.Random(rng.random()), seq, pool) for u in users)
        )
    finally:
        for u in users:
            await u.http.aclose()
    tally.generator_cpu_s = time.process_time() - cpu_started
    return tally, time.perf_counter() - started


def bench_web(
    *,
    clients: int,
    seconds: float,
    database_url: str | None,
    workers: int,
    seed: int,
    say: Any,
) -> dict[str, Any]:
    """Run the benchmark; returns the figures (see the module docstring)."""
    with tempfile.TemporaryDirectory(prefix="yibao-bench-web-") as tmp:
        var = Path(tmp)
        url = database_url or f"sqlite:///{var / 'bench.db'}"
        env = {
            **os.environ,
            "YIBAO_DATABASE_URL": url,
            "YIBAO_VAR_DIR": str(var),
            "YIBAO_LOG_LEVEL": "WARNING",
            "YIBAO_TOKEN_RATE_PER_MINUTE": "0",
        }
        env.setdefault("YIBAO_SECRET_KEY", "bench-web")
        prepare_database(url, env, say)
        port = free_port()
        log = var / "server.log"
        process = start_server(env, port, workers, log)
        base = f"http://127.0.0.1:{port}"
        try:
            asyncio.run(wait_healthy(base, process, log, ready_in_a_row=4 * workers))
            say(f"服务已启动 {base}（{workers} 个进程）；{clients} 个用户，{seconds:.0f} 秒 …")
            os.nice(5)  # the load generator yields the CPU to the server
            tally, elapsed = asyncio.run(drive(base, clients, seconds, env, seed))
        finally:
            process.terminate()
            try:
                process.wait(20)
            except subprocess.TimeoutExpired:
                process.kill()
        n = len(tally.latencies)
        errors = sum(c for s, c in tally.statuses.items() if s >= 400 or s == 0)
        return {
            "requests": n,
            "per_s": n / elapsed if elapsed else 0.0,
            "p50_ms": percentile(tally.latencies, 0.50) * 1000,
            "p90_ms": percentile(tally.latencies, 0.90) * 1000,
            "p99_ms": percentile(tally.latencies, 0.99) * 1000,
            "errors": errors,
            "statuses": dict(sorted(tally.statuses.items())),
            "error_kinds": tally.errors.most_common(10),
            "database": url.split(":", 1)[0],
            "generator_cpu_share": tally.generator_cpu_s / elapsed if elapsed else 0.0,
            "lists_sent": tally.lists_sent,
            "slowest": sorted(
                (
                    (name, len(times), percentile(times, 0.5) * 1000, sum(times))
                    for name, times in tally.per_step.items()
                ),
                key=lambda row: -row[3],
            )[:6],
        }
