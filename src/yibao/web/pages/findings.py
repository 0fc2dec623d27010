"""智能审核疑点 (ADR 0024).

* A bureau reviewer (or rule administrator) starts a post-audit of a month or range,
  filters the findings, publishes a selection in bulk, finalises overdue ones, and on
  a finding's page records the 初审 and 复审 decisions (or drops a 待公示 finding).
* A hospital user sees its published findings, accepts one or appeals with a reason
  and attachments (after a 初审 维持, the same form asks for the one 复审).

Every action calls the service the JSON API calls (:mod:`yibao.supervision.findings`);
a refusal is shown on the page in the service's words and nothing is stored.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import RedirectResponse, Response
from starlette.datastructures import UploadFile

from yibao.accounts.models import User
from yibao.api.deps import CurrentUser, Db, PostedForm, request_actor, runner_of
from yibao.jobs.service import recent_jobs
from yibao.kit.bounds import DbId
from yibao.kit.errors import DomainError
from yibao.kit.paging import clamp_page
from yibao.supervision.findings import repository, run, service, views
from yibao.supervision.findings import tasks as _tasks  # noqa: F401  (registers the job kind)
from yibao.supervision.findings.auth import viewer
from yibao.supervision.findings.repository import SEVERITIES, SOURCES, FindingFilter
from yibao.supervision.findings.rules import FindingRules
from yibao.supervision.findings.states import ACTION_LABELS, STATE_LABELS, Side
from yibao.supervision.realtime import views as realtime_views
from yibao.web.forms import failure, flash, int_param, page_arg, take_flash, text, texts
from yibao.web.pages.settlement.common import CSRF
from yibao.web.render import render

router = APIRouter()


async def _viewer(user: CurrentUser) -> User:
    return viewer(user)


VIEW = Depends(_viewer)
PAGE = "/supervision/findings"
FILTERS = ("hospital", "rule", "state", "period", "severity", "source", "deducted_period")
BADGES = {
    "new": "secondary",
    "published": "info",
    "answered": "warning",
    "first_upheld": "warning",
    "second_review": "warning",
    "upheld": "danger",
    "dismissed": "success",
    "deducted": "danger",
    "covered": "dark",
}


def _filter(request: Request, user: User) -> tuple[FindingFilter, dict[str, str]]:
    raw = {k: (request.query_params.get(k) or "").strip() for k in FILTERS}
    flt = FindingFilter(
        hospital=raw["hospital"] or None,
        rule=raw["rule"] or None,
        state=raw["state"] or None,
        period=raw["period"] or None,
        severity=int_param(raw["severity"], "severity"),
        source=raw["source"] or None,
        deducted_period=raw["deducted_period"] or None,
        published_only=service.side_of(user) == Side.HOSPITAL,
    )
    return flt, raw


def list_page(
    request: Request, db: Db, user: User, status_code: int = 200, **extra: Any
) -> Response:
    side = service.side_of(user)
    ctx: dict[str, Any] = {
        "is_bureau": side == Side.BUREAU,
        "states": STATE_LABELS,
        "severities": SEVERITIES,
        "sources": SOURCES,
        "badges": BADGES,
        "flash": take_flash(request),
        "error": None,
        "rules": FindingRules(),
    }
    try:
        flt, raw = _filter(request, user)
        page, size = clamp_page(page_arg(request), 50)
        result = repository.list_findings(db, flt, page, size)
        ctx |= {
            "result": result,
            "rows": [views.finding_row(f) for f in result.items],
            "totals": repository.totals(db, flt),
            "filters": raw,
            "rule_ids": repository.rule_ids(db, published_only=flt.published_only),
        }
    except DomainError as exc:
        status_code = exc.http_status
        ctx |= {
            "result": None,
            "rows": [],
            "totals": {},
            "filters": {},
            "rule_ids": [],
            "error": {"message": exc.message, "field": exc.field},
        }
    if side == Side.BUREAU:
        ctx["jobs"] = recent_jobs(db, kinds=(run.POST_AUDIT_KIND,), limit=5)
    ctx.update(extra)
    return render(request, "findings/list.html", ctx, status_code=status_code)


@router.get(PAGE)
def findings_view(request: Request, db: Db, user: User = VIEW) -> Response:
    return list_page(request, db, user)


def _back(request: Request, form: Any) -> str:
    query = text(form, "back")
    return f"{PAGE}?{query}" if query and "\n" not in query and "//" not in query else PAGE


@router.post(PAGE + "/runs", dependencies=CSRF)
def start_run(request: Request, form: PostedForm, db: Db, user: User = VIEW) -> Response:
    try:
        job = run.do_start_post_audit(
            db,
            runner_of(request),
            period_from=text(form, "period_from"),
            period_to=text(form, "period_to") or None,
            user=user,
            actor=request_actor(request, user),
        )
        db.flush()
    except DomainError as exc:
        return list_page(request, db, user, exc.http_status, error=failure(db, exc))
    flash(request, f"事后审核任务 {job.id} 已提交（{'、'.join(job.params['months'])}）")
    return RedirectResponse(f"/jobs/{job.id}", status_code=303)


@router.post(PAGE + "/publish", dependencies=CSRF)
def publish(request: Request, form: PostedForm, db: Db, user: User = VIEW) -> Response:
    try:
        ids = [int_param(v, "ids") or 0 for v in texts(form, "ids")]
        rows = service.do_publish(
            db,
            ids,
            reason=text(form, "reason") or None,
            user=user,
            actor=request_actor(request, user),
        )
        db.flush()
    except DomainError as exc:
        return list_page(request, db, user, exc.http_status, error=failure(db, exc))
    deadline = rows[0].deadline if rows else None
    flash(request, f"已公示 {len(rows)} 条疑点，答复期限 {deadline}")
    return RedirectResponse(_back(request, form), status_code=303)


@router.post(PAGE + "/expire", dependencies=CSRF)
def expire(request: Request, form: PostedForm, db: Db, user: User = VIEW) -> Response:
    try:
        service.require_side(user, Side.BUREAU, "处理逾期疑点")
        count = service.do_expire_overdue(db, actor=request_actor(request, user))
        db.flush()
    except DomainError as exc:
        return list_page(request, db, user, exc.http_status, error=failure(db, exc))
    flash(request, f"逾期未答复、按规则维持的疑点 {count} 条")
    return RedirectResponse(_back(request, form), status_code=303)


def detail_page(
    request: Request, db: Db, user: User, finding_id: int, status_code: int = 200, **extra: Any
) -> Response:
    hospital = service.side_of(user) == Side.HOSPITAL
    row = repository.get_finding(db, finding_id, published_only=hospital)
    ctx: dict[str, Any] = {
        "f": views.finding_detail(db, row, user),
        # what the doctors were told in real time about this visit, and chose (3101–3103)
        "warned": (
            realtime_views.warnings_of_visit(db, row.hospital_id, row.mdtrt_id)
            if row.mdtrt_id
            else []
        ),
        "is_bureau": not hospital,
        "states": STATE_LABELS,
        "actions": ACTION_LABELS,
        "badges": BADGES,
        "severities": SEVERITIES,
        "rules": FindingRules(),
        "flash": take_flash(request),
        "error": None,
        "form": {},
    }
    ctx.update(extra)
    return render(request, "findings/detail.html", ctx, status_code=status_code)


@router.get(PAGE + "/{finding_id}")
def finding_view(finding_id: DbId, request: Request, db: Db, user: User = VIEW) -> Response:
    return detail_page(request, db, user, finding_id)


def _files(form: Any, rules: FindingRules) -> list[tuple[str, bytes]]:
    out = []
    for f in form.getlist("files"):
        if isinstance(f, UploadFile) and f.filename:
            f.file.seek(0)
            out.append((f.filename, f.file.read(rules.max_attachment_bytes + 1)))
    return out


# long: one form handler per workflow step, all the same shape
@router.post(PAGE + "/{finding_id}/{step}", dependencies=CSRF)
def step(
    finding_id: DbId, step: str, request: Request, form: PostedForm, db: Db, user: User = VIEW
) -> Response:
    """One workflow step from the finding's page: accept, appeal, drop, first, second."""
    actor = request_actor(request, user)
    reason = text(form, "reason") or None
    uphold = text(form, "decision") != "dismiss"
    try:
        if step == "accept":
            row = service.do_accept(db, finding_id, reason=reason, user=user, actor=actor)
        elif step == "appeal":
            rules = FindingRules()
            row = service.do_appeal(
                db,
                finding_id,
                reason=reason,
                files=_files(form, rules),
                user=user,
                actor=actor,
                rules=rules,
            )
        elif step == "drop":
            row = service.do_drop(db, finding_id, reason=reason, user=user, actor=actor)
        elif step == "first-decision":
            row = service.do_first_decision(
                db,
                finding_id,
                uphold=uphold,
                amount=text(form, "amount") or None,
                reason=reason,
                user=user,
                actor=actor,
            )
        elif step == "second-decision":
            row = service.do_second_decision(
                db,
                finding_id,
                uphold=uphold,
                amount=text(form, "amount") or None,
                reason=reason,
                user=user,
                actor=actor,
            )
        else:
            return Response("未知的操作 / unknown step", status_code=404)
        db.flush()
    except DomainError as exc:
        err = failure(db, exc, step=step)
        shown = {k: text(form, k) for k in ("reason", "amount", "decision")}
        return detail_page(
            request, db, user, finding_id, err["status"], error=err, form={**shown, "step": step}
        )
    done = f"，扣款计入 {row.deducted_period} 结算单" if row.deducted_period else ""
    flash(request, f"疑点 {row.id}：{row.state_label}{done}")
    return RedirectResponse(f"{PAGE}/{finding_id}", status_code=303)
