"""Group commit: many small units of database work in one transaction (ADR 0026).

A busy machine-to-machine route (real-time audit, issue 13) stores a few rows per
request.  One transaction per request costs a ``BEGIN``, the statements and a
``COMMIT`` (with its disk flush) each time; at thousands of requests a second that
is most of the server's CPU and all of SQLite's single writer.  A
:class:`BatchWriter` runs in one thread per process: it takes every unit of work
queued since its last transaction (at most ``max_batch``), runs them one after the
other in **one** transaction and commits, then hands each caller its unit's result.
A ``handle`` may run the whole batch at once (one look-up for all its items, one
multi-row insert) instead of unit by unit.  A caller answers its request only after
that commit: the house rule "every write is
committed before its response is sent" holds, only the commit is shared.

When a unit raises, the shared transaction is rolled back and every unit of the batch
runs again in a transaction of its own, so one bad unit fails alone and the others
are stored exactly once (a unit must therefore only write through the connection it
is given — no other side effects).  When the process dies before a commit, none of
the batch is stored and none of its callers was answered: a client retries.
"""

from __future__ import annotations

import logging
import queue
import threading
from collections.abc import Callable
from concurrent.futures import Future
from typing import Any, TypeVar

from sqlalchemy import Connection, Engine

from yibao.db.session import writer

log = logging.getLogger(__name__)
T = TypeVar("T")
Work = Callable[[Connection], Any]
#: how a batch is run: the connection (in its transaction) and the queued items, in
#: order → one result per item
Handle = Callable[[Connection, list[Any]], list[Any]]


def run_units(conn: Connection, units: list[Any]) -> list[Any]:
    """The default :data:`Handle`: each item is a unit of work, run in turn."""
    return [unit(conn) for unit in units]


#: units of work in one transaction at most
MAX_BATCH = 256


class BatchWriter:
    """A thread that commits queued units of work together (module docstring)."""

    def __init__(
        self,
        engine: Engine,
        *,
        handle: Handle = run_units,
        max_batch: int = MAX_BATCH,
        name: str = "batch",
        threads: int = 1,
    ) -> None:
        self.engine = writer(engine)
        self.handle = handle
        self.threads = threads
        self.max_batch = max_batch
        self.name = name
        self._queue: queue.SimpleQueue[tuple[Any, Future[Any]] | None] = queue.SimpleQueue()
        self._workers: list[threading.Thread] = []
        self._lock = threading.Lock()
        self._closed = False
        #: transactions committed and units stored (for tests and the benchmark)
        self.batches = 0
        self.units = 0

    def submit(self, work: Any) -> Future[Any]:
        """Queue ``work`` (a unit of work, or what ``handle`` takes); the future resolves
        after the transaction it ran in commits (or with the exception it raised, run
        alone)."""
        future: Future[Any] = Future()
        with self._lock:
            if self._closed:
                raise RuntimeError("batch writer closed")
            if not self._workers:
                for n in range(self.threads):
                    worker = threading.Thread(
                        target=self._run, name=f"yibao-{self.name}-writer-{n}", daemon=True
                    )
                    worker.start()
                    self._workers.append(worker)
        self._queue.put((work, future))
        return future

    def close(self, timeout: float = 10.0) -> None:
        """Finish what is queued, then stop the thread."""
        with self._lock:
            self._closed = True
            workers = list(self._workers)
        for _ in workers:
            self._queue.put(None)
        for worker in workers:
            worker.join(timeout)

    def _take(self) -> tuple[list[tuple[Any, Future[Any]]], bool]:
        first = self._queue.get()
        if first is None:
            return [], True
        batch, stop = [first], False
        while len(batch) < self.max_batch:
            try:
                item = self._queue.get_nowait()
            except queue.Empty:
                break
            if item is None:
                stop = True
                break
            batch.append(item)
        return batch, stop

    def _run(self) -> None:
        while True:
            batch, stop = self._take()
            live = [(w, f) for w, f in batch if f.set_running_or_notify_cancel()]
            if live:
                self._commit(live)
            if stop:
                return

    def _commit(self, batch: list[tuple[Any, Future[Any]]]) -> None:
        try:
            with self.engine.begin() as conn:
                results = self.handle(conn, [work for work, _ in batch])
        except Exception:  # one unit (or the commit) failed: each on its own
            if len(batch) == 1:
                self._alone(*batch[0])
                return
            log.info("batch of %d rolled back; running its units one by one", len(batch))
            for work, future in batch:
                self._alone(work, future)
            return
        self.batches += 1
        self.units += len(batch)
        for (_, future), result in zip(batch, results, strict=True):
            future.set_result(result)

    def _alone(self, work: Any, future: Future[Any]) -> None:
        try:
            with self.engine.begin() as conn:
                (result,) = self.handle(conn, [work])
        except Exception as exc:  # the caller's request fails with it
            future.set_exception(exc)
            return
        self.batches += 1
        self.units += 1
        future.set_result(result)
