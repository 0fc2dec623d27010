"""Weight plan and rate plan pages: items, adjustments, state changes, rates, simulation."""

from __future__ import annotations

import re
from decimal import Decimal
from typing import Any

import polars as pl
from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response
from pydantic import ValidationError
from starlette.datastructures import FormData

from yibao.accounts.models import User
from yibao.api.deps import Db, PostedForm, registry_of, request_actor, runner_of
from yibao.cases.repository import case_years, complete_years
from yibao.engines import measure as m
from yibao.kit.bounds import DbId
from yibao.kit.errors import DomainError, ValidationFailed
from yibao.kit.paging import clamp_page
from yibao.measurement import service as svc
from yibao.measurement.service.background import submit_rate_plan, submit_simulation
from yibao.web.forms import page_arg, text
from yibao.web.pages.measurement.common import (
    CSRF,
    MEASURE,
    TRANSITION_LABELS,
    TRANSITION_STYLES,
    again,
    as_decimal,
    as_int,
    base_context,
    failure,
    prefix_of,
    rules_of,
    values_of,
)
from yibao.web.render import render

router = APIRouter(prefix="/measurement")
CODES = re.compile(r"[\s,，;；、]+")
RATE_MODES = {
    "single": "统一费率",
    "per_level": "分级费率",
    "level_coefficients": "基准费率 × 等级系数",
}


# ------------------------------------------------------------------ weight plans


def items_view(request: Request, frame: pl.DataFrame, names: dict[str, str]) -> dict[str, Any]:
    """The plan's items filtered (MDC, source, adjusted, missing, DRG code / name), paged."""
    qp = request.query_params
    flt: dict[str, Any] = {
        "mdc": qp.get("mdc") or "",
        "source": qp.get("source") or "",
        "changed": qp.get("changed") == "1",
        "missing": qp.get("missing") == "1",
        "q": (qp.get("q") or "").strip(),
    }
    shown = frame
    if flt["mdc"]:
        shown = shown.filter(pl.col("mdc") == flt["mdc"])
    if flt["source"]:
        shown = shown.filter(pl.col("rw_source") == flt["source"])
    if flt["changed"]:
        shown = shown.filter(
            pl.col("adjustment").is_not_null()
            | (pl.col("relative_weight") != pl.col("base_relative_weight"))
        )
    if flt["missing"]:
        shown = shown.filter(pl.col("relative_weight").is_null())
    if flt["q"]:
        q = str(flt["q"])
        named = [d for d, n in names.items() if q in n]
        shown = shown.filter(
            pl.col("drg").str.contains(q.upper(), literal=True) | pl.col("drg").is_in(named)
        )
    page, size = clamp_page(page_arg(request), None, default_size=50)
    return {"items": svc.page_rows(shown, page, size), "iflt": flt}


def adjustment_form(adjustments: dict[str, Any]) -> dict[str, Any]:
    """The stored adjustments as form values (manual lines, tilt rows + 2 empty)."""
    tilts = [
        {
            "factor": t.get("factor", ""),
            "mdcs": " ".join(x.removeprefix("MDC") for x in t.get("mdcs", [])),
            "adrgs": " ".join(t.get("adrgs", [])),
            "drgs": " ".join(t.get("drgs", [])),
            "reason": t.get("reason", ""),
        }
        for t in adjustments.get("tilts", [])
    ]
    return {
        "manual": "\n".join(f"{d} {rw}" for d, rw in (adjustments.get("manual") or {}).items()),
        "tilts": [*tilts, {}, {}],
        "budget_neutral": "on" if adjustments.get("budget_neutral", True) else "",
    }


def weight_plan_view(request: Request, db: Db, user: User, plan_id: int, **extra: Any) -> Response:
    prefix = prefix_of(user)
    plan = svc.get_weight_plan(db, plan_id, prefix)
    run = svc.get_run(db, plan.run_id, prefix)
    frame = svc.weight_plan_frame(db, plan.id)
    names = svc.drg_names(registry_of(request), run.plan_id)
    missing = frame.filter(pl.col("relative_weight").is_null())["drg"].to_list()
    years = case_years(db)
    ctx = base_context(
        plan=plan,
        run=run,
        transitions=[
            (a, TRANSITION_LABELS[a], TRANSITION_STYLES[a])
            for a, (src, _t) in svc.WEIGHT_TRANSITIONS.items()
            if plan.status in src
        ],
        mdcs=sorted(frame["mdc"].unique().to_list()),
        sources=sorted(frame["rw_source"].unique().to_list()),
        missing=missing,
        drg_names=names,
        rate_plans=svc.list_rate_plans(db, prefix, weight_plan_id=plan.id),
        rate_modes=RATE_MODES,
        case_years=sorted(years),
        adjust=adjustment_form(plan.adjustments or {}),
        form={
            "volume_year": str(max(complete_years(years) or years)) if years else "",
            "mode": "single",
            "rounding": "fen",
            "growth_pct": "0",
        },
        **items_view(request, frame, names),
    )
    ctx.update(extra)
    return render(request, "measurement/weight_plan.html", ctx)


@router.get("/weight-plans/{plan_id}")
def weight_plan_page(plan_id: DbId, request: Request, db: Db, user: User = MEASURE) -> Response:
    return weight_plan_view(request, db, user, plan_id)


def codes(raw: str) -> list[str]:
    return [c.upper() for c in CODES.split(raw) if c]


def adjustments_of(form: FormData) -> dict[str, Any]:
    """Manual weights (``DRG 权重`` per line) and tilt rows of the adjustment form."""
    manual: dict[str, str] = {}
    for n, line in enumerate(text(form, "manual").splitlines(), start=1):
        parts = [p for p in re.split(r"[\s=,，:：]+", line.strip()) if p]
        if not parts:
            continue
        if len(parts) != 2:
            raise ValidationFailed(
                f"人工权重：第 {n} 行应为「DRG 权重」，例如 AA19 1.2345（收到 {line.strip()!r}）",
                field="manual",
            )
        manual[parts[0].upper()] = parts[1]
    rows = zip(
        *(form.getlist(f"tilt_{k}") for k in ("factor", "mdcs", "adrgs", "drgs", "reason")),
        strict=False,
    )
    tilts = []
    for n, (factor, mdcs, adrgs, drgs, reason) in enumerate(rows, start=1):
        factor, targets = str(factor).strip(), [codes(str(x)) for x in (mdcs, adrgs, drgs)]
        if not factor and not any(targets):
            continue
        if not factor:
            raise ValidationFailed(f"倾斜系数：第 {n} 行倾斜须填写倾斜系数", field="tilt_factor")
        tilts.append(
            {
                "factor": factor,
                "mdcs": targets[0],
                "adrgs": targets[1],
                "drgs": targets[2],
                "reason": str(reason).strip(),
            }
        )
    return {"manual": manual, "tilts": tilts, "budget_neutral": bool(form.get("budget_neutral"))}


@router.post("/weight-plans/{plan_id}/adjustments", dependencies=CSRF)
def update_adjustments(
    plan_id: DbId, request: Request, form: PostedForm, db: Db, user: User = MEASURE
) -> Response:
    plan = svc.get_weight_plan(db, plan_id, prefix_of(user))
    try:
        svc.do_update_weight_plan(
            db, plan, adjustments=adjustments_of(form), actor=request_actor(request, user)
        )
    except DomainError as exc:
        err = failure(db, exc)
        keys = ("factor", "mdcs", "adrgs", "drgs", "reason")
        rows = zip(*(form.getlist(f"tilt_{k}") for k in keys), strict=False)
        shown = {
            "manual": text(form, "manual"),
            "tilts": [dict(zip(keys, r, strict=True)) for r in rows],
            "budget_neutral": "on" if form.get("budget_neutral") else "",
        }

        def page(**kw: Any) -> Response:
            return weight_plan_view(request, db, user, plan_id, **kw)

        return again(page, err, "adjust", adjust=shown)
    return RedirectResponse(f"/measurement/weight-plans/{plan_id}#adjust", status_code=303)


@router.post("/weight-plans/{plan_id}/transition", dependencies=CSRF)
def transition(
    plan_id: DbId, request: Request, form: PostedForm, db: Db, user: User = MEASURE
) -> Response:
    """审批 / 发布 / 退回草稿 / 停用 (the service checks the state machine)."""
    plan = svc.get_weight_plan(db, plan_id, prefix_of(user))
    try:
        svc.do_transition_weight_plan(
            db,
            plan,
            text(form, "action"),
            actor=request_actor(request, user),
            four_eyes=request.app.state.settings.publish_four_eyes,
        )
    except DomainError as exc:
        err = failure(db, exc)

        def page(**kw: Any) -> Response:
            return weight_plan_view(request, db, user, plan_id, **kw)

        return again(page, err, "transition")
    return RedirectResponse(f"/measurement/weight-plans/{plan_id}", status_code=303)


def rate_params_of(form: FormData) -> tuple[int, dict[str, Any]]:
    """Volume year and :class:`RateParams` (text) of the rate plan form; growth in %."""
    volume_year = as_int(text(form, "volume_year"), "volume_year", "测算年度")
    mode = text(form, "mode") or "single"
    params: dict[str, Any] = {"mode": mode, "rounding": text(form, "rounding") or "fen"}
    budget, growth = text(form, "budget"), text(form, "growth_pct")
    if budget and growth and as_decimal(growth, "growth_pct", "增长率") != 0:
        raise ValidationFailed(
            "预算 / 增长率：只能填写一个（填写预算时请清空增长率或填 0）", field="budget"
        )
    if budget:
        params["budget"] = str(as_decimal(budget, "budget", "预算"))
    elif growth:
        params["growth"] = str(as_decimal(growth, "growth_pct", "增长率") / 100)
    per_level = {
        "level_coefficients": ("coefficients", "coef"),
        "per_level": ("level_budgets", "lb"),
    }
    if mode in per_level:
        key, name = per_level[mode]
        given = {lv: v for lv in m.LEVELS if (v := text(form, f"{name}_{lv}"))}
        if given:
            params[key] = given
    return volume_year, params


@router.post("/weight-plans/{plan_id}/rate-plans", dependencies=CSRF)
def create_rate_plan(
    plan_id: DbId, request: Request, form: PostedForm, db: Db, user: User = MEASURE
) -> Response:
    plan = svc.get_weight_plan(db, plan_id, prefix_of(user))
    try:
        volume_year, params = rate_params_of(form)
        job = submit_rate_plan(
            db,
            runner_of(request),
            weight_plan=plan,
            name=text(form, "name"),
            volume_year=volume_year,
            params=params,
            actor=request_actor(request, user),
        )
    except DomainError as exc:
        err = failure(db, exc)

        def page(**kw: Any) -> Response:
            return weight_plan_view(request, db, user, plan_id, **kw)

        return again(page, err, "rate", form=values_of(form))
    return RedirectResponse(f"/jobs/{job.id}", status_code=303)  # a job: regroups a year


# ------------------------------------------------------------------ rate plans


def sim_defaults() -> dict[str, Any]:
    p = m.SimulationParams()
    return {
        **{f"high_{lv}": str(k) for lv, k in p.high_multipliers.items()},
        "low_multiplier": str(p.low_multiplier),
        "high_payment": p.high_payment,
        "fund_share": p.fund_share,
        "fixed_fund_share": str(p.fixed_fund_share),
    }


def rate_plan_view(request: Request, db: Db, user: User, rate_id: int, **extra: Any) -> Response:
    prefix = prefix_of(user)
    row = svc.get_rate_plan(db, rate_id, prefix)
    plan = svc.get_weight_plan(db, row.weight_plan_id, prefix)
    rates = svc.rate_plan_of(row)
    levels = [
        {
            "level": lv,
            "rate": rates.level_rates.get(lv),
            "budget": (rates.level_budgets or {}).get(lv),
            "weight": (rates.level_weights or {}).get(lv),
            "coefficient": (rates.coefficients or {}).get(lv),
        }
        for lv in m.LEVELS
    ]
    years = case_years(db)
    ctx = base_context(
        row=row,
        rates=rates,
        levels=levels,
        weight_plan=plan,
        rate_modes=RATE_MODES,
        sims=svc.list_simulations(db, prefix, rate_plan_id=row.id),
        case_years=sorted(years),
        rates_form={f"rate_{lv}": str(r) for lv, r in rates.level_rates.items()},
        form={**sim_defaults(), "year": str(row.volume_year), "name": ""},
    )
    ctx.update(extra)
    return render(request, "measurement/rate_plan.html", ctx)


@router.get("/rate-plans/{rate_id}")
def rate_plan_page(rate_id: DbId, request: Request, db: Db, user: User = MEASURE) -> Response:
    return rate_plan_view(request, db, user, rate_id)


def level_rates_of(form: FormData) -> dict[str, Decimal]:
    rates = {}
    for lv in m.LEVELS:
        field, label = f"rate_{lv}", f"{m.LEVEL_NAMES[lv]}医院费率"
        raw = text(form, field)
        if not raw:
            raise ValidationFailed(f"{label}：必须填写", field=field)
        rate = as_decimal(raw, field, label)
        if rate <= 0 or rate != rate.quantize(Decimal("1e-10")):
            raise ValidationFailed(
                f"{label}：必须大于 0 且最多 10 位小数（收到 {raw}）", field=field
            )
        rates[lv] = rate
    return rates


@router.post("/rate-plans/{rate_id}/rates", dependencies=CSRF)
def set_rates(
    rate_id: DbId, request: Request, form: PostedForm, db: Db, user: User = MEASURE
) -> Response:
    row = svc.get_rate_plan(db, rate_id, prefix_of(user))
    try:
        svc.do_set_rates(db, row, level_rates_of(form), actor=request_actor(request, user))
    except (DomainError, ValidationError) as exc:
        err = failure(db, exc, "RatePlan")

        def page(**kw: Any) -> Response:
            return rate_plan_view(request, db, user, rate_id, **kw)

        return again(page, err, "rates", rates_form=values_of(form))
    return RedirectResponse(f"/measurement/rate-plans/{rate_id}", status_code=303)


def sim_params_of(form: FormData) -> tuple[int, dict[str, Any]]:
    """Year and :class:`SimulationParams` (text) of the simulation form."""
    year = as_int(text(form, "year"), "year", "模拟年度")
    high = {lv: v for lv in m.LEVELS if (v := text(form, f"high_{lv}"))}
    params: dict[str, Any] = {
        "high_multipliers": high,
        "high_payment": text(form, "high_payment") or "items",
        "fund_share": text(form, "fund_share") or "actual",
    }
    if low := text(form, "low_multiplier"):
        params["low_multiplier"] = low
    if params["fund_share"] == "fixed" and (share := text(form, "fixed_fund_share")):
        params["fixed_fund_share"] = share
    if rules := rules_of(form).get("rules"):
        params["rules"] = rules
    return year, params


@router.post("/rate-plans/{rate_id}/simulations", dependencies=CSRF)
def run_simulation(
    rate_id: DbId, request: Request, form: PostedForm, db: Db, user: User = MEASURE
) -> Response:
    prefix = prefix_of(user)
    row = svc.get_rate_plan(db, rate_id, prefix)
    plan = svc.get_weight_plan(db, row.weight_plan_id, prefix)
    try:
        year, params = sim_params_of(form)
        job = submit_simulation(
            db,
            runner_of(request),
            weight_plan=plan,
            rate_row=row,
            name=text(form, "name"),
            year=year,
            params=params,
            solve_budget=bool(form.get("solve_budget")),
            actor=request_actor(request, user),
        )
    except DomainError as exc:
        err = failure(db, exc)

        def page(**kw: Any) -> Response:
            return rate_plan_view(request, db, user, rate_id, **kw)

        return again(page, err, "sim", form=values_of(form))
    return RedirectResponse(f"/jobs/{job.id}", status_code=303)  # a job: regroups a year
