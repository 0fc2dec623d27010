"""Rate plans (费率方案): budget and level rates of a weight plan.

A rate plan is computed from a weight plan and a year's case volume (its budget from
the parameters or the year's paid total; :func:`create_rate_plan` takes both from the
year's cases under the run's plan); in draft the analyst may set the level
rates by hand or take the rates a budget-solving simulation found.  Also the gap
between a simulation's payment and the budget.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import polars as pl
from pydantic import ValidationError
from sqlalchemy.orm import Session

from yibao.audit.service import Actor, record
from yibao.engines import measure as m
from yibao.engines.grouper import PlanRegistry
from yibao.kit.errors import Conflict, ValidationFailed
from yibao.measurement.frames import Progress
from yibao.measurement.models import MeasurementRun, RatePlanRow, Simulation, WeightPlan
from yibao.measurement.service.common import _require_status
from yibao.measurement.service.weight_plans import weight_plan_frame
from yibao.measurement.service.year_frames import (
    SIMULATION_RULES,
    measured_cases,
    paid_total,
    year_frame,
)


def do_create_rate_plan(
    session: Session,
    *,
    weight_plan: WeightPlan,
    name: str,
    volume_year: int,
    params: dict[str, Any],
    volume_frame: pl.DataFrame,
    actor: Actor,
    paid_total: Decimal | None = None,
) -> RatePlanRow:
    """Budget and rates from the weight plan and ``volume_year``'s case base.

    ``paid_total``: the total cost of every case of the year that the DRG budget pays
    (the cases a simulation pays, item-paid ones included, ADR 0011); the budget is
    based on it unless the parameters give a budget or a last total."""
    parsed = m.parse_params(m.RateParams, params)
    if volume_frame.height == 0:
        raise ValidationFailed(f"volume_year：{volume_year} 年没有可用病例", field="volume_year")
    if paid_total is not None and parsed.budget is None and parsed.last_total is None:
        parsed = m.parse_params(
            m.RateParams, {**parsed.model_dump(mode="json"), "last_total": str(paid_total)}
        )
    rates = m.compute_rates(
        weight_plan_frame(session, weight_plan.id), m.expected_volume(volume_frame), parsed
    )
    row = RatePlanRow(
        region_code=weight_plan.region_code,
        name=name.strip() or f"费率方案 {volume_year}",
        weight_plan_id=weight_plan.id,
        volume_year=volume_year,
        params=parsed.model_dump(mode="json"),
        plan=rates.model_dump(mode="json"),
        status="draft",
        created_by=actor.name,
    )
    session.add(row)
    session.flush()
    record(
        session,
        actor,
        "measurement.rate_plan.create",
        "rate_plan",
        row.id,
        after={"weight_plan_id": weight_plan.id, "params": row.params, "plan": row.plan},
    )
    return row


def create_rate_plan(
    session: Session,
    registry: PlanRegistry,
    *,
    weight_plan: WeightPlan,
    run: MeasurementRun,
    name: str,
    volume_year: int,
    params: dict[str, Any],
    actor: Actor,
    progress: Progress | None = None,
) -> RatePlanRow:
    """As ``POST /api/measurement/rate-plans`` (its job)."""
    m.parse_params(m.RateParams, params)  # parameter errors before any grouping
    paid = year_frame(
        session, registry, run.plan_id, volume_year, SIMULATION_RULES, actor, progress=progress
    )
    return do_create_rate_plan(
        session,
        weight_plan=weight_plan,
        name=name,
        volume_year=volume_year,
        params=params,
        volume_frame=measured_cases(paid, run, volume_year),
        paid_total=paid_total(paid),
        actor=actor,
    )


def rate_plan_of(row: RatePlanRow) -> m.RatePlan:
    return m.RatePlan.model_validate(row.plan)


def do_set_rates(
    session: Session, row: RatePlanRow, rates: dict[str, Decimal], *, actor: Actor
) -> RatePlanRow:
    """The analyst sets the level rates by hand (draft only)."""
    _require_status(row, ("draft",), "费率方案")
    before = row.plan
    plan = rate_plan_of(row).model_copy(update={"level_rates": rates, "mode": "per_level"})
    try:
        checked = m.RatePlan.model_validate(plan.model_dump())
    except ValidationError as exc:  # a rate ≤ 0, an unknown level: the rule's own words
        err = exc.errors()[0]
        text = str(err.get("msg", "")).removeprefix("Value error, ")
        raise ValidationFailed(f"费率 rates：{text}", field="rates") from None
    row.plan = checked.model_dump(mode="json")
    record(
        session,
        actor,
        "measurement.rate_plan.set_rates",
        "rate_plan",
        row.id,
        before=before,
        after=row.plan,
    )
    return row


def do_apply_simulation_rates(
    session: Session, sim: Simulation, row: RatePlanRow, *, actor: Actor
) -> RatePlanRow:
    """应用求解的费率: the rates a budget-solving simulation found become the rate
    plan's rates (draft only; the budget and the weights stay)."""
    if sim.rate_plan_id != row.id:
        raise ValidationFailed("模拟不是基于该费率方案", field="rate_plan_id")
    if not isinstance(sim.results, dict) or "solved" not in sim.results:
        raise Conflict("这次模拟没有求解费率（勾选“按预算求解费率”后重新模拟）", field="simulation")
    _require_status(row, ("draft",), "费率方案")
    before = row.plan
    solved = m.RatePlan.model_validate(sim.rates)
    row.plan = solved.model_dump(mode="json")
    record(
        session,
        actor,
        "measurement.rate_plan.apply_simulation",
        "rate_plan",
        row.id,
        before=before,
        after={"simulation_id": sim.id, "plan": row.plan},
    )
    return row


def budget_gap(result: m.SimulationResult) -> tuple[Decimal, Decimal, Decimal] | None:
    """(simulated DRG payment, budget, gap) of a simulation's totals, or None without
    a budget."""
    if result.totals.height == 0:
        return None
    totals = result.totals.row(0, named=True)
    if totals.get("budget") is None:
        return None
    payment, budget = Decimal(totals["drg_payment"]), Decimal(totals["budget"])
    return payment, budget, payment - budget
