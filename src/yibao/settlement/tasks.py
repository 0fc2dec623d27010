"""Settlement batch entry points: the period confirmation driver and its job kind.

Confirmation is the one job that commits more than once (ADR 0007): each chunk of
lists is its own transaction (:func:`yibao.settlement.confirm.do_confirm_chunk`), so
the work survives a crash or a stop and a re-run resumes the running batch.  The
driver opens its own sessions from the engine, in the caller's data scope.

``YIBAO_CONFIRM_CHUNK_DELAY_S`` (seconds, default 0) pauses each chunk just before it
commits: a throttle, and the way the crash-safety test makes sure it kills the
process mid-chunk.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from sqlalchemy import update
from sqlalchemy.exc import IntegrityError, OperationalError
from sqlalchemy.orm import Session, sessionmaker

from yibao.audit.service import Actor
from yibao.db.scoping import SYSTEM_SCOPE, Scope, get_scope, set_scope
from yibao.db.session import session_factory
from yibao.jobs.models import Job
from yibao.jobs.runner import JobContext, JobOutcome, JobRunner, job_kind
from yibao.jobs.service import do_submit_job
from yibao.settlement.confirm import (
    ConcurrentChange,
    do_confirm_chunk,
    do_finish_confirmation,
    do_start_confirmation,
    lock_batch,
    remaining_count,
)
from yibao.settlement.models import SettlementConfirmBatch

CONFIRM_KIND = "settlement.confirm"
DELAY_ENV = "YIBAO_CONFIRM_CHUNK_DELAY_S"
MAX_RETRIES = 5
Progress = Callable[[int, int], None]


@contextmanager
def unit(sessions: sessionmaker[Session], scope: Scope) -> Iterator[Session]:
    """One transaction in ``scope``: commit on success, roll back on error."""
    session = sessions()
    set_scope(session, scope)
    try:
        yield session
        session.commit()
    except BaseException:
        session.rollback()
        raise
    finally:
        session.close()


def _delay(delay_s: float | None) -> float:
    if delay_s is not None:
        return delay_s
    try:
        return max(0.0, float(os.environ.get(DELAY_ENV, "0") or 0))
    except ValueError:
        return 0.0


def run_confirmation(
    sessions: sessionmaker[Session],
    batch_id: int,
    *,
    actor: Actor,
    scope: Scope = SYSTEM_SCOPE,
    chunk_size: int | None = None,
    progress: Progress | None = None,
    delay_s: float | None = None,
) -> dict[str, Any]:
    """Confirm the batch's period chunk by chunk (one transaction each), then finish.

    Idempotent: lists already confirmed are not selected again, so running it after a
    crash (or twice) continues where the committed chunks stopped.  A chunk that meets
    a concurrent change rolls back and is taken again (at most ``MAX_RETRIES`` times).
    """
    pause = _delay(delay_s)
    with unit(sessions, scope) as session:
        batch = lock_batch(session, batch_id)
        if batch.status == "done":
            return do_finish_confirmation(session, batch_id, actor=actor)
        session.execute(
            update(SettlementConfirmBatch)
            .where(SettlementConfirmBatch.id == batch_id)
            .values(runs=SettlementConfirmBatch.runs + 1)
            .execution_options(synchronize_session=False)
        )
        size = chunk_size or batch.chunk_size
        done = batch.confirmed
        total = done + remaining_count(session, batch.region_code, batch.period_code)
    if progress:
        progress(done, total)
    after, rescanned, retries = 0, False, 0
    while True:
        try:
            with unit(sessions, scope) as session:
                chunk = do_confirm_chunk(session, batch_id, actor=actor, after_id=after, limit=size)
                if chunk.count and pause:
                    time.sleep(pause)  # inside the transaction: a crash here loses the chunk
        except (ConcurrentChange, IntegrityError, OperationalError):
            retries += 1
            if retries > MAX_RETRIES:
                raise
            time.sleep(0.05 * retries)
            continue
        if chunk.count == 0:
            if after == 0 or rescanned:
                break
            after, rescanned = 0, True  # once more from the start: lists approved meanwhile
            continue
        after = chunk.last_id
        done += chunk.count
        total = max(total, done)
        if progress:
            progress(done, total)
    with unit(sessions, scope) as session:
        return do_finish_confirmation(session, batch_id, actor=actor)


def confirm_period(
    sessions: sessionmaker[Session],
    *,
    region_code: str,
    period_code: str,
    actor: Actor,
    scope: Scope = SYSTEM_SCOPE,
    chunk_size: int | None = None,
    progress: Progress | None = None,
    delay_s: float | None = None,
) -> dict[str, Any]:
    """Start (or resume) the period's batch and run it to the end (CLI, tests)."""
    with unit(sessions, scope) as session:
        batch = do_start_confirmation(
            session,
            region_code=region_code,
            period_code=period_code,
            actor=actor,
            chunk_size=chunk_size,
        )
        batch_id = batch.id
    return run_confirmation(
        sessions,
        batch_id,
        actor=actor,
        scope=scope,
        chunk_size=chunk_size,
        progress=progress,
        delay_s=delay_s,
    )


def submit_confirmation(
    session: Session,
    runner: JobRunner,
    *,
    region_code: str,
    period_code: str,
    actor: Actor,
    chunk_size: int | None = None,
) -> tuple[SettlementConfirmBatch, Job]:
    """Start (or resume) the period's batch and queue its job, in the caller's
    transaction (the API and the page both come here); the runner starts the job
    after the commit.  409 while the running batch's job is still queued / running."""
    batch = do_start_confirmation(
        session,
        region_code=region_code,
        period_code=period_code,
        actor=actor,
        chunk_size=chunk_size,
    )
    job = do_submit_job(
        session,
        runner,
        kind=CONFIRM_KIND,
        params={"batch_id": batch.id, "chunk_size": chunk_size, "period": batch.period_code},
        actor=actor,
        message=f"排队中：确认结算 {batch.period_code}",
    )
    batch.job_id = job.id
    return batch, job


@job_kind(CONFIRM_KIND, "确认结算（结算期间）")
def confirm_period_job(ctx: JobContext) -> JobOutcome:
    """Run a confirmation batch created by the request (its chunks commit on their own)."""
    bind = ctx.session.get_bind()
    sessions = session_factory(bind)  # type: ignore[arg-type]
    scope = get_scope(ctx.session) or SYSTEM_SCOPE
    report = run_confirmation(
        sessions,
        int(ctx.params["batch_id"]),
        actor=ctx.actor,
        scope=scope,
        chunk_size=ctx.params.get("chunk_size"),
        progress=lambda done, total: ctx.progress(done, total, f"已确认 {done:,} / {total:,} 份"),
    )
    pending = (report.get("pending") or {}).get("total", 0)
    message = (
        f"结算期间 {report['period']} 已确认 {report['confirmed']:,} 份，"
        f"支付 {report['amount_paid']} 元"
    )
    if report.get("remaining"):
        message += f"；仍有 {report['remaining']:,} 份待确认，请重新运行"
    elif pending:
        message += f"；{pending:,} 份未能确认（审核中、已退回等）"
    return JobOutcome(summary=report, message=message)
