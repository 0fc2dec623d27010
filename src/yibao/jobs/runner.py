"""Run jobs in a small thread pool inside the web process.

Transactions (house rule 4, ADR 0003):

* a job is created (``queued``) in the caller's transaction by
  :func:`yibao.jobs.service.do_submit_job`; it is handed to the pool only after that
  transaction commits (``after_commit`` hook), and dropped if it rolls back;
* the worker claims it (``running``) in a short transaction of its own;
* the job function works in **one** session, scoped like the job's owner; the job's
  ``succeeded`` row is written in that same transaction, so its result rows commit
  together with its success, or not at all;
* a failure rolls that session back and records the Chinese error in a separate
  short transaction; files the job wrote are removed;
* progress goes to memory at once and to the ``jobs`` row in short separate
  transactions (throttled; on SQLite skipped while the job itself holds the write
  lock, so progress never waits for the work);
* each job row names the runner that queued or runs it (``host:pid:token``); every
  runner marks its jobs alive every :data:`HEARTBEAT_S` seconds.  Jobs whose runner is
  gone — its process ended on this host, or no sign of life for :data:`STALE_S`
  seconds — were cut off by a restart or a crash and are marked failed
  (:meth:`JobRunner.recover`, at start and with each heartbeat).  Several web
  processes (``yibao serve --workers N``, or several hosts) can therefore share a
  database without failing each other's jobs.
"""

from __future__ import annotations

import logging
import os
import secrets
import shutil
import socket
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, cast

from sqlalchemy import Engine, Table, event, select, update
from sqlalchemy.exc import OperationalError, SQLAlchemyError
from sqlalchemy.orm import Session, sessionmaker

from yibao.accounts.models import User
from yibao.accounts.service import actor_of
from yibao.audit.service import SYSTEM, Actor
from yibao.db.scoping import SYSTEM_SCOPE, Scope, set_scope
from yibao.db.session import reader, short_transaction
from yibao.jobs.models import Job
from yibao.kit.errors import DomainError
from yibao.kit.timeutil import utcnow

log = logging.getLogger(__name__)

RESTART_MESSAGE = "服务重启，任务中断"
RESTART_QUEUED_MESSAGE = "服务重启，任务未能执行，请重新提交"
STOP_MESSAGE = "服务停止，任务中断"
PROGRESS_INTERVAL_S = 0.5
HEARTBEAT_S = 15.0
STALE_S = 90.0
#: runners alive in this process (a runner of this process not in it has shut down)
_LIVE_RUNNERS: set[str] = set()
_PENDING_KEY = "yibao.jobs.pending"
_jobs = cast(Table, Job.__table__)


class JobInterrupted(Exception):
    """Raised inside a job (by :meth:`JobContext.progress`) when the runner stops."""


@dataclass
class JobOutcome:
    """What a job function returns: an optional result file in ``ctx.work_dir``, the
    name offered for download, a JSON summary and a closing message (Chinese)."""

    result_file: str | None = None
    result_name: str | None = None
    summary: dict[str, Any] | None = None
    message: str | None = None


JobFn = Callable[["JobContext"], JobOutcome | None]


@dataclass(frozen=True)
class JobKind:
    name: str
    label: str
    fn: JobFn


_KINDS: dict[str, JobKind] = {}


def job_kind(name: str, label: str) -> Callable[[JobFn], JobFn]:
    """Register a job function under ``name`` (e.g. ``grouping.batch``) with a Chinese label."""

    def register(fn: JobFn) -> JobFn:
        _KINDS[name] = JobKind(name, label, fn)
        return fn

    return register


def kind_label(name: str) -> str:
    kind = _KINDS.get(name)
    return kind.label if kind else name


@dataclass
class JobContext:
    """Handed to a job function: its parameters, its unit-of-work session (scoped like
    the owner, never commit it), the owner as audit actor, a folder for files, and
    :meth:`progress`."""

    job_id: int
    kind: str
    params: dict[str, Any]
    session: Session
    actor: Actor
    work_dir: Path
    settings: Any
    _runner: JobRunner = field(repr=False)

    def file(self, name: str) -> Path:
        """A path in the job's folder (created on demand) for a result or scratch file."""
        self.work_dir.mkdir(parents=True, exist_ok=True)
        return self.work_dir / name

    def progress(self, done: int, total: int | None = None, message: str | None = None) -> None:
        """Report progress; raises :class:`JobInterrupted` when the service is stopping."""
        self._runner.report(self.job_id, done, total, message)
        if self._runner.stopping:
            raise JobInterrupted(STOP_MESSAGE)


@dataclass
class Live:
    done: int = 0
    total: int | None = None
    message: str | None = None
    written_at: float = 0.0


def error_message(exc: BaseException) -> str:
    """The Chinese message stored for a failed job."""
    if isinstance(exc, DomainError):
        return exc.message
    if isinstance(exc, JobInterrupted):
        return STOP_MESSAGE
    text = str(exc).strip()
    return (
        f"任务执行出错（{type(exc).__name__}）：{text}"[:2000]
        if text
        else (f"任务执行出错（{type(exc).__name__}）")
    )


def scope_of_job(hospital_id: int | None, region_code: str | None) -> Scope:
    if hospital_id is not None:
        return Scope(hospital_id=hospital_id)
    if region_code:
        return Scope(region_code=region_code)
    return SYSTEM_SCOPE


class JobRunner:
    """A thread pool (1–2 workers) that runs queued jobs; one per web process."""

    def __init__(
        self,
        sessions: sessionmaker[Session],
        jobs_dir: Path,
        *,
        workers: int = 1,
        settings: Any = None,
    ) -> None:
        self._sessions = sessions
        engine = sessions.kw.get("bind")
        if not isinstance(engine, Engine):
            raise TypeError("sessionmaker must be bound to an Engine")
        self._engine = engine
        self.jobs_dir = jobs_dir
        self.settings = settings
        self._executor = ThreadPoolExecutor(
            max_workers=max(1, workers), thread_name_prefix="yibao-job"
        )
        self._lock = threading.Lock()
        self._live: dict[int, Live] = {}
        self._pending: set[int] = set()
        self._stopping = threading.Event()
        self.id = f"{socket.gethostname()[:50]}:{os.getpid()}:{secrets.token_hex(4)}"
        _LIVE_RUNNERS.add(self.id)
        self._heart = threading.Thread(target=self._beat, name="yibao-job-heartbeat", daemon=True)
        self._heart.start()

    # -- lifecycle -----------------------------------------------------------------

    @property
    def stopping(self) -> bool:
        return self._stopping.is_set()

    def recover(self) -> int:
        """Mark jobs left ``queued`` / ``running`` by runners that are gone as failed."""
        now = utcnow()
        try:
            with self._engine.begin() as conn:
                rows = conn.execute(
                    select(_jobs.c.id, _jobs.c.status, _jobs.c.runner, _jobs.c.heartbeat_at).where(
                        _jobs.c.status.in_(("queued", "running"))
                    )
                ).all()
                dead = [r for r in rows if self._is_gone(r.runner, r.heartbeat_at, now)]
                for status, message in (
                    ("running", RESTART_MESSAGE),
                    ("queued", RESTART_QUEUED_MESSAGE),
                ):
                    ids = [r.id for r in dead if r.status == status]
                    if ids:
                        conn.execute(
                            update(_jobs)
                            .where(_jobs.c.id.in_(ids), _jobs.c.status == status)
                            .values(status="failed", error=message, finished_at=now)
                        )
        except SQLAlchemyError as exc:  # e.g. database not migrated yet
            log.warning("jobs.recover skipped: %s", str(exc).splitlines()[0])
            return 0
        if dead:
            log.warning("jobs.recover: %d jobs of stopped runners marked failed", len(dead))
        return len(dead)

    def _is_gone(self, runner: str | None, heartbeat: Any, now: Any) -> bool:
        """A job's runner has stopped: no runner recorded (before migration 0012), a
        runner of this host whose process ended (or of this process, shut down), or
        no heartbeat for :data:`STALE_S` seconds."""
        if runner is None:
            return True
        if runner == self.id:
            return False
        host, _, rest = runner.partition(":")
        pid_text = rest.partition(":")[0]
        if host == socket.gethostname()[:50] and pid_text.isdigit():
            pid = int(pid_text)
            if pid == os.getpid():
                return runner not in _LIVE_RUNNERS
            try:
                os.kill(pid, 0)
            except ProcessLookupError:
                return True
            except PermissionError:
                pass
        return heartbeat is None or (now - heartbeat).total_seconds() > STALE_S

    def _beat(self) -> None:
        """Every :data:`HEARTBEAT_S` seconds: this runner's jobs are alive; others'
        jobs whose runner is gone are failed."""
        while not self._stopping.wait(HEARTBEAT_S):
            try:
                with short_transaction(self._engine, wait_ms=500) as conn:
                    conn.execute(
                        update(_jobs)
                        .where(
                            _jobs.c.runner == self.id,
                            _jobs.c.status.in_(("queued", "running")),
                        )
                        .values(heartbeat_at=utcnow())
                    )
            except SQLAlchemyError:
                log.debug("job heartbeat skipped (database busy)")
                continue
            self.recover()

    def shutdown(self) -> None:
        """Stop: running jobs are interrupted at their next progress report and fail;
        queued ones are cancelled and marked failed."""
        self._stopping.set()
        _LIVE_RUNNERS.discard(self.id)
        self._executor.shutdown(wait=True, cancel_futures=True)
        with self._lock:
            left = sorted(self._pending)
            self._pending.clear()
        for job_id in left:
            self._mark_failed(job_id, RESTART_QUEUED_MESSAGE, only_status="queued")

    # -- queue ---------------------------------------------------------------------

    def job_dir(self, job_id: int) -> Path:
        return self.jobs_dir / str(job_id)

    def result_path(self, job: Job) -> Path | None:
        if job.status != "succeeded" or not job.result_file:
            return None
        path = self.job_dir(job.id) / job.result_file
        return path if path.is_file() else None

    def enqueue(self, job_id: int) -> None:
        """Hand a committed ``queued`` job to the pool."""
        if self.stopping:
            return
        with self._lock:
            self._pending.add(job_id)
        self._executor.submit(self._run, job_id)

    def enqueue_after_commit(self, session: Session, job_id: int) -> None:
        """Enqueue ``job_id`` when ``session`` commits (nothing happens on rollback)."""
        session.info.setdefault(_PENDING_KEY, []).append((self, job_id))

    # -- progress ------------------------------------------------------------------

    def live(self, job_id: int) -> Live | None:
        """In-memory progress of a job running in this process."""
        with self._lock:
            return self._live.get(job_id)

    def report(self, job_id: int, done: int, total: int | None, message: str | None) -> None:
        with self._lock:
            live = self._live.setdefault(job_id, Live())
            live.done = done
            if total is not None:
                live.total = total
            if message is not None:
                live.message = message
            now = time.monotonic()
            due = now - live.written_at >= PROGRESS_INTERVAL_S or (
                live.total is not None and done >= live.total
            )
            if due:
                live.written_at = now
            snapshot = (live.done, live.total, live.message)
        if due:
            self._write_progress(job_id, *snapshot)

    def _write_progress(
        self, job_id: int, done: int, total: int | None, message: str | None
    ) -> None:
        values: dict[str, Any] = {"progress_done": done}
        if total is not None:
            values["progress_total"] = total
        if message is not None:
            values["message"] = message[:500]
        try:
            with short_transaction(self._engine, wait_ms=50) as conn:  # never wait for the job
                conn.execute(
                    update(_jobs)
                    .where(_jobs.c.id == job_id, _jobs.c.status == "running")
                    .values(**values)
                )
        except OperationalError:
            log.debug("job %s: progress not written (database busy)", job_id)

    # -- execution -----------------------------------------------------------------

    def _run(self, job_id: int) -> None:
        with self._lock:
            self._pending.discard(job_id)
        try:
            self._execute(job_id)
        except Exception:  # the pool must survive anything
            log.exception("job %s: runner error", job_id)
        finally:
            with self._lock:
                self._live.pop(job_id, None)

    def _claim(self, job_id: int) -> dict[str, Any] | None:
        with self._engine.begin() as conn:
            now = utcnow()
            claimed = conn.execute(
                update(_jobs)
                .where(_jobs.c.id == job_id, _jobs.c.status == "queued")
                .values(
                    status="running",
                    started_at=now,
                    message="运行中",
                    runner=self.id,
                    heartbeat_at=now,
                )
            ).rowcount
            if not claimed:
                return None
            row = conn.execute(select(_jobs).where(_jobs.c.id == job_id)).mappings().one()
            return dict(row)

    def _execute(self, job_id: int) -> None:
        row = self._claim(job_id)
        if row is None:
            return
        work_dir = self.job_dir(job_id)
        actor = self._owner(row["owner_id"])
        # the job's session begins its transaction on first use (on SQLite: takes the
        # write lock then), so a job that commits in sessions of its own never waits
        # for its own main session
        session = self._sessions()
        set_scope(session, scope_of_job(row["hospital_id"], row["region_code"]))
        try:
            kind = _KINDS.get(row["kind"])
            if kind is None:
                raise DomainError(f"未知的任务类型 {row['kind']} / unknown job kind")
            ctx = JobContext(
                job_id=job_id,
                kind=row["kind"],
                params=dict(row["params"] or {}),
                session=session,
                actor=actor,
                work_dir=work_dir,
                settings=self.settings,
                _runner=self,
            )
            outcome = kind.fn(ctx) or JobOutcome()
            if self.stopping:
                raise JobInterrupted(STOP_MESSAGE)
            self._succeed(session, job_id, outcome)
            session.commit()
        except Exception as exc:
            session.rollback()
            if not isinstance(exc, DomainError | JobInterrupted):
                log.exception("job %s (%s) failed", job_id, row["kind"])
            self._mark_failed(job_id, error_message(exc))
            shutil.rmtree(work_dir, ignore_errors=True)
            return
        finally:
            session.close()
        _keep_only(work_dir, outcome.result_file)

    def _owner(self, owner_id: int | None) -> Actor:
        """The job owner as audit actor, read in a short read-only session."""
        if owner_id is None:
            return SYSTEM
        with Session(reader(self._engine)) as session:
            owner = session.get(User, owner_id)
            return actor_of(owner) if owner is not None else SYSTEM

    def _succeed(self, session: Session, job_id: int, outcome: JobOutcome) -> None:
        job = session.get(Job, job_id, populate_existing=True)
        if job is None:  # pragma: no cover - the claimed row is in the owner's scope
            raise DomainError("任务记录不存在 / job row vanished")
        live = self.live(job_id)
        if live is not None:
            job.progress_done = live.done
            if live.total is not None:
                job.progress_total = live.total
        if job.progress_total is not None:
            job.progress_done = job.progress_total
        job.status = "succeeded"
        job.finished_at = utcnow()
        job.result_file = outcome.result_file
        job.result_name = outcome.result_name
        job.summary = outcome.summary
        job.message = (outcome.message or "完成")[:500]
        job.error = None

    def _mark_failed(self, job_id: int, message: str, *, only_status: str | None = None) -> None:
        conds = [_jobs.c.id == job_id]
        if only_status:
            conds.append(_jobs.c.status == only_status)
        try:
            with self._engine.begin() as conn:
                conn.execute(
                    update(_jobs)
                    .where(*conds)
                    .values(status="failed", error=message[:2000], finished_at=utcnow())
                )
        except SQLAlchemyError:
            log.exception("job %s: could not record the failure", job_id)


def _keep_only(work_dir: Path, result_file: str | None) -> None:
    """After success only the result file stays (uploaded inputs are not kept)."""
    if not work_dir.is_dir():
        return
    if not result_file:
        shutil.rmtree(work_dir, ignore_errors=True)
        return
    for path in work_dir.iterdir():
        if path.name == result_file:
            continue
        if path.is_dir():
            shutil.rmtree(path, ignore_errors=True)
        else:
            path.unlink(missing_ok=True)


@event.listens_for(Session, "after_commit")
def _enqueue_committed(session: Session) -> None:
    for runner, job_id in session.info.pop(_PENDING_KEY, ()):
        runner.enqueue(job_id)


@event.listens_for(Session, "after_rollback")
def _drop_uncommitted(session: Session) -> None:
    session.info.pop(_PENDING_KEY, None)
