"""Several server processes on one port, each with its own listening socket.

Uvicorn's ``--workers`` shares one listening socket between the processes; the first
process to wake up accepts every connection waiting at that moment.  Browsers and HIS
systems keep their connections open (keep-alive), so one process ended up serving most
users while the other idled: with 80 users, 68 connections on one process and 4 on the
other, and the users on the busy one waited three times as long (``yibao bench web``).

On Linux each process here listens on a socket of its own bound with ``SO_REUSEPORT``,
and the kernel spreads new connections over them evenly.  Supervision (restart of a
process that dies, SIGTERM/SIGINT, SIGHUP for a rolling restart) stays uvicorn's.  Where
``SO_REUSEPORT`` does not balance (macOS, Windows) uvicorn's shared socket is used.
"""

from __future__ import annotations

import socket
import sys
from unittest import mock

from uvicorn.config import Config
from uvicorn.supervisors import multiprocess


def balances_by_port() -> bool:
    """True where the kernel spreads connections over ``SO_REUSEPORT`` sockets."""
    return sys.platform.startswith("linux") and hasattr(socket, "SO_REUSEPORT")


def reuse_port_socket(host: str, port: int) -> socket.socket:
    """A TCP socket bound to ``host:port`` with ``SO_REUSEPORT`` (not yet listening)."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
    sock.bind((host, port))
    return sock


class OwnSocketProcess(multiprocess.Process):
    """A uvicorn worker that listens on its own ``SO_REUSEPORT`` socket, bound to the
    address of the socket the supervisor holds (bound, never listening)."""

    def target(self, sockets: list[socket.socket] | None = None) -> None:  # pragma: no cover
        if not sockets:
            super().target(sockets)
            return
        inherited = sockets[0]
        host, port = inherited.getsockname()[:2]
        inherited.close()
        super().target([reuse_port_socket(host, port)])


def run_workers(config: Config) -> None:
    """Serve ``config.workers`` processes, each listening on its own socket."""
    # the supervisor holds the port (bound, never listening: it receives no connections)
    try:
        holder = reuse_port_socket(config.host, config.port)
    except OSError as exc:
        raise SystemExit(f"无法监听 {config.host}:{config.port}：{exc}") from exc
    holder.set_inheritable(True)
    try:
        with mock.patch.object(multiprocess, "Process", OwnSocketProcess):
            multiprocess.Multiprocess(config, sockets=[holder]).run()
    except KeyboardInterrupt:  # pragma: no cover
        pass
