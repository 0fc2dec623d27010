"""分组 / 预分组: one case with its trace, case files, regrouping stored cases."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, File, Form, Request, UploadFile
from fastapi.responses import RedirectResponse, Response

from yibao.accounts.models import User
from yibao.accounts.roles import Permission, has_permission
from yibao.api.deps import (
    Db,
    PostedForm,
    check_csrf,
    grouped_file,
    registry_of,
    request_actor,
    require,
    runner_of,
)
from yibao.cases import repository as cases_repo
from yibao.cases.models import Case
from yibao.grouping.files import BATCH_KIND, do_group_upload
from yibao.grouping.plans import (
    PLAN_REASONS,
    STATUS_LABELS,
    default_plan,
    list_plans,
    plan_info,
    plan_payload,
)
from yibao.grouping.region_plans import (
    do_set_region_plan,
    list_region_plans,
    own_region,
    user_region,
)
from yibao.grouping.schemas import FIELDS, CaseInputError, parse_case_input
from yibao.grouping.service import (
    REGROUP_KIND,
    SingleResult,
    case_input_of,
    group_case_input,
    stored_groupings,
)
from yibao.jobs.runner import kind_label
from yibao.jobs.service import do_submit_job, recent_jobs
from yibao.kit.errors import DomainError, Forbidden, NotFound, ValidationFailed
from yibao.regions.repository import hospital_choices
from yibao.web.forms import date_param, failure, int_param, text
from yibao.web.pages.cases import DISCHARGE_WAYS, _year
from yibao.web.render import render

router = APIRouter()
GROUP = require(Permission.GROUP_CASES)
FORM_FIELDS = tuple(f for f in FIELDS if f != "case_id")
SEXES = {"1": "男", "2": "女"}


def _context(request: Request, db: Db, user: User, **extra: Any) -> dict[str, Any]:
    registry = registry_of(request)
    try:
        default = default_plan(registry)
    except NotFound:
        default = None
    is_bureau = user.hospital_id is None
    ctx: dict[str, Any] = {
        "plans": [plan_payload(i) for i in list_plans(registry)],
        "default_plan": default,
        "form": {},
        "errors": [],
        "result": None,
        "loaded_case": None,
        "stored": [],
        "lookup_error": None,
        "batch_error": None,
        "regroup_error": None,
        "sexes": SEXES,
        "discharge_types": DISCHARGE_WAYS,
        "status_labels": STATUS_LABELS,
        "reasons": PLAN_REASONS,
        "is_bureau": is_bureau,
        "hospitals": hospital_choices(db, cache_s=request.app.state.settings.figures_cache_s)
        if is_bureau
        else [],
        "years": cases_repo.case_years(db),
        "jobs": recent_jobs(db, kinds=(BATCH_KIND, REGROUP_KIND), owner_id=user.id, limit=8),
        "kind_label": kind_label,
        "sync_max_rows": request.app.state.settings.grouping_sync_max_rows,
    }
    ctx.update(extra)
    return ctx


def _load_case(request: Request, db: Db, case: Case, plan: str | None) -> dict[str, Any]:
    case_input = case_input_of(case, plan)
    out: dict[str, Any] = {
        "form": case_input.form_values(),
        "loaded_case": case,
        "stored": stored_groupings(db, case.id),
    }
    try:
        out["result"] = group_case_input(
            registry_of(request), case_input, session=db, region_code=case.region_code
        )
    except DomainError as exc:
        out["errors"] = [{"field": exc.field or "plan", "message": exc.message}]
    return out


@router.get("/grouping")
def grouping_page(request: Request, db: Db, user: User = GROUP) -> Response:
    """The form; ``?case_id=`` / ``?setl_id=`` prefill it from a stored case (in scope)."""
    qp = request.query_params
    plan = (qp.get("plan") or "").strip() or None
    case_id = int_param(qp.get("case_id"), "case_id")
    setl_id = (qp.get("setl_id") or "").strip()
    if case_id is not None:
        case = cases_repo.get_case(db, case_id)  # another hospital's case: 404
        return render(
            request,
            "grouping/page.html",
            _context(request, db, user, **_load_case(request, db, case, plan)),
        )
    if setl_id:
        try:
            case = cases_repo.get_case_by_setl_id(
                db, setl_id, (qp.get("hospital") or "").strip() or None
            )
        except (NotFound, ValidationFailed) as exc:
            ctx = _context(request, db, user, lookup_error=exc.message, setl_id=setl_id)
            return render(request, "grouping/page.html", ctx, status_code=exc.http_status)
        ctx = _context(request, db, user, setl_id=setl_id, **_load_case(request, db, case, plan))
        return render(request, "grouping/page.html", ctx)
    return render(request, "grouping/page.html", _context(request, db, user))


@router.post("/grouping/group", dependencies=[Depends(check_csrf)])
def grouping_submit(request: Request, form: PostedForm, db: Db, user: User = GROUP) -> Response:
    """Group the form's case; HTMX gets the result fragment, a plain post the whole page."""
    data = {k: v for k in FORM_FIELDS if isinstance(v := form.get(k), str)}
    result: SingleResult | None = None
    errors: list[dict[str, str]] = []
    try:
        result = group_case_input(
            registry_of(request), parse_case_input(data), session=db, region_code=user_region(user)
        )
    except CaseInputError as exc:
        errors = exc.details
    except DomainError as exc:
        errors = [{"field": exc.field or "plan", "message": exc.message}]
    extra = {"form": data, "result": result, "errors": errors}
    if request.headers.get("hx-request"):
        ctx = {"status_labels": STATUS_LABELS, "reasons": PLAN_REASONS, **extra}
        return render(request, "grouping/_result.html", ctx)
    ctx = _context(request, db, user, **extra)
    return render(request, "grouping/page.html", ctx, status_code=422 if errors else 200)


@router.post("/grouping/batch", dependencies=[Depends(check_csrf)])
def grouping_batch(
    request: Request,
    db: Db,
    user: User = GROUP,
    file: UploadFile | None = File(None),
    plan: str = Form(""),
    format: str = Form("csv"),
) -> Response:
    """Upload a case file: small ones download at once, large ones go to the job page."""
    try:
        if file is None or not file.filename:
            raise DomainError("请选择要上传的病例文件", field="file", http_status=422)
        outcome = do_group_upload(
            db,
            runner_of(request),
            request.app.state.settings,
            registry_of(request),
            filename=file.filename,
            stream=file.file,
            plan_id=plan.strip() or None,
            fmt=format,
            actor=request_actor(request, user),
        )
    except DomainError as exc:
        ctx = _context(request, db, user, batch_error=exc.message)
        return render(request, "grouping/page.html", ctx, status_code=exc.http_status)
    if outcome.job is not None:
        return RedirectResponse(f"/jobs/{outcome.job.id}", status_code=303)
    return grouped_file(outcome)


@router.post("/grouping/regroup", dependencies=[Depends(check_csrf)])
def grouping_regroup(
    request: Request,
    db: Db,
    user: User = GROUP,
    plan: str = Form(""),
    year: str = Form(""),
    hospital: str = Form(""),
) -> Response:
    """Regroup the stored cases in scope (one year / hospital) as a job."""
    try:
        plan_id = plan.strip() or None
        if plan_id:
            plan_info(registry_of(request), plan_id)
        job = do_submit_job(
            db,
            runner_of(request),
            kind=REGROUP_KIND,
            params={
                "plan_id": plan_id,
                "year": _year(year),
                "hospital": hospital.strip() or None,
                "case_ids": None,
            },
            actor=request_actor(request, user),
            message="排队中：重新分组已存结算清单",
        )
    except DomainError as exc:
        ctx = _context(request, db, user, regroup_error=exc.message)
        return render(request, "grouping/page.html", ctx, status_code=exc.http_status)
    return RedirectResponse(f"/jobs/{job.id}", status_code=303)


def _region_plans_page(
    request: Request, db: Db, user: User, error: dict[str, Any] | None = None
) -> Response:
    ctx = {
        "rows": list_region_plans(db, user_region(user)),
        # the national plans first (the usual choice), then the regional ones
        "plans": [
            plan_payload(i)
            for i in sorted(
                list_plans(registry_of(request)), key=lambda i: i.meta.region is not None
            )
        ],
        "can_set": has_permission(user.role, Permission.MANAGE_POLICIES),
        "region": user_region(user),
        "error": error,
    }
    return render(
        request, "grouping/region_plans.html", ctx, status_code=error["status"] if error else 200
    )


@router.get("/grouping/region-plans")
def region_plans_page(request: Request, db: Db, user: User = GROUP) -> Response:
    """本地区付费方案：which plan the region pays by, from when (and, for a bureau
    administrator, the form to set the next one)."""
    return _region_plans_page(request, db, user)


@router.post("/grouping/region-plans", dependencies=[Depends(check_csrf)])
def region_plans_submit(request: Request, form: PostedForm, db: Db, user: User = GROUP) -> Response:
    try:
        if not has_permission(user.role, Permission.MANAGE_POLICIES):
            raise Forbidden("只有医保局管理员可以设定付费方案")
        do_set_region_plan(
            db,
            registry_of(request),
            region_code=own_region(user, text(form, "region_code") or None),
            plan_id=text(form, "plan_id"),
            valid_from=_day(text(form, "valid_from"), "valid_from", "起始日期", required=True),
            valid_to=_day(text(form, "valid_to"), "valid_to", "结束日期"),
            reason=text(form, "reason"),
            actor=request_actor(request, user),
        )
    except DomainError as exc:
        return _region_plans_page(request, db, user, failure(db, exc))
    return RedirectResponse("/grouping/region-plans", status_code=303)


def _day(raw: str, field: str, label: str, *, required: bool = False) -> Any:
    day = date_param(raw, field, label)
    if day is None and required:
        raise ValidationFailed(f"{field}：请填写{label}", field=field)
    return day
