"""``yibao serve --workers N``: keep-alive connections are spread over the processes.

With one listening socket shared by the processes, the process that woke first took
every waiting connection: 80 users connecting at once ended 68 on one process and 4 on
the other, and the users of the busy one waited three times as long.  Each process now
listens on its own ``SO_REUSEPORT`` socket (Linux), and the kernel spreads connections.
"""

from __future__ import annotations

import os
import re
import select
import socket
import sys
import time
from pathlib import Path

import pytest

from tests.e2e.server import live_server
from yibao.cli.workers import balances_by_port

pytestmark = pytest.mark.skipif(
    not balances_by_port(), reason="SO_REUSEPORT spreads connections only on Linux"
)

CONNECTIONS = 40


def _children(pid: int) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text()
            except OSError:
                continue
            if int(stat.rsplit(")", 1)[1].split()[1]) == pid:
                found.append(int(entry.name))
    return found


def _socket_inodes(pid: int) -> set[str]:
    inodes = set()
    for fd in Path(f"/proc/{pid}/fd").iterdir():
        try:
            target = os.readlink(fd)
        except OSError:
            continue
        match = re.fullmatch(r"socket:\[(\d+)\]", target)
        if match:
            inodes.add(match.group(1))
    return inodes


def _server_side_inodes(port: int, state: str = "01") -> set[str]:
    """Inodes of the sockets whose local end is ``port``: established (01) or
    listening (0A)."""
    inodes = set()
    for line in Path("/proc/net/tcp").read_text().splitlines()[1:]:
        fields = line.split()
        if fields[3] == state and int(fields[1].split(":")[1], 16) == port:
            inodes.add(fields[9])
    return inodes


def _wait_until_both_listen(port: int) -> None:
    """/healthz answers once the first process is up; the second may still be loading."""
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline and len(_server_side_inodes(port, "0A")) < 2:
        time.sleep(0.2)


def test_connections_are_spread_over_the_worker_processes(database_url, tmp_path):  # type: ignore[no-untyped-def]
    with live_server(database_url, tmp_path / "var", workers=2) as server:
        port = int(server.base.rsplit(":", 1)[1])
        workers = [p for p in _children(server.process.pid) if "spawn_main" in _cmdline(p)]
        assert len(workers) == 2, workers
        _wait_until_both_listen(port)
        # each process its own listening socket (a shared one lets the first process
        # awake take every waiting connection)
        assert len(_server_side_inodes(port, "0A")) == 2
        # many users connect at the same moment, as after a restart or at 8 a.m.
        clients = _connect_at_once(port, CONNECTIONS)
        try:
            for c in clients:
                c.sendall(b"GET /healthz HTTP/1.1\r\nhost: t\r\n\r\n")
            for c in clients:
                assert c.recv(4096).startswith(b"HTTP/1.1 200")
            accepted = _server_side_inodes(port)
            per_worker = [len(_socket_inodes(w) & accepted) for w in workers]
        finally:
            for c in clients:
                c.close()
    assert sum(per_worker) == CONNECTIONS, per_worker
    # the kernel hashes each connection to a socket: about half each (binomial; below a
    # quarter on one process happens about once in 10 000 runs)
    assert min(per_worker) >= CONNECTIONS // 4, per_worker


def _connect_at_once(port: int, n: int) -> list[socket.socket]:
    """``n`` connections started within a few microseconds of each other."""
    clients = [socket.socket() for _ in range(n)]
    for c in clients:
        c.setblocking(False)
        c.connect_ex(("127.0.0.1", port))
    for c in clients:
        select.select([], [c], [], 5)
        c.setblocking(True)
    return clients


def _cmdline(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode()
    except OSError:
        return ""


def test_the_port_in_use_is_refused_with_a_message(tmp_path):  # type: ignore[no-untyped-def]
    import subprocess

    from tests.e2e.server import SERVE

    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        env = {
            **os.environ,
            "YIBAO_DATABASE_URL": f"sqlite:///{tmp_path / 'p.db'}",
            "YIBAO_VAR_DIR": str(tmp_path),
            "YIBAO_WARM_UP": "false",
        }
        done = subprocess.run(
            [sys.executable, "-c", SERVE, "serve", "--port", str(port), "--workers", "2"],
            env=env,
            capture_output=True,
            text=True,
            timeout=60,
        )
    assert done.returncode != 0
    assert f"无法监听 127.0.0.1:{port}" in done.stderr + done.stdout
