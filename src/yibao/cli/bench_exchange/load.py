"""The load phase: wrk with the Lua script of :mod:`yibao.cli.bench_exchange.script`."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path
from typing import Any

from yibao.cli.bench_exchange.model import AGAIN_SHARE, PATH, RETRY_SHARE, REVERSE_SHARE, World
from yibao.cli.bench_exchange.script import LUA


def write_inputs(folder: Path, world: World, not_before: int) -> None:
    """The files the Lua script reads: institutions, stays (tab-separated, JSON-quoted
    where text may need it), and the second its msgids may start at."""
    with (folder / "institutions.tsv").open("w", encoding="utf-8") as out:
        for i in world.institutions:
            name = json.dumps(i.name, ensure_ascii=False)
            out.write(f"{i.index + 1}\t{i.code}\t{i.admvs}\t{i.token}\t{i.sign_no}\t{name}\n")
    with (folder / "stays.tsv").open("w", encoding="utf-8") as out:
        for s in world.waiting:
            out.write(
                f"{s.institution + 1}\t{s.mdtrt_id}\t{s.psn_no}\t{s.certno}\t{s.insutype}"
                f"\t{s.insuplc}\t{s.total}\n"
            )
    (folder / "start.txt").write_text(f"{not_before}\n")


def run_wrk(base: str, folder: Path, clients: int, seconds: float, threads: int) -> dict[str, Any]:
    """Run wrk with :data:`LUA` and read what its ``done`` wrote."""

    wrk = shutil.which("wrk")
    if wrk is None:
        raise RuntimeError("需要 wrk（apt install wrk）/ wrk is required")
    script = folder / "exchange.lua"
    script.write_text(
        LUA.replace("@DIR@", str(folder))
        .replace("@THREADS@", str(threads))
        .replace("@REVERSE@", str(REVERSE_SHARE))
        .replace("@RETRY@", str(RETRY_SHARE))
        .replace("@AGAIN@", str(AGAIN_SHARE)),
        encoding="utf-8",
    )
    cmd = [
        wrk,
        f"-t{threads}",
        f"-c{max(clients, threads)}",
        f"-d{max(1, round(seconds))}s",
        "--timeout",
        "30s",
        "-s",
        str(script),
        base + PATH,
    ]
    # the load generator yields the CPU to the server (it needs little: C and LuaJIT)
    # the script dates msgid and inf_time by the clock of business time (UTC+8),
    # whatever the machine's zone, as a HIS in China does
    env = {**os.environ, "TZ": "CST-8"}
    done = subprocess.run(
        ["nice", "-n", "5", *cmd], capture_output=True, text=True, check=False, cwd=folder, env=env
    )
    out = folder / "result.json"
    if done.returncode != 0 or not out.exists():
        raise RuntimeError(f"wrk 失败：\n{done.stdout[-2000:]}\n{done.stderr[-2000:]}")
    result: dict[str, Any] = json.loads(out.read_text(encoding="utf-8"))
    result["wrk_output"] = done.stdout
    return result
