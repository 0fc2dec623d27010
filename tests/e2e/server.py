"""A real ``yibao serve`` process on a free loopback port, for tests that need what a
TestClient cannot give: parallel requests over sockets, worker processes, SIGTERM and
SIGKILL.  The process uses the test database (``database_url``)."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx

SERVE = "from yibao.cli.main import app; app()"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class LiveServer:
    base: str
    process: subprocess.Popen[bytes]
    log: Path

    def url(self, path: str) -> str:
        return self.base + path

    def log_text(self) -> str:
        return self.log.read_text(errors="replace")[-4000:] if self.log.exists() else ""

    def kill(self) -> None:
        """SIGKILL: no shutdown code runs (a crash, a power cut)."""
        self.process.send_signal(signal.SIGKILL)
        self.process.wait(10)


def wait_healthy(
    base: str, process: subprocess.Popen[bytes], log: Path, timeout: float = 60
) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"服务进程退出 / server exited:\n{log.read_text(errors='replace')}")
        try:
            if httpx.get(base + "/healthz", timeout=2).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.1)
    raise RuntimeError(f"服务未能启动 / server did not start:\n{log.read_text(errors='replace')}")


@contextmanager
def live_server(
    database_url: str, var_dir: Path, *, workers: int = 1, env: dict[str, str] | None = None
) -> Iterator[LiveServer]:
    """Start the server; stop it (SIGTERM, then SIGKILL) when the block ends."""
    port = free_port()
    var_dir.mkdir(parents=True, exist_ok=True)
    log = var_dir / f"server-{port}.log"
    environ = {
        **os.environ,
        "YIBAO_DATABASE_URL": database_url,
        "YIBAO_VAR_DIR": str(var_dir),
        "YIBAO_SECRET_KEY": "test-secret-key",
        "YIBAO_LOG_LEVEL": "WARNING",
        "YIBAO_WARM_UP": "false",  # a second of CPU per start; tests/unit/test_warm_up.py
        **(env or {}),
    }
    cmd = [sys.executable, "-c", SERVE, "serve", "--port", str(port), "--workers", str(workers)]
    with log.open("wb") as out:
        process = subprocess.Popen(cmd, env=environ, stdout=out, stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}"
    try:
        wait_healthy(base, process, log)
        yield LiveServer(base, process, log)
    finally:
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
            try:
                process.wait(15)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(10)
