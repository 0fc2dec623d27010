"""结算确认 (bureau reviewers): a period's lists by state, its confirmation batches and
their job, the lists a confirmation leaves, and the button that starts the
confirmation job through :func:`yibao.settlement.tasks.submit_confirmation` (the
function the API's ``POST /api/settlement/periods/{YYYY-MM}/confirm`` calls)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response

from yibao.accounts.models import User
from yibao.api.deps import Db, PostedForm, request_actor, runner_of
from yibao.api.inline import light_read
from yibao.jobs.service import jobs_by_id
from yibao.kit.errors import DomainError, ValidationFailed
from yibao.kit.timeutil import local, utcnow
from yibao.settlement import tasks, views
from yibao.settlement.auth import region_for
from yibao.settlement.confirm import do_close_period
from yibao.settlement.review import parse_period, state_label
from yibao.web.forms import failure, flash, take_flash, text
from yibao.web.pages.settlement.common import CSRF, REVIEW, STATUS_BADGES
from yibao.web.render import render

router = APIRouter()
PAGE = "/settlement/periods"


def _default_period(db: Db) -> str:
    latest = views.latest_period(db)
    if latest:
        return latest
    return views.month_code(views.months_back(local(utcnow()).date(), 1))


def period_page(
    request: Request,
    db: Db,
    user: User,
    period: str,
    status_code: int = 200,
    **extra: Any,
) -> Response:
    region = region_for(db, user, None)
    ctx: dict[str, Any] = {
        "period": period,
        "region": region,
        "recent": views.period_list(db, region)["items"][:24],
        "detail": None,
        "overview": None,
        "jobs": {},
        "period_error": None,
        "badges": STATUS_BADGES,
        "state_label": state_label,
        "active": False,
        "flash": take_flash(request),
        "error": None,
        "form": {},
    }
    try:
        parse_period(period)
    except ValidationFailed as exc:
        ctx["period_error"] = exc.message
        status_code = 422 if status_code == 200 else status_code
    else:
        detail = views.period_summary(db, region, period)
        ids = [b["job_id"] for b in detail["batches"] if b["job_id"]]
        jobs = jobs_by_id(db, ids)
        ctx["detail"] = detail
        ctx["overview"] = views.period_overview(db, region, period)
        ctx["jobs"] = jobs
        ctx["active"] = any(j.status in ("queued", "running") for j in ctx["jobs"].values())
    ctx.update(extra)
    return render(request, "settlement/periods.html", ctx, status_code=status_code)


@router.get(PAGE)
@light_read
def period_view(request: Request, db: Db, user: User = REVIEW) -> Response:
    period = (request.query_params.get("period") or "").strip() or _default_period(db)
    return period_page(request, db, user, period)


def _chunk_size(raw: str) -> int | None:
    if not raw:
        return None
    try:
        return int(raw)
    except ValueError:
        raise ValidationFailed(
            f"每批处理清单数 chunk_size 须为整数（收到 {raw!r}）", field="chunk_size"
        ) from None


@router.post(PAGE + "/{period}/confirm", dependencies=CSRF)
def start_confirmation(
    period: str, request: Request, form: PostedForm, db: Db, user: User = REVIEW
) -> Response:
    """确认结算: start (or resume) the period's batch and queue its job."""
    try:
        batch, job = tasks.submit_confirmation(
            db,
            runner_of(request),
            region_code=region_for(db, user, None),
            period_code=period,
            actor=request_actor(request, user),
            chunk_size=_chunk_size(text(form, "chunk_size")),
        )
        db.flush()
    except DomainError as exc:
        err = failure(db, exc, action="confirm")
        shown = {"chunk_size": text(form, "chunk_size")}
        return period_page(
            request, db, user, period.strip(), status_code=err["status"], error=err, form=shown
        )
    resumed = "（续跑未完成的批次）" if batch.runs > 0 else ""
    flash(request, f"已提交确认结算任务 #{job.id}：结算期间 {batch.period_code}{resumed}")
    return RedirectResponse(f"{PAGE}?period={batch.period_code}", status_code=303)


@router.post(PAGE + "/{period}/close", dependencies=CSRF)
def close(period: str, request: Request, form: PostedForm, db: Db, user: User = REVIEW) -> Response:
    """关闭结算期间: carry the open lists to the next period or close them out."""
    try:
        done = do_close_period(
            db,
            region_code=region_for(db, user, None),
            period_code=period.strip(),
            how=text(form, "how"),
            reason=text(form, "reason"),
            actor=request_actor(request, user),
        )
        db.flush()
    except DomainError as exc:
        err = failure(db, exc, action="close")
        shown = {"how": text(form, "how"), "reason": text(form, "reason")}
        return period_page(
            request, db, user, period.strip(), status_code=err["status"], error=err, form=shown
        )
    what = (
        f"{done['carried']} 份未结清单结转到 {done['to_period']}"
        if done["how"] == "carry"
        else f"{done['closed_out']} 份未结清单已关闭（不予结算）"
    )
    flash(request, f"结算期间 {done['period']} 已关闭：{what}")
    return RedirectResponse(f"{PAGE}?period={done['period']}", status_code=303)
