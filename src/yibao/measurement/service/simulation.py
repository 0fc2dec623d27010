"""Simulations (模拟测算): a year's cases paid by a weight plan and a rate plan.

The cases are paid by the payment standards the two plans make (optionally with the
rates solved for the budget, and the fund share from the published policies), the
results are summarised JSON-safe and saved as a simulation the pages compare
(:func:`create_simulation`: the year's cases under the run's plan, all of it).
"""

from __future__ import annotations

from typing import Any

import polars as pl
from sqlalchemy.orm import Session

from yibao.audit.service import Actor, record
from yibao.benefits.service import policy_set
from yibao.engines import measure as m
from yibao.engines.grouper import PlanRegistry
from yibao.engines.settlement import policy_fund_fen
from yibao.kit.errors import ValidationFailed
from yibao.measurement.frames import Progress
from yibao.measurement.models import MeasurementRun, RatePlanRow, Simulation, WeightPlan
from yibao.measurement.service.common import _jsonable
from yibao.measurement.service.rate_plans import rate_plan_of
from yibao.measurement.service.weight_plans import weight_plan_frame
from yibao.measurement.service.year_frames import SIMULATION_RULES, year_frame


def run_simulation(
    session: Session,
    *,
    weight_plan: WeightPlan,
    rate_row: RatePlanRow,
    frame: pl.DataFrame,
    params: dict[str, Any],
    solve_budget: bool,
) -> tuple[m.RatePlan, m.SimulationResult, dict[str, Any]]:
    sim_params = m.parse_params(m.SimulationParams, params)
    weights = weight_plan_frame(session, weight_plan.id)
    rates = rate_plan_of(rate_row)
    extra: dict[str, Any] = {}
    if solve_budget:
        solution = m.solve_rate_for_budget(frame, weights, rates, sim_params)
        rates = solution.rates
        extra = {
            "solved": _jsonable(solution.solved),
            "gap": str(solution.gap),
            "roots": solution.roots,
        }
    table = m.payment_standards(weights, rates)
    fund = None
    if sim_params.fund_share == "policy":  # the insured places' published policies
        policies = policy_set(session)
        fund = lambda classified: policy_fund_fen(classified, policies)  # noqa: E731
    result = m.simulate(frame, table, sim_params, budget=rates.budget, fund=fund)
    return rates, result, extra


def simulation_results(result: m.SimulationResult, extra: dict[str, Any]) -> dict[str, Any]:
    def rows(df: pl.DataFrame) -> list[dict[str, Any]]:
        return _jsonable(df.to_dicts())  # type: ignore[no-any-return]

    return {
        "totals": rows(result.totals)[0] if result.totals.height else {},
        "by_level": rows(result.by_level),
        "by_class": rows(result.by_class),
        "by_hospital": rows(result.by_hospital),
        "by_drg": rows(result.by_drg),
        "distribution": rows(result.distribution),
        **extra,
    }


def do_save_simulation(
    session: Session,
    *,
    weight_plan: WeightPlan,
    rate_row: RatePlanRow,
    name: str,
    year: int,
    params: dict[str, Any],
    rates: m.RatePlan,
    results: dict[str, Any],
    actor: Actor,
) -> Simulation:
    sim = Simulation(
        region_code=weight_plan.region_code,
        name=name.strip() or f"模拟 {year}",
        weight_plan_id=weight_plan.id,
        rate_plan_id=rate_row.id,
        year=year,
        params=m.parse_params(m.SimulationParams, params).model_dump(mode="json"),
        rates=rates.model_dump(mode="json"),
        results=results,
        created_by=actor.name,
    )
    session.add(sim)
    session.flush()
    record(
        session,
        actor,
        "measurement.simulation.create",
        "simulation",
        sim.id,
        after={"name": sim.name, "year": year, "totals": results.get("totals")},
    )
    return sim


def create_simulation(
    session: Session,
    registry: PlanRegistry,
    *,
    weight_plan: WeightPlan,
    rate_row: RatePlanRow,
    run: MeasurementRun,
    name: str,
    year: int,
    params: dict[str, Any],
    solve_budget: bool,
    actor: Actor,
    progress: Progress | None = None,
) -> Simulation:
    """As ``POST /api/measurement/simulations`` (its job)."""
    m.parse_params(m.SimulationParams, params)
    frame = year_frame(
        session, registry, run.plan_id, year, SIMULATION_RULES, actor, progress=progress
    )
    if frame.height == 0:
        raise ValidationFailed(f"year：{year} 年没有可用病例", field="year")
    rates, result, extra = run_simulation(
        session,
        weight_plan=weight_plan,
        rate_row=rate_row,
        frame=frame,
        params=params,
        solve_budget=solve_budget,
    )
    return do_save_simulation(
        session,
        weight_plan=weight_plan,
        rate_row=rate_row,
        name=name,
        year=year,
        params=params,
        rates=rates,
        results=simulation_results(result, extra),
        actor=actor,
    )
