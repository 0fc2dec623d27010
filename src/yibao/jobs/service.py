"""Submit and look up jobs.  Never commits: the request (or CLI) transaction does."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from yibao.accounts.roles import Permission, has_permission
from yibao.audit.service import Actor, record
from yibao.db.scoping import Scope, get_scope
from yibao.jobs.models import Job
from yibao.jobs.runner import JobRunner, kind_label
from yibao.kit.errors import Forbidden, NotFound
from yibao.kit.timeutil import utcnow
from yibao.regions.models import Hospital


def _owner_scope(session: Session, scope: Scope) -> tuple[int | None, str | None]:
    """(hospital_id, region_code) stored on a job created under ``scope``."""
    if scope.is_global:
        return None, None
    if scope.hospital_id is not None:
        hospital = session.get(Hospital, scope.hospital_id)
        if hospital is None:  # pragma: no cover - a hospital user's own hospital
            raise NotFound("医疗机构不存在 / hospital not found")
        return hospital.id, hospital.region_code
    return None, scope.region_code


def _brief(params: dict[str, Any]) -> dict[str, Any]:
    """Params for the audit row: long lists (e.g. 100,000 case ids) become their length."""
    return {
        k: f"{len(v)} 项" if isinstance(v, list | tuple) and len(v) > 20 else v
        for k, v in params.items()
    }


def do_submit_job(
    session: Session,
    runner: JobRunner,
    *,
    kind: str,
    params: dict[str, Any],
    actor: Actor,
    total: int | None = None,
    message: str | None = None,
    prepare: Callable[[Job, Path], None] | None = None,
) -> Job:
    """Create a ``queued`` job in the caller's transaction and audit it.

    The job belongs to the session's scope (a hospital user's job to its hospital, a
    bureau user's to its region); the runner starts it after the transaction commits.
    ``prepare(job, work_dir)`` may put input files into the job's folder first.
    """
    scope = get_scope(session)
    if scope is None:
        raise Forbidden("没有数据范围，不能提交任务 / no data scope")
    hospital_id, region_code = _owner_scope(session, scope)
    job = Job(
        kind=kind,
        status="queued",
        progress_done=0,
        progress_total=total,
        message=message or "排队中",
        params=params,
        owner_id=actor.user_id,
        hospital_id=hospital_id,
        region_code=region_code,
        runner=runner.id,
        heartbeat_at=utcnow(),
    )
    session.add(job)
    session.flush()
    if prepare is not None:
        work_dir = runner.job_dir(job.id)
        work_dir.mkdir(parents=True, exist_ok=True)
        prepare(job, work_dir)
    record(
        session,
        actor,
        "job.submit",
        "job",
        job.id,
        after={"kind": kind, "label": kind_label(kind), "total": total, "params": _brief(params)},
    )
    runner.enqueue_after_commit(session, job.id)
    return job


#: the permission that lets a user other than its owner see a job of a kind (by the
#: kind's prefix); a kind not listed is its owner's only
JOB_PERMISSIONS: dict[str, Permission] = {
    "grouping.": Permission.GROUP_CASES,
    "measurement.": Permission.MEASURE,
    "dip.": Permission.MEASURE,
    "analysis.": Permission.MEASURE,
    "settlement.": Permission.REVIEW_SETTLEMENT,
    "supervision.": Permission.REVIEW_FINDINGS,
}


def get_job(session: Session, job_id: int, user: Any = None) -> Job:
    """A job in the caller's scope; another hospital's job is simply 'not found'.
    With ``user``, also one the user may see: their own, or one of a kind their role
    works with (a rule administrator does not download a hospital's grouped cases)."""
    job = session.scalar(select(Job).where(Job.id == job_id))
    if job is None:
        raise NotFound(f"任务 {job_id} 不存在 / job not found")
    if user is not None and job.owner_id != user.id:
        needed = next((p for k, p in JOB_PERMISSIONS.items() if job.kind.startswith(k)), None)
        if needed is None or not has_permission(user.role, needed):
            raise NotFound(f"任务 {job_id} 不存在 / job not found")
    return job


def recent_jobs(
    session: Session, *, kinds: tuple[str, ...] = (), owner_id: int | None = None, limit: int = 10
) -> list[Job]:
    stmt = select(Job)
    if kinds:
        stmt = stmt.where(Job.kind.in_(kinds))
    if owner_id is not None:
        stmt = stmt.where(Job.owner_id == owner_id)
    return list(session.scalars(stmt.order_by(Job.id.desc()).limit(limit)))


def jobs_by_id(session: Session, ids: list[int]) -> dict[int, Job]:
    """The jobs with these ids, in the session's scope, by id."""
    if not ids:
        return {}
    return {j.id: j for j in session.scalars(select(Job).where(Job.id.in_(ids)))}
