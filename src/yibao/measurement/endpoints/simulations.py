"""Measurement API: simulations (模拟测算) — run one, apply its solved rates, read one,
compare several.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import JSONResponse

from yibao.accounts.models import User
from yibao.api.deps import Db, request_actor, runner_of
from yibao.kit.bounds import INT4_MAX, DbId
from yibao.kit.errors import ValidationFailed
from yibao.measurement import service as svc
from yibao.measurement.endpoints.common import ANALYST, accepted, region_of
from yibao.measurement.endpoints.rate_plans import rp_out
from yibao.measurement.models import Simulation
from yibao.measurement.schemas import (
    JobAccepted,
    RatePlanOut,
    SimulationComparison,
    SimulationCreate,
    SimulationOut,
)
from yibao.measurement.service.background import submit_simulation

router = APIRouter()


def sim_out(sim: Simulation) -> dict[str, Any]:
    return svc.jsonable_record(
        {
            "id": sim.id,
            "name": sim.name,
            "weight_plan_id": sim.weight_plan_id,
            "rate_plan_id": sim.rate_plan_id,
            "year": sim.year,
            "params": sim.params,
            "rates": sim.rates,
            "results": sim.results,
        }
    )


@router.post(
    "/simulations",
    status_code=202,
    response_model=JobAccepted,
    summary="模拟测算（后台任务）：按支付标准模拟一年病例的支付（可按预算求解费率）",
)
def create_simulation(
    body: SimulationCreate, request: Request, db: Db, user: User = ANALYST
) -> JSONResponse:
    region = region_of(user)
    job = submit_simulation(
        db,
        runner_of(request),
        weight_plan=svc.get_weight_plan(db, body.weight_plan_id, region),
        rate_row=svc.get_rate_plan(db, body.rate_plan_id, region),
        name=body.name,
        year=body.year,
        params=body.params,
        solve_budget=body.solve_budget,
        actor=request_actor(request, user),
    )
    return accepted(job)


@router.post("/simulations/{sim_id}/apply-rates")
def apply_simulation_rates(
    sim_id: DbId, request: Request, db: Db, user: User = ANALYST
) -> RatePlanOut:
    """应用求解的费率：把按预算求解的费率写入该模拟所用的费率方案（草稿）。"""
    region = region_of(user)
    sim = svc.get_simulation(db, sim_id, region)
    row = svc.get_rate_plan(db, sim.rate_plan_id, region)
    svc.do_apply_simulation_rates(db, sim, row, actor=request_actor(request, user))
    return RatePlanOut.model_validate(rp_out(row))


@router.get("/simulations/{sim_id}", summary="一次模拟测算的结果")
def get_simulation(sim_id: DbId, db: Db, user: User = ANALYST) -> SimulationOut:
    return SimulationOut.model_validate(sim_out(svc.get_simulation(db, sim_id, region_of(user))))


@router.get("/simulations", summary="对比多个模拟方案的合计与各级结果")
def compare_simulations(
    db: Db,
    ids: str = Query(max_length=200, description="方案编号，逗号分隔，如 1,2,3"),
    user: User = ANALYST,
) -> SimulationComparison:
    """Side-by-side totals and level figures of several scenarios (``ids=1,2,3``)."""
    try:
        wanted = [int(x) for x in ids.split(",") if x.strip()]
    except ValueError:
        raise ValidationFailed(f"ids：应为逗号分隔的编号（收到 {ids!r}）", field="ids") from None
    if not all(1 <= i <= INT4_MAX for i in wanted):
        raise ValidationFailed(f"ids：编号应在 1 到 {INT4_MAX} 之间（收到 {ids!r}）", field="ids")
    sims = [svc.get_simulation(db, i, region_of(user)) for i in wanted]
    return SimulationComparison.model_validate(
        {
            "scenarios": [
                {
                    "id": s.id,
                    "name": s.name,
                    "year": s.year,
                    "rates": s.rates,
                    "totals": s.results.get("totals"),
                    "by_level": s.results.get("by_level"),
                    "by_class": s.results.get("by_class"),
                }
                for s in sims
            ]
        }
    )
