"""Simulation results, scenario comparison and hospital indices (CMI etc.)."""

from __future__ import annotations

from typing import Any

import polars as pl
from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response

from yibao.accounts.models import User
from yibao.api.deps import Db, PostedForm, registry_of, request_actor, runner_of
from yibao.cases.repository import case_years, complete_years
from yibao.engines import measure as m
from yibao.jobs.service import get_job
from yibao.kit.bounds import DbId
from yibao.kit.errors import DomainError, NotFound, ValidationFailed
from yibao.kit.paging import clamp_page
from yibao.measurement import service as svc
from yibao.measurement.models import Simulation
from yibao.measurement.service.background import indices_of, submit_indices
from yibao.web.forms import page_arg, text
from yibao.web.pages.measurement.common import (
    CSRF,
    MEASURE,
    as_int,
    base_context,
    charts_json,
    failure,
    prefix_of,
    rules_text,
    xlsx,
)
from yibao.web.render import render

router = APIRouter(prefix="/measurement")
PARTS = {
    "hospitals": "by_hospital",
    "drgs": "by_drg",
    "levels": "by_level",
    "classes": "by_class",
    "distribution": "distribution",
}
HOSPITAL_SORTS = {
    "balance": "盈亏（亏损在前）",
    "cases": "病例数",
    "code": "医院编码",
    "ratio": "支付/费用",
}
DRG_SORTS = {"cases": "病例数", "loss": "亏损最多", "gain": "盈余最多", "cost": "医疗总费用"}


def _frame(rows: list[dict[str, Any]]) -> pl.DataFrame:
    frame = pl.DataFrame(rows, infer_schema_length=None)
    money = [
        c
        for c in ("total_cost", "drg_payment", "balance", "fund_estimate", "fund_actual")
        if c in frame.columns
    ]
    return frame.with_columns(pl.col(c).cast(pl.Float64) for c in money)


def hospital_rows(db: Db, sim: Simulation) -> pl.DataFrame:
    rows = sim.results.get("by_hospital") or []
    if not rows:
        return pl.DataFrame()
    names = svc.hospital_names(db)
    frame = _frame(rows)
    return frame.with_columns(
        pl.col("hospital_code")
        .replace_strict({c: n for c, (n, _lv) in names.items()}, default=pl.col("hospital_code"))
        .alias("hospital_name")
    ).select("hospital_code", "hospital_name", pl.exclude("hospital_code", "hospital_name"))


def drg_rows(sim: Simulation, names: dict[str, str]) -> pl.DataFrame:
    rows = sim.results.get("by_drg") or []
    if not rows:
        return pl.DataFrame()
    frame = _frame(rows)
    return frame.with_columns(
        pl.col("drg").replace_strict(names, default="").alias("drg_name")
    ).select("drg", "drg_name", pl.exclude("drg", "drg_name"))


def _sorted_hospitals(frame: pl.DataFrame, key: str) -> pl.DataFrame:
    if frame.height == 0:
        return frame
    if key == "cases":
        return frame.sort(["cases", "hospital_code"], descending=[True, False])
    if key == "code":
        return frame.sort("hospital_code")
    if key == "ratio":
        return frame.sort(["payment_ratio", "hospital_code"], nulls_last=True)
    return frame.sort(["balance", "hospital_code"])


def _sorted_drgs(frame: pl.DataFrame, key: str, q: str) -> pl.DataFrame:
    if frame.height == 0:
        return frame
    if q:
        frame = frame.filter(
            pl.col("drg").str.contains(q.upper(), literal=True)
            | pl.col("drg_name").str.contains(q, literal=True)
        )
    order = {
        "loss": ("balance", False),
        "gain": ("balance", True),
        "cost": ("total_cost", True),
    }.get(key, ("cases", True))
    return frame.sort([order[0], "drg"], descending=[order[1], False])


def sim_names(request: Request, db: Db, sim: Simulation, prefix: str) -> dict[str, str]:
    plan = svc.get_weight_plan(db, sim.weight_plan_id, prefix)
    run = svc.get_run(db, plan.run_id, prefix)
    return svc.drg_names(registry_of(request), run.plan_id)


@router.post("/simulations/{sim_id}/apply-rates", dependencies=CSRF)
def apply_rates(
    sim_id: DbId, request: Request, form: PostedForm, db: Db, user: User = MEASURE
) -> Response:
    """应用求解的费率 to the simulation's rate plan (draft)."""
    prefix = prefix_of(user)
    sim = svc.get_simulation(db, sim_id, prefix)
    row = svc.get_rate_plan(db, sim.rate_plan_id, prefix)
    try:
        svc.do_apply_simulation_rates(db, sim, row, actor=request_actor(request, user))
    except DomainError as exc:
        err = failure(db, exc)
        return simulation_page(
            sim_id, request, db, user, apply_error=err, status_code=err["status"]
        )
    return RedirectResponse(f"/measurement/simulations/{sim_id}", status_code=303)


@router.get("/simulations/{sim_id}")
def simulation_page(
    sim_id: DbId,
    request: Request,
    db: Db,
    user: User = MEASURE,
    apply_error: dict[str, Any] | None = None,
    status_code: int = 200,
) -> Response:
    prefix = prefix_of(user)
    sim = svc.get_simulation(db, sim_id, prefix)
    plan = svc.get_weight_plan(db, sim.weight_plan_id, prefix)
    rate_row = svc.get_rate_plan(db, sim.rate_plan_id, prefix)
    qp = request.query_params
    hsort = qp.get("hsort") or ""
    hsort = hsort if hsort in HOSPITAL_SORTS else "balance"
    dsort = qp.get("dsort") or ""
    dsort = dsort if dsort in DRG_SORTS else "cases"
    dq = (qp.get("dq") or "").strip()
    hospitals = _sorted_hospitals(hospital_rows(db, sim), hsort)
    drgs = _sorted_drgs(drg_rows(sim, sim_names(request, db, sim, prefix)), dsort, dq)
    page, size = clamp_page(page_arg(request, "dpage"), None, default_size=20)
    res = sim.results
    charts = {
        "hospitals": hospitals.sort("hospital_code")
        .select("hospital_name", "hospital_level", "total_cost", "drg_payment", "balance")
        .to_dicts()
        if hospitals.height
        else [],
        "levels": res.get("by_level") or [],
        "distribution": res.get("distribution") or [],
        "classes": res.get("by_class") or [],
    }
    ctx = base_context(
        sim=sim,
        plan=plan,
        rate_row=rate_row,
        totals=res.get("totals") or {},
        by_class=res.get("by_class") or [],
        by_level=res.get("by_level") or [],
        distribution=res.get("distribution") or [],
        hospitals=hospitals.to_dicts(),
        drgs=svc.page_rows(drgs, page, size),
        hsort=hsort,
        dsort=dsort,
        dq=dq,
        hospital_sorts=HOSPITAL_SORTS,
        drg_sorts=DRG_SORTS,
        rates=m.RatePlan.model_validate(sim.rates),
        others=[s for s in svc.list_simulations(db, prefix) if s.id != sim.id],
        charts=charts_json(charts),
        applied=rate_row.plan == sim.rates and "solved" in res,
        apply_error=apply_error,
        rules_summary=rules_text(sim.params),
    )
    return render(request, "measurement/simulation.html", ctx, status_code=status_code)


@router.get("/simulations/{sim_id}/export/{part}")
def simulation_export(
    sim_id: DbId, part: str, request: Request, db: Db, user: User = MEASURE
) -> Response:
    prefix = prefix_of(user)
    sim = svc.get_simulation(db, sim_id, prefix)
    if part not in PARTS:
        raise NotFound(f"没有表格 {part}（可选：{'、'.join(PARTS)}）")
    if part == "hospitals":
        frame = hospital_rows(db, sim)
    elif part == "drgs":
        frame = drg_rows(sim, sim_names(request, db, sim, prefix))
    else:
        frame = _frame(sim.results.get(PARTS[part]) or [])
    return xlsx(frame, f"simulation{sim.id}_{part}")


# ------------------------------------------------------------------ comparison


def _ids(request: Request) -> list[int]:
    raw = ",".join(v for v in request.query_params.getlist("ids") if v)
    try:
        return [int(x) for x in raw.replace("，", ",").split(",") if x.strip()]
    except ValueError:
        raise ValidationFailed(
            f"模拟编号（ids）：应为逗号分隔的整数（收到 {raw!r}）", field="ids"
        ) from None


def compare_rows(sims: list[Simulation]) -> list[dict[str, Any]]:
    """One row per scenario: totals, rates per level and the parameters."""
    out = []
    for s in sims:
        t = s.results.get("totals") or {}
        rates = s.rates.get("level_rates") or {}
        out.append(
            {
                "id": s.id,
                "scenario": s.name,
                "year": s.year,
                **{f"rate_{lv}": rates.get(lv) for lv in m.LEVELS},
                **{
                    k: t.get(k)
                    for k in (
                        "cases",
                        "total_cost",
                        "drg_payment",
                        "balance",
                        "budget",
                        "budget_gap",
                        "payment_ratio",
                        "fund_estimate",
                    )
                },
                **{c: t.get(c, 0) for c in m.CLASSES},
                "solved": bool(s.results.get("solved")),
            }
        )
    return out


def compare_levels(sims: list[Simulation]) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = []
    for s in sims:
        levels = sorted(s.results.get("by_level") or [], key=lambda r: r["hospital_level"])
        rows.extend({"scenario": s.name, "id": s.id, **r} for r in reversed(levels))
    return rows


@router.get("/compare")
def compare_page(request: Request, db: Db, user: User = MEASURE) -> Response:
    prefix = prefix_of(user)
    errors: dict[str, Any] = {}
    sims: list[Simulation] = []
    try:
        ids = _ids(request)
        sims = [svc.get_simulation(db, i, prefix) for i in ids]
    except DomainError as exc:
        errors["compare"] = failure(db, exc)
    rows = compare_rows(sims)
    ctx = base_context(
        sims=sims,
        rows=rows,
        levels=compare_levels(sims),
        ids=",".join(str(s.id) for s in sims),
        all_sims=svc.list_simulations(db, prefix),
        errors=errors,
        charts=charts_json({"compare": rows, "compare_levels": compare_levels(sims)}),
    )
    status = errors["compare"]["status"] if errors else 200
    return render(request, "measurement/compare.html", ctx, status_code=status)


@router.get("/compare/export")
def compare_export(request: Request, db: Db, user: User = MEASURE) -> Response:
    prefix = prefix_of(user)
    sims = [svc.get_simulation(db, i, prefix) for i in _ids(request)]
    return xlsx(_frame(compare_rows(sims)), "compare")


# ------------------------------------------------------------------ indices


def _indices_context(db: Db, user: User, qp: Any) -> dict[str, Any]:
    """The form's choices (weight plans, years, the default plan and year)."""
    plans = svc.list_weight_plans(db, prefix_of(user))
    years = sorted(case_years(db))
    done = complete_years(years) or years
    default = next((p for p in plans if p.status == "published"), plans[0] if plans else None)
    by = "department" if qp.get("by") == "department" else "hospital"
    return base_context(
        plans=plans,
        case_years=years,
        by=by,
        plan=default,
        year=done[-1] if done else None,
        rows=None,
        job=None,
    )


@router.get("/indices")
def indices_page(request: Request, db: Db, user: User = MEASURE) -> Response:
    """CMI, cost / time consumption index and low-risk mortality per hospital: the form,
    and with ``?job=`` the result of that computation (waiting while it runs)."""
    ctx = _indices_context(db, user, request.query_params)
    raw = request.query_params.get("job") or ""
    if not raw:
        return render(request, "measurement/indices.html", ctx)
    try:
        job = get_job(db, as_int(raw, "job", "任务"))
        ctx["job"] = job
        if job.status == "succeeded":
            _, table = indices_of(db, job.id)
            summary = job.summary or {}
            ctx.update(
                plan=svc.get_weight_plan(db, int(summary["weight_plan_id"]), prefix_of(user)),
                year=summary.get("year"),
                by=summary.get("by") or "hospital",
            )
            ctx.update(_indices_rows(request, db, table, ctx["by"]))
        elif job.status == "failed":
            raise ValidationFailed(f"计算失败：{job.error or '未知错误'}")
    except DomainError as exc:
        ctx["errors"] = {"indices": failure(db, exc)}
        return render(request, "measurement/indices.html", ctx, status_code=422)
    return render(request, "measurement/indices.html", ctx)


@router.post("/indices", dependencies=CSRF)
def indices_start(request: Request, form: PostedForm, db: Db, user: User = MEASURE) -> Response:
    """Queue the computation (it reads a whole year of cases), then show its page."""
    try:
        plan_id = as_int(text(form, "weight_plan_id"), "weight_plan_id", "权重方案")
        job = submit_indices(
            db,
            runner_of(request),
            weight_plan=svc.get_weight_plan(db, plan_id, prefix_of(user)),
            year=as_int(text(form, "year"), "year", "年度"),
            by="department" if text(form, "by") == "department" else "hospital",
            actor=request_actor(request, user),
        )
    except DomainError as exc:
        ctx = _indices_context(db, user, form)
        ctx["errors"] = {"indices": failure(db, exc)}
        return render(request, "measurement/indices.html", ctx, status_code=422)
    return RedirectResponse(f"/measurement/indices?job={job.id}", status_code=303)


def _indices_rows(request: Request, db: Db, table: pl.DataFrame, by: str) -> dict[str, Any]:
    names = svc.hospital_names(db)
    frame = table.with_columns(
        pl.col("hospital_code")
        .replace_strict({c: n for c, (n, _l) in names.items()}, default=pl.col("hospital_code"))
        .alias("hospital_name"),
        pl.col("hospital_code")
        .replace_strict({c: lv for c, (_n, lv) in names.items()}, default="")
        .alias("hospital_level"),
        pl.col("cmi").cast(pl.Float64),
        pl.col("total_weight").cast(pl.Float64),
    )
    page, size = clamp_page(page_arg(request), None, default_size=50)
    ordered = frame.sort(["cmi", "hospital_code"], descending=[True, False])
    chart = ordered.head(40).select(
        "hospital_name",
        "hospital_level",
        "cmi",
        "cost_index",
        "time_index",
        *(["discharge_dept"] if by != "hospital" else []),
    )
    return {
        "rows": svc.page_rows(ordered, page, size),
        "charts": charts_json({"indices": chart.to_dicts(), "by": by}),
    }
