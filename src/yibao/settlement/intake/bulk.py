"""Bulk intake of many settlement lists: parse + QC in a worker process, pipelined.

Intake has a CPU half without the database (parse, QC, case frames:
:func:`~yibao.settlement.intake.prepare_lists`) and a database half (screen, store,
group, price: :func:`~yibao.settlement.intake.store_prepared`).  For a large import
the next chunk is prepared in a worker process while the current one is written,
one transaction per chunk, so the two halves overlap on two cores.

>>> for outcomes in intake_stream(sessions, chunks, settings=s, actor=a):  # doctest: +SKIP
...     print(len(outcomes))
"""

from __future__ import annotations

import multiprocessing
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Executor, Future, ProcessPoolExecutor
from contextlib import ExitStack
from datetime import date
from types import SimpleNamespace
from typing import Any

from sqlalchemy import text
from sqlalchemy.orm import Session

from yibao.audit.service import Actor
from yibao.db.scoping import Scope, set_scope
from yibao.grouping.plans import plan_registry
from yibao.settlement.intake import ListOutcome, PreparedBatch, prepare_lists, store_prepared

#: tables whose planner statistics matter to intake lookups (refreshed as they grow)
ANALYZED = ("settlement_lists", "cases", "case_groupings")

_worker_plans: Any = None


def _init_worker(plans_dir: str | None) -> None:
    global _worker_plans
    _worker_plans = plan_registry(SimpleNamespace(plans_dir=plans_dir))


def _prepare_in_worker(messages: list[Any]) -> PreparedBatch:
    return prepare_lists(messages, _worker_plans.for_date(date.today()))


class _InProcess(Executor):
    """Runs the preparation in the calling thread (``workers=0``: no extra process)."""

    def __init__(self, plans_dir: str | None) -> None:
        _init_worker(plans_dir)

    def submit(self, fn: Callable[..., Any], /, *args: Any, **kwargs: Any) -> Future[Any]:
        future: Future[Any] = Future()
        try:
            future.set_result(fn(*args, **kwargs))
        except BaseException as exc:  # handed to the caller through the future
            future.set_exception(exc)
        return future


def intake_stream(
    sessions: Callable[[], Session],
    chunks: Iterable[list[Any]],
    *,
    settings: Any,
    actor: Actor,
    scope: Scope,
    source: str = "file",
    workers: int = 1,
) -> Iterator[list[ListOutcome]]:
    """Receive ``chunks`` of 4101A messages; yields each chunk's outcomes once committed.

    Each chunk is one transaction: a failure (database down, say) rolls back that
    chunk only; the chunks already yielded stay stored.  ``workers=0`` prepares in
    this process (no overlap).  On PostgreSQL the planner statistics of the intake
    tables are refreshed after the 1st, 2nd, 4th, 8th … chunk, so lookups by
    settlement id keep using their index while the tables grow from empty.
    """
    registry = plan_registry(settings)
    plans_dir = getattr(settings, "plans_dir", None)
    plans_dir = None if plans_dir is None else str(plans_dir)
    with ExitStack() as stack:
        pool: Executor
        if workers > 0:
            pool = stack.enter_context(
                ProcessPoolExecutor(
                    max_workers=workers,
                    mp_context=multiprocessing.get_context("spawn"),
                    initializer=_init_worker,
                    initargs=(plans_dir,),
                )
            )
        else:
            pool = _InProcess(plans_dir)
        pending: list[Future[PreparedBatch]] = []
        source_chunks = iter(chunks)
        for chunk in source_chunks:  # keep workers + 1 chunks in preparation
            pending.append(pool.submit(_prepare_in_worker, chunk))
            if len(pending) > workers:
                break
        done = 0
        while pending:
            prepared = pending.pop(0).result()
            nxt = next(source_chunks, None)
            if nxt is not None:
                pending.append(pool.submit(_prepare_in_worker, nxt))
            with sessions() as session:
                set_scope(session, scope)
                outcomes = store_prepared(
                    session, prepared, registry=registry, actor=actor, source=source
                )
                session.commit()
                done += 1
                if done & (done - 1) == 0:
                    _analyze(session)
            yield outcomes


def _analyze(session: Session) -> None:
    """Refresh planner statistics of the intake tables (PostgreSQL; others: nothing)."""
    if session.connection().dialect.name != "postgresql":
        return
    for table in ANALYZED:
        session.execute(text(f"ANALYZE {table}"))
    session.commit()
