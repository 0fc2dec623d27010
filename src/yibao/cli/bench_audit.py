"""``yibao bench audit``: HIS systems asking real-time audit (3101 事前 / 3102 事中) as
plain JSON (issue 13), bounded and self-stopping.

1. **World.** Without ``--url``: the database (``--database-url``, else a temporary
   SQLite file) is migrated and, when empty, seeded with the demo region — its
   published knowledge base and 300 enabled rules; the first ``--hospitals``
   hospitals get a HIS client user and a fresh token; the server starts on a free
   loopback port with ``--workers`` processes.  With ``--url`` the server is the
   caller's; ``--database-url`` must then name its database (the requests are made of
   its catalogue and register, and the bench's HIS users get their tokens there).
2. **Requests.** ``--bodies`` requests are generated before the run (not timed),
   from the demo catalogue's items (in one request of four an item the knowledge
   base restricts or relates, so rules fire as in real traffic), the insured
   register and the hospitals: outpatient prescriptions of 3–10 order lines (门诊,
   3101 at registration / charge entry or 3102 at (pre-)settlement) and inpatient
   orders of 5–10 lines (住院, 3101 at admission or order execution, 3102 at
   (pre-)settlement), each with its diagnoses.
3. **Load.** ``wrk`` (C and LuaJIT, at ``nice 5`` so it yields the CPU to the
   server) cycles through the requests on ``--clients`` kept-alive connections for
   ``--seconds``, at most ``--max-requests`` in all, at ``--rate`` requests a second
   (each wrk thread sends its share on a fixed schedule, as many HIS terminals each
   asking now and then do; ``--rate 0``: every connection asks again as soon as it is
   answered, the server's capacity, where the latency is only the queue's length
   over that capacity); an answer that is not HTTP 200
   with an ``output`` is an error.  Latencies are wrk's (from writing the request to
   the whole answer), after two seconds of warm-up that are not counted.

The last line is ``audit_requests=… audit_per_s=… p50_ms=… p90_ms=… p99_ms=… errors=…``.
"""

from __future__ import annotations

import asyncio
import json
import os
import random
import shutil
import subprocess
import tempfile
from datetime import date
from pathlib import Path
from typing import Any

from yibao.cli.bench_web import free_port, prepare_database, start_server, wait_healthy
from yibao.demo.audit_traffic import body, hot_codes, insured_people

#: the plain JSON routes of 3101 and 3102 (supervision.realtime)
PATHS = {"3101": "/api/audit/3101", "3102": "/api/audit/3102"}
USERNAME = "bench-audit-{code}"

LUA = r"""
local DIR, MAX, RATE = "@DIR@", @MAX@, @RATE@
local ffi = require("ffi")
ffi.cdef[[
typedef struct { long tv_sec; long tv_nsec; } yb_timespec;
int clock_gettime(int clk, yb_timespec *ts);
]]
local ts = ffi.new("yb_timespec")
local function now_ms()
  ffi.C.clock_gettime(1, ts)
  return tonumber(ts.tv_sec) * 1000 + tonumber(ts.tv_nsec) / 1e6
end
local all = {}
function setup(thread)
  thread:set("tid", #all)
  all[#all + 1] = thread
end

bad, ok, samples = 0, 0, {}
local reqs, n, i, stop_at = {}, 0, 0, 0
function init(args)
  local threads = @THREADS@
  local k = 0
  for line in io.lines(DIR .. "/requests.tsv") do
    k = k + 1
    if k % threads == tid then
      local path, token, body = line:match("^([^\t]*)\t([^\t]*)\t(.*)$")
      n = n + 1
      reqs[n] = wrk.format("POST", path, {
        ["Authorization"] = "Bearer " .. token,
        ["Content-Type"] = "application/json",
      }, body)
    end
  end
  i = tid
  stop_at = math.floor(MAX / threads)
end

function request()
  i = i % n + 1
  return reqs[i]
end

-- --rate: each thread sends its share of the rate on a fixed schedule (the next slot,
-- never earlier; a late slot is not made up), whatever the answers' latency
if RATE > 0 then
  local interval, next_slot = 1000 * @THREADS@ / RATE, 0
  function delay()
    local now = now_ms()
    if next_slot < now then next_slot = now end
    local wait = next_slot - now
    next_slot = next_slot + interval
    return wait
  end
end

function response(status, headers, body)
  if status == 200 and body:find('"output"', 1, true) then
    ok = ok + 1
  else
    bad = bad + 1
    if #samples < 3 then samples[#samples + 1] = status .. " " .. body:sub(1, 300) end
  end
  if ok + bad >= stop_at then wrk.thread:stop() end
end

local function escape(c) return string.format("\\u%04x", c:byte()) end

function done(summary, latency, requests)
  local good, wrong, shown = 0, 0, {}
  for _, t in ipairs(all) do
    good = good + t:get("ok")
    wrong = wrong + t:get("bad")
    for _, s in ipairs(t:get("samples")) do shown[#shown + 1] = s end
  end
  local e = summary.errors
  local f = io.open(DIR .. "/result.json", "w")
  f:write(string.format(
    '{"requests":%d,"ok":%d,"bad":%d,"elapsed_us":%d,"p50_us":%d,"p90_us":%d,' ..
    '"p99_us":%d,"max_us":%d,"connect":%d,"read":%d,"write":%d,"timeout":%d,"samples":[',
    summary.requests, good, wrong, summary.duration, latency:percentile(50),
    latency:percentile(90), latency:percentile(99), latency.max,
    e.connect, e.read, e.write, e.timeout))
  for k, s in ipairs(shown) do
    if k > 1 then f:write(",") end
    f:write('"' .. (s:gsub('[%c"\\]', escape)) .. '"')
  end
  f:write("]}")
  f:close()
end
"""


# long: one read of everything the requests are made of, in one transaction
def load_world(url: str, hospitals: int) -> dict[str, Any]:
    """HIS client users with fresh tokens for the first ``hospitals`` hospitals, the
    insured register, the catalogue of the region in force and its restricted items."""
    from sqlalchemy import select

    from yibao.accounts.repository import user_by_username
    from yibao.accounts.roles import Role
    from yibao.accounts.service import do_create_user, hash_password
    from yibao.accounts.tokens import do_create_api_token
    from yibao.audit.service import Actor
    from yibao.catalogue.models import CatalogueEntry
    from yibao.catalogue.repository import version_in_force
    from yibao.db.scoping import SYSTEM_SCOPE, set_scope
    from yibao.db.session import make_engine, session_factory
    from yibao.demo.seed import DEMO_PASSWORD
    from yibao.regions.models import Hospital

    actor = Actor(None, "bench")
    engine = make_engine(url)
    try:
        with session_factory(engine)() as session:
            set_scope(session, SYSTEM_SCOPE)
            rows = session.scalars(
                select(Hospital).order_by(Hospital.level.desc(), Hospital.code).limit(hospitals)
            ).all()
            if not rows:
                raise RuntimeError("数据库中没有医院：请先 yibao demo seed")
            hashed = hash_password(DEMO_PASSWORD)
            institutions = []
            for h in rows:
                name = USERNAME.format(code=h.code)
                user = user_by_username(session, name)
                if user is None:
                    user = do_create_user(
                        session,
                        username=name,
                        password=DEMO_PASSWORD,
                        password_hash=hashed,
                        role=Role.HIS_CLIENT,
                        display_name=f"HIS 审核压测（{h.code}）",
                        hospital_code=h.code,
                        actor=actor,
                    )
                token = do_create_api_token(session, user, "bench audit", actor=actor)
                institutions.append(
                    {
                        "token": token,
                        "code": h.code,
                        "name": h.name,
                        "admvs": h.region_code[:4] + "00",
                        "level": str(h.level),
                    }
                )
            people = insured_people(session)
            version = version_in_force(session, institutions[0]["admvs"], date.today())
            if version is None:
                raise RuntimeError(f"{institutions[0]['admvs']} 没有已发布的医保目录")
            entries = session.execute(
                select(
                    CatalogueEntry.code,
                    CatalogueEntry.name,
                    CatalogueEntry.kind,
                    CatalogueEntry.cap_lv3,
                ).where(CatalogueEntry.version_id == version.id)
            ).all()
            session.commit()
    finally:
        engine.dispose()
    return {
        "institutions": institutions,
        "people": people,
        "items": [tuple(e) for e in entries],
    }


def restricted_codes(url: str, admvs: str) -> set[str]:
    """The codes the knowledge base in force restricts or relates (rules fire on them)."""
    from yibao.db.session import make_engine, session_factory
    from yibao.supervision.repository import knowledge_in_force

    engine = make_engine(url)
    try:
        with session_factory(engine)() as session:
            kn = knowledge_in_force(session, admvs, date.today())
    finally:
        engine.dispose()
    return hot_codes(kn)


def write_requests(
    folder: Path, world: dict[str, Any], hot_codes: set[str], count: int, seed: int
) -> dict[str, int]:
    """``requests.tsv``: path, token, body per line; returns the mix."""
    rng = random.Random(seed)
    items = world["items"]
    hot = [i for i in items if i[0] in hot_codes] or items
    items = [i for i in items if i[0] not in hot_codes] or items
    people = world["people"]
    if not people:
        raise RuntimeError("数据库中没有在保参保人：请先 yibao demo seed")
    mix: dict[str, int] = {}
    with (folder / "requests.tsv").open("w", encoding="utf-8") as out:
        for seq in range(count):
            infno = "3101" if rng.random() < 0.5 else "3102"
            mode = "otp" if rng.random() < 0.75 else "ipt"
            inst = world["institutions"][seq % len(world["institutions"])]
            data = body(rng, infno, mode, inst, rng.choice(people), items, hot, seq)
            text = json.dumps(data, ensure_ascii=False, separators=(",", ":"))
            out.write(f"{PATHS[infno]}\t{inst['token']}\t{text}\n")
            key = f"{infno} {mode}"
            mix[key] = mix.get(key, 0) + 1
    return mix


def run_wrk(
    base: str,
    folder: Path,
    clients: int,
    seconds: float,
    threads: int,
    max_requests: int,
    rate: int = 0,
) -> dict[str, Any]:
    wrk = shutil.which("wrk")
    if wrk is None:
        raise RuntimeError("需要 wrk（apt install wrk）/ wrk is required")
    script = folder / "audit.lua"
    script.write_text(
        LUA.replace("@DIR@", str(folder))
        .replace("@THREADS@", str(threads))
        .replace("@MAX@", str(max_requests))
        .replace("@RATE@", str(rate)),
        encoding="utf-8",
    )
    cmd = [
        wrk,
        f"-t{threads}",
        f"-c{max(clients, threads)}",
        f"-d{max(1, round(seconds))}s",
        "--timeout",
        "10s",
        "-s",
        str(script),
        base,
    ]
    done = subprocess.run(
        ["nice", "-n", "5", *cmd], capture_output=True, text=True, check=False, cwd=folder
    )
    out = folder / "result.json"
    if done.returncode != 0 or not out.exists():
        raise RuntimeError(f"wrk 失败：\n{done.stdout[-2000:]}\n{done.stderr[-2000:]}")
    result: dict[str, Any] = json.loads(out.read_text(encoding="utf-8", errors="replace"))
    result["wrk_output"] = done.stdout
    return result


# long: the whole run (world, requests, server, load) kept in one readable sequence
def bench_audit(
    *,
    clients: int,
    seconds: float,
    url: str | None,
    database_url: str | None,
    workers: int,
    hospitals: int,
    bodies: int,
    max_requests: int,
    threads: int,
    seed: int,
    say: Any,
    rate: int = 0,
) -> dict[str, Any]:
    """Run the benchmark (module docstring); the figures."""
    with tempfile.TemporaryDirectory(prefix="yibao-bench-audit-") as tmp:
        var = Path(tmp)
        db_url = database_url or f"sqlite:///{var / 'bench.db'}"
        env = {
            **os.environ,
            "YIBAO_DATABASE_URL": db_url,
            "YIBAO_VAR_DIR": str(var),
            "YIBAO_LOG_LEVEL": "WARNING",
            "YIBAO_TOKEN_RATE_PER_MINUTE": "0",
        }
        env.setdefault("YIBAO_SECRET_KEY", "bench-audit")
        if url is None:
            prepare_database(db_url, env, say)
        elif database_url is None:
            raise RuntimeError(
                "使用 --url 时须给出该服务的 --database-url（读取目录与参保人，发放压测令牌）"
            )
        world = load_world(db_url, hospitals)
        hot = restricted_codes(db_url, world["institutions"][0]["admvs"])
        mix = write_requests(var, world, hot, bodies, seed)
        shares = "，".join(f"{k} {v}" for k, v in sorted(mix.items()))
        say(f"已生成 {bodies:,} 个审核请求（{shares}）")
        process = None
        base = url.rstrip("/") if url else ""
        try:
            if url is None:
                port = free_port()
                log = var / "server.log"
                process = start_server(env, port, workers, log)
                base = f"http://127.0.0.1:{port}"
                asyncio.run(wait_healthy(base, process, log, ready_in_a_row=4 * workers))
                say(f"服务已启动 {base}（{workers} 个进程）")
            # warm-up, not counted: connections opened, caches and pools filled
            run_wrk(base, var, min(clients, 8), 2, threads, 4_000)
            pace = f"，目标 {rate:,} 次/秒" if rate else "，不限速"
            say(f"{clients} 个连接压测 {seconds:.0f} 秒（至多 {max_requests:,} 次{pace}）…")
            result = run_wrk(base, var, clients, seconds, threads, max_requests, rate)
        finally:
            if process is not None:
                process.terminate()
                try:
                    process.wait(20)
                except subprocess.TimeoutExpired:
                    process.kill()
    elapsed = result["elapsed_us"] / 1e6
    errors = result["bad"] + result["connect"] + result["read"] + result["write"]
    errors += result["timeout"]
    return {
        "requests": result["ok"],
        "per_s": result["ok"] / elapsed if elapsed else 0.0,
        "p50_ms": result["p50_us"] / 1000,
        "p90_ms": result["p90_us"] / 1000,
        "p99_ms": result["p99_us"] / 1000,
        "max_ms": result["max_us"] / 1000,
        "errors": errors,
        "elapsed_s": elapsed,
        "samples": result.get("samples", []),
        "database": db_url.split(":")[0],
        "workers": workers,
        "mix": mix,
    }
