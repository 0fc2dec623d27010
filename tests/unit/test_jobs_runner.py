"""The job runner: success commits the work with the job, failure keeps nothing but the
Chinese error, progress is reported while running, a restart fails cut-off jobs.

The runner is about transactions, so these tests use the test database (``db``)."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from tests import builders as b
from yibao.audit.models import AuditLog
from yibao.audit.service import record
from yibao.cases.models import Case
from yibao.db.scoping import SYSTEM_SCOPE, Scope, set_scope
from yibao.db.session import session_factory, writer
from yibao.jobs.models import Job
from yibao.jobs.runner import (
    RESTART_MESSAGE,
    STOP_MESSAGE,
    JobContext,
    JobOutcome,
    JobRunner,
    job_kind,
)
from yibao.jobs.service import do_submit_job, get_job
from yibao.kit.errors import DomainError, NotFound

release = threading.Event()


@job_kind("test.ok", "测试：成功")
def _ok(ctx: JobContext) -> JobOutcome:
    record(ctx.session, ctx.actor, "test.work", "job", ctx.job_id)
    ctx.progress(1, 2, "第一步")
    ctx.file("out.txt").write_text("结果", encoding="utf-8")
    ctx.file("scratch.tmp").write_text("x")
    ctx.progress(2, 2)
    return JobOutcome(result_file="out.txt", result_name="结果.txt", summary={"n": 2})


@job_kind("test.fail", "测试：业务失败")
def _fail(ctx: JobContext) -> JobOutcome:
    record(ctx.session, ctx.actor, "test.work", "job", ctx.job_id)
    ctx.session.flush()
    ctx.file("partial.txt").write_text("半成品")
    ctx.progress(1, 2)
    raise DomainError("测试失败：编码表缺失")


@job_kind("test.crash", "测试：程序错误")
def _crash(ctx: JobContext) -> JobOutcome:
    raise RuntimeError("boom")


@job_kind("test.cases", "测试：数据范围")
def _count_cases(ctx: JobContext) -> JobOutcome:
    return JobOutcome(summary={"cases": len(ctx.session.scalars(select(Case)).all())})


@job_kind("test.locked", "测试：写入后报告进度")
def _write_then_progress(ctx: JobContext) -> JobOutcome:
    record(ctx.session, ctx.actor, "test.work", "job", ctx.job_id)
    ctx.session.flush()  # on SQLite this job now holds the write lock
    for i in range(3):
        ctx.progress(i + 1, 3)
        time.sleep(0.6)  # past the throttle, so each report tries the database
    return None


@job_kind("test.wait", "测试：等待")
def _wait(ctx: JobContext) -> JobOutcome:
    n = 0
    while not release.wait(0.02):
        n += 1
        ctx.progress(n, 1000, f"第 {n} 步")
    return JobOutcome()


@pytest.fixture()
def runner(db: Session, engine: Engine, tmp_path: Path) -> Iterator[JobRunner]:
    release.clear()
    r = JobRunner(session_factory(writer(engine)), tmp_path / "jobs", workers=2)
    yield r
    release.set()
    r.shutdown()


def submit(db: Session, runner: JobRunner, kind: str, scope: Scope = SYSTEM_SCOPE) -> int:
    set_scope(db, scope)
    job = do_submit_job(db, runner, kind=kind, params={"x": 1}, actor=b.TEST_ACTOR)
    db.commit()
    return job.id


def wait(engine: Engine, job_id: int, statuses: tuple[str, ...] = ("succeeded", "failed")) -> Job:
    deadline = time.monotonic() + 15
    with session_factory(engine)() as s:
        while True:
            s.rollback()  # a new read snapshot each time
            job = s.get(Job, job_id, populate_existing=True)
            assert job is not None
            if job.status in statuses or time.monotonic() > deadline:
                return job
            time.sleep(0.02)


def _work_rows(db: Session) -> list[AuditLog]:
    db.expire_all()
    return list(db.scalars(select(AuditLog).where(AuditLog.action == "test.work")))


def test_success_commits_work_with_the_job(db, engine, runner) -> None:  # type: ignore[no-untyped-def]
    job_id = submit(db, runner, "test.ok")
    job = wait(engine, job_id)
    assert job.status == "succeeded", job.error
    assert (job.progress_done, job.progress_total) == (2, 2)
    assert job.summary == {"n": 2} and job.result_name == "结果.txt"
    assert job.started_at and job.finished_at and job.finished_at.tzinfo is not None
    assert len(_work_rows(db)) == 1
    folder = runner.job_dir(job_id)
    assert [p.name for p in folder.iterdir()] == ["out.txt"]  # scratch files removed
    assert runner.result_path(job) == folder / "out.txt"
    submitted = db.scalar(select(AuditLog).where(AuditLog.action == "job.submit"))
    assert submitted is not None and submitted.after["kind"] == "test.ok"


def test_failure_records_chinese_error_and_keeps_nothing(db, engine, runner) -> None:  # type: ignore[no-untyped-def]
    failed = wait(engine, submit(db, runner, "test.fail"))
    assert failed.status == "failed"
    assert failed.error == "测试失败：编码表缺失"
    assert _work_rows(db) == []  # the flushed row was rolled back
    assert not runner.job_dir(failed.id).exists()  # and the partial file removed
    assert runner.result_path(failed) is None
    crashed = wait(engine, submit(db, runner, "test.crash"))
    assert crashed.status == "failed"
    assert crashed.error == "任务执行出错（RuntimeError）：boom"


def test_unknown_kind_fails(db, engine, runner) -> None:  # type: ignore[no-untyped-def]
    job = wait(engine, submit(db, runner, "test.nope"))
    assert job.status == "failed" and "未知的任务类型" in (job.error or "")


def test_job_runs_in_its_owners_scope(db, engine, runner) -> None:  # type: ignore[no-untyped-def]
    ha = b.hospital(db, "990102")
    hb = b.hospital(db, "990103")
    b.case(db, ha)
    b.case(db, hb)
    b.case(db, hb)
    db.commit()
    job_id = submit(db, runner, "test.cases", Scope(hospital_id=hb.id))
    job = wait(engine, job_id)
    assert job.summary == {"cases": 2}
    assert (job.hospital_id, job.region_code) == (hb.id, "990103")
    set_scope(db, Scope(hospital_id=ha.id))
    with pytest.raises(NotFound):
        get_job(db, job_id)
    set_scope(db, Scope(region_code="990100"))
    assert get_job(db, job_id).id == job_id


def test_progress_is_reported_while_running(db, engine, runner) -> None:  # type: ignore[no-untyped-def]
    job_id = submit(db, runner, "test.wait")
    wait(engine, job_id, ("running",))
    deadline = time.monotonic() + 10
    while True:  # written to the jobs row in short transactions
        db.expire_all()
        row = db.get(Job, job_id)
        if (row is not None and row.progress_done > 0) or time.monotonic() > deadline:
            break
        time.sleep(0.05)
    assert row is not None and row.progress_done > 0 and row.progress_total == 1000
    live = runner.live(job_id)
    assert live is not None and live.done >= row.progress_done
    release.set()
    assert wait(engine, job_id).status == "succeeded"


def test_progress_never_waits_for_the_jobs_own_write(db, engine, runner) -> None:  # type: ignore[no-untyped-def]
    started = time.monotonic()
    job = wait(engine, submit(db, runner, "test.locked"))
    assert job.status == "succeeded", job.error
    assert time.monotonic() - started < 8  # no 30 s busy timeout per report
    assert (job.progress_done, job.progress_total) == (3, 3)
    assert len(_work_rows(db)) == 1


def test_rolled_back_submission_never_runs(db, engine, runner) -> None:  # type: ignore[no-untyped-def]
    set_scope(db, SYSTEM_SCOPE)
    job = do_submit_job(db, runner, kind="test.ok", params={}, actor=b.TEST_ACTOR)
    job_id = job.id
    db.rollback()
    time.sleep(0.2)
    assert db.get(Job, job_id) is None
    assert _work_rows(db) == []
    # the next commit of the same session does not start it either
    submit(db, runner, "test.ok")
    time.sleep(0.3)
    assert len(_work_rows(db)) == 1


def test_restart_marks_cut_off_jobs_failed(db, engine, tmp_path) -> None:  # type: ignore[no-untyped-def]
    for status in ("running", "queued", "succeeded"):
        db.add(Job(kind="test.ok", status=status, progress_done=5, params={}))
    db.commit()
    fresh = JobRunner(session_factory(engine), tmp_path / "jobs")
    try:
        assert fresh.recover() == 2
    finally:
        fresh.shutdown()
    db.expire_all()
    jobs = {j.status if j.error is None else j.error: j for j in db.scalars(select(Job))}
    assert set(jobs) == {RESTART_MESSAGE, "服务重启，任务未能执行，请重新提交", "succeeded"}
    assert jobs[RESTART_MESSAGE].status == "failed" and jobs[RESTART_MESSAGE].finished_at


def test_shutdown_interrupts_running_jobs(db, engine, runner) -> None:  # type: ignore[no-untyped-def]
    job_id = submit(db, runner, "test.wait")
    wait(engine, job_id, ("running",))
    runner.shutdown()
    job = wait(engine, job_id)
    assert job.status == "failed" and job.error == STOP_MESSAGE


def test_jobs_and_grouping_do_not_import_web_or_cli() -> None:
    """The dependency rule (tests/unit/test_dependency_rule.py) for the two new domains."""
    from tests.unit.test_dependency_rule import SRC, _imports

    bad = [
        (path.name, name)
        for domain in ("jobs", "grouping")
        for path in (SRC / domain).rglob("*.py")
        if path.name != "endpoints.py"
        for name in _imports(path)
        if name.startswith(("yibao.web", "yibao.cli", "yibao.api"))
    ]
    assert not bad, bad


def test_a_runner_starting_leaves_the_jobs_of_live_runners_alone(db, engine, tmp_path) -> None:  # type: ignore[no-untyped-def]
    """Several web processes share the database: a runner that starts fails only the jobs
    of runners that are gone (ended process, no heartbeat), never a live runner's."""
    import os
    import subprocess
    from datetime import timedelta

    from yibao.kit.timeutil import utcnow

    ended = subprocess.Popen(["true"])
    ended.wait()
    host = __import__("socket").gethostname()[:50]
    now = utcnow()
    live = JobRunner(session_factory(writer(engine)), tmp_path / "a")
    rows = {
        "live": Job(kind="test.ok", status="running", params={}, runner=live.id, heartbeat_at=now),
        "ended": Job(
            kind="test.ok",
            status="running",
            params={},
            runner=f"{host}:{ended.pid}:x1",
            heartbeat_at=now,
        ),
        "quiet": Job(
            kind="test.ok",
            status="queued",
            params={},
            runner="other-host:4242:x2",
            heartbeat_at=now - timedelta(minutes=10),
        ),
        "beating": Job(
            kind="test.ok",
            status="running",
            params={},
            runner="other-host:4243:x3",
            heartbeat_at=now,
        ),
        "stopped": Job(
            kind="test.ok",
            status="running",
            params={},
            runner=f"{host}:{os.getpid()}:gone",
            heartbeat_at=now,
        ),
    }
    db.add_all(rows.values())
    db.commit()
    fresh = JobRunner(session_factory(writer(engine)), tmp_path / "b")
    try:
        assert fresh.recover() == 3
    finally:
        fresh.shutdown()
        live.shutdown()
    db.expire_all()
    status = {name: db.get(Job, job.id).status for name, job in rows.items()}
    assert status == {
        "live": "running",
        "ended": "failed",
        "quiet": "failed",
        "beating": "running",
        "stopped": "failed",
    }
