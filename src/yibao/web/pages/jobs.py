"""任务 (jobs): progress page with HTMX polling until done, then the download link."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import Response

from yibao.api.deps import CurrentUser, Db, runner_of
from yibao.grouping.plans import STATUS_LABELS
from yibao.jobs.schemas import job_view
from yibao.jobs.service import get_job
from yibao.kit.bounds import DbId
from yibao.web.render import render

router = APIRouter()


def _ctx(request: Request, db: Db, job_id: int, user: object) -> dict[str, object]:
    job = get_job(db, job_id, user)  # another hospital's job, or not the user's kind: 404
    return {"job": job, "view": job_view(job, runner_of(request)), "status_labels": STATUS_LABELS}


@router.get("/jobs/{job_id}")
def job_page(job_id: DbId, request: Request, db: Db, user: CurrentUser) -> Response:
    return render(request, "jobs/detail.html", _ctx(request, db, job_id, user))


@router.get("/jobs/{job_id}/progress")
def job_progress(job_id: DbId, request: Request, db: Db, user: CurrentUser) -> Response:
    return render(request, "jobs/_progress.html", _ctx(request, db, job_id, user))
