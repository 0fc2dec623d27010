"""测算 overview (lists + the new-run form) and the base run page."""

from __future__ import annotations

import re
from typing import Any

import polars as pl
from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, RedirectResponse, Response
from starlette.datastructures import FormData

from yibao.accounts.models import User
from yibao.api.deps import Db, PostedForm, registry_of, request_actor, runner_of
from yibao.api.inline import light_read
from yibao.cases.repository import case_years, complete_years
from yibao.engines import measure as m
from yibao.grouping.plans import default_plan, list_plans, plan_payload
from yibao.grouping.region_plans import region_plan_id, user_region
from yibao.kit.bounds import DbId
from yibao.kit.errors import DomainError, NotFound, ValidationFailed
from yibao.kit.paging import clamp_page
from yibao.kit.timeutil import local, utcnow
from yibao.measurement import service as svc
from yibao.measurement import tasks  # noqa: F401  (registers the job kind)
from yibao.web.forms import page_arg, text, texts
from yibao.web.pages.measurement.common import (
    CSRF,
    MEASURE,
    again,
    as_int,
    base_context,
    charts_json,
    failure,
    prefix_of,
    values_of,
    xlsx,
)
from yibao.web.render import render

router = APIRouter(prefix="/measurement")
TRIM_METHODS = {
    "iqr": "四分位距（IQR）",
    "log_sd": "对数标准差",
    "percentile": "百分位",
    "none": "不裁剪",
}


def run_defaults(years: list[int]) -> dict[str, Any]:
    """The new-run form filled with the engine's default parameters."""
    ex, tr, wp = m.ExclusionRules(), m.TrimParams(), m.WeightParams()
    return {
        "name": "",
        "years": [str(y) for y in complete_years(years)[-3:]],
        "exclusions.los_min_days": str(ex.los_min_days),
        "exclusions.los_max_days": str(ex.los_max_days),
        "exclusions.cost_floor": str(ex.cost_floor),
        "exclusions.exclude_ungroupable": "on",
        "exclusions.exclude_qy": "on",
        **{f"trim.{k}": str(getattr(tr, k)) for k in type(tr).model_fields},
        "weights.year_weights": ":".join(str(w) for w in wp.year_weights),
        "weights.min_cases": str(wp.min_cases),
        "weights.fallback": wp.fallback,
    }


def overview_page(
    request: Request, db: Db, user: User, *, form: dict[str, Any] | None = None, **extra: Any
) -> Response:
    registry = registry_of(request)
    years = case_years(db)
    defaults = run_defaults(years)
    own = region_plan_id(db, user_region(user), local(utcnow()).date())  # ADR 0039
    try:
        defaults["plan"] = own or default_plan(registry).id
    except NotFound:
        defaults["plan"] = ""
    ctx = base_context(
        ov=svc.overview(db, prefix_of(user)),
        plans=[plan_payload(i) for i in list_plans(registry)],
        case_years=sorted(years),
        partial_years=sorted(set(years) - set(complete_years(years))),
        trim_methods=TRIM_METHODS,
        form=form or defaults,
        **extra,
    )
    return render(request, "measurement/index.html", ctx)


@router.get("")
@light_read
def overview(request: Request, db: Db, user: User = MEASURE) -> Response:
    return overview_page(request, db, user)


def run_params(form: FormData) -> tuple[list[int], dict[str, Any]]:
    """Years and the three parameter blocks from the run form, as text: the engine's
    parameter models validate them.  An empty limit turns it off."""
    years = [as_int(y, "years", "历史年度") for y in texts(form, "years")]
    ex: dict[str, Any] = {
        k: (text(form, f"exclusions.{k}") or None)
        for k in ("los_min_days", "los_max_days", "cost_floor")
    }
    ex["exclude_ungroupable"] = bool(form.get("exclusions.exclude_ungroupable"))
    ex["exclude_qy"] = bool(form.get("exclusions.exclude_qy"))
    trim = {k: v for k in m.TrimParams.model_fields if (v := text(form, f"trim.{k}"))}
    weights: dict[str, Any] = {
        k: v for k in ("min_cases", "fallback") if (v := text(form, f"weights.{k}"))
    }
    raw = text(form, "weights.year_weights")
    if raw:
        weights["year_weights"] = [w for w in re.split(r"[:：,，;；\s]+", raw) if w]
    return years, {"exclusions": ex, "trim": trim, "weights": weights}


@router.post("/runs", dependencies=CSRF)
def start_run(request: Request, form: PostedForm, db: Db, user: User = MEASURE) -> Response:
    """Start a base run from the form, then follow it on the job page."""
    try:
        years, params = run_params(form)
        _run, job = svc.start_run(
            db,
            runner_of(request),
            registry_of(request),
            region_code=user.region_code or "",
            name=text(form, "name"),
            plan_id=text(form, "plan"),
            years=years,
            params=params,
            actor=request_actor(request, user),
        )
    except DomainError as exc:
        err = failure(db, exc)
        shown = {**values_of(form), "years": texts(form, "years")}

        def page(**kw: Any) -> Response:
            return overview_page(request, db, user, form=shown, **kw)

        return again(page, err, "run")
    return RedirectResponse(f"/jobs/{job.id}", status_code=303)


# ------------------------------------------------------------------ run page


def weights_view(request: Request, frame: pl.DataFrame, names: dict[str, str]) -> dict[str, Any]:
    """The run's weights filtered (MDC, source, flagged, DRG code / name) and paged."""
    qp = request.query_params
    flt: dict[str, Any] = {
        "mdc": qp.get("mdc") or "",
        "source": qp.get("source") or "",
        "flagged": qp.get("flagged") == "1",
        "q": (qp.get("q") or "").strip(),
    }
    shown = frame
    if flt["mdc"]:
        shown = shown.filter(pl.col("mdc") == flt["mdc"])
    if flt["source"]:
        shown = shown.filter(pl.col("rw_source") == flt["source"])
    if flt["flagged"]:
        shown = shown.filter(pl.col("needs_review"))
    if flt["q"]:
        q = str(flt["q"])
        named = [d for d, n in names.items() if q in n]
        shown = shown.filter(
            pl.col("drg").str.contains(q.upper(), literal=True) | pl.col("drg").is_in(named)
        )
    page, size = clamp_page(page_arg(request), None, default_size=50)
    export = "format=xlsx"
    if flt["mdc"]:
        export += f"&mdc={flt['mdc']}"
    if flt["flagged"]:
        export += "&flagged=true"
    return {"weights": svc.page_rows(shown, page, size), "wflt": flt, "weights_export": export}


def run_page_view(request: Request, db: Db, user: User, run_id: int, **extra: Any) -> Response:
    run = svc.get_run(db, run_id, prefix_of(user))
    ctx = base_context(run=run, state=svc.run_with_state(db, run))
    ctx["form"] = {"budget_neutral": "on", "code": request.query_params.get("code", "")}
    if run.status == "succeeded":
        frame = svc.run_weights_frame(db, run.id)
        names = svc.drg_names(registry_of(request), run.plan_id)
        top = frame.sort(["cases", "drg"], descending=[True, False])
        summary = run.summary or {}
        ctx.update(
            summary=summary,
            quality=summary.get("quality") or {},
            trim_years=svc.trim_by_year(db, run.id),
            mdcs=sorted(frame["mdc"].unique().to_list()),
            sources=sorted(frame["rw_source"].unique().to_list()),
            drg_options=list(frame.sort("drg").select("drg", "cases").iter_rows()),
            default_drg=top["drg"][0] if top.height else "",
            drg_names=names,
            run_plans=[p for p in svc.list_weight_plans(db, prefix_of(user)) if p.run_id == run.id],
            charts=charts_json({"run_id": run.id, "rw_mdc": svc.rw_by_mdc(frame)}),
            **weights_view(request, frame, names),
        )
    ctx.update(extra)
    return render(request, "measurement/run.html", ctx)


@router.get("/runs/{run_id}")
def run_page(run_id: DbId, request: Request, db: Db, user: User = MEASURE) -> Response:
    return run_page_view(request, db, user, run_id)


@router.get("/runs/{run_id}/distribution")
def run_distribution(run_id: DbId, drg: str, db: Db, user: User = MEASURE) -> JSONResponse:
    """A DRG's case costs per year with its trim fences (the run page's chart)."""
    run = svc.get_run(db, run_id, prefix_of(user))
    return JSONResponse(svc.drg_distribution(db, run, drg.strip().upper()))


@router.get("/runs/{run_id}/exclusions/export")
def run_exclusions_export(run_id: DbId, db: Db, user: User = MEASURE) -> Response:
    run = svc.get_run(db, run_id, prefix_of(user))
    rows = (run.summary or {}).get("exclusions") or []
    return xlsx(rows or pl.DataFrame({"reason": []}), f"run{run.id}_exclusions")


def tilt_of(form: FormData) -> dict[str, Any]:
    """Budget neutrality and the tilt (factor × chosen MDCs) of the weight plan form."""
    factor = text(form, "tilt_factor")
    mdcs = texts(form, "tilt_mdcs")
    out: dict[str, Any] = {"budget_neutral": bool(form.get("budget_neutral"))}
    if mdcs and not factor:
        raise ValidationFailed("倾斜系数：选择了倾斜的 MDC，须填写倾斜系数", field="tilt_factor")
    if factor:
        out["tilts"] = [{"factor": factor, "mdcs": mdcs, "reason": text(form, "tilt_reason")}]
    return out


@router.post("/runs/{run_id}/weight-plans", dependencies=CSRF)
def create_weight_plan(
    run_id: DbId, request: Request, form: PostedForm, db: Db, user: User = MEASURE
) -> Response:
    run = svc.get_run(db, run_id, prefix_of(user))
    try:
        plan = svc.do_create_weight_plan(
            db,
            run=run,
            code=text(form, "code"),
            name=text(form, "name"),
            adjustments=tilt_of(form),
            actor=request_actor(request, user),
        )
    except DomainError as exc:
        err = failure(db, exc)
        shown = {**values_of(form), "tilt_mdcs": texts(form, "tilt_mdcs")}

        def page(**kw: Any) -> Response:
            return run_page_view(request, db, user, run_id, **kw)

        return again(page, err, "plan", form=shown)
    return RedirectResponse(f"/measurement/weight-plans/{plan.id}", status_code=303)
