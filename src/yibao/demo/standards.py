"""The demo's payment standards (演示支付标准), measured from the demo history as the 测算 pages
do: a base run (grouping, exclusions, trimming, weights) → weight plan (approve,
publish) → rate plan (level coefficients from the data, volume and budget = the newest
history year) → standards published from 1 January of the older settlement month's year.
Nothing commits here."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any

from sqlalchemy.orm import Session

from yibao.audit.service import Actor
from yibao.engines.grouper import PlanRegistry
from yibao.grouping.plans import plan_for_date
from yibao.measurement import service as svc
from yibao.measurement.frames import case_frame, regroup_years
from yibao.measurement.models import (
    PaymentStandardSet,
)

#: the rate plan of the demo: one base rate × each level's cost index from the data
RATE_PARAMS: dict[str, Any] = {"mode": "level_coefficients"}
#: the demo's published standards meet the budget within this share (the default
#: ``YIBAO_BUDGET_TOLERANCE``)
DEMO_BUDGET_TOLERANCE = Decimal("0.01")


# long: the bureau's publishing workflow run end to end, step after step
def publish_demo_standards(
    session: Session,
    registry: PlanRegistry,
    *,
    region_code: str,
    years: list[int],
    valid_from: date,
    actor: Actor,
) -> PaymentStandardSet:
    """Base run → weight plan (approve, publish) → rate plan → published standards."""
    info = plan_for_date(registry, valid_from)
    if info is None:
        raise ValueError(f"{valid_from} 没有有效的分组方案，无法测算演示支付标准")
    weights = {} if len(years) == 3 else {"year_weights": [1] * len(years)}  # 3 years: 1:2:7
    run = svc.do_create_run(
        session,
        region_code=region_code,
        name=f"演示基础测算 {years[0]}–{years[-1]}",
        plan_id=info.id,
        plan_version=info.meta.version,
        years=years,
        params={"weights": weights},
        actor=actor,
    )
    regroup_years(session, registry, info.id, years, actor)
    svc.execute_run(session, run, case_frame(session, info.id, years))
    plan = svc.do_create_weight_plan(
        session,
        run=run,
        code=f"DEMO-{valid_from.year}",
        name=f"演示 {valid_from.year} 年权重方案",
        adjustments={},
        actor=actor,
    )
    for action in ("approve", "publish"):
        svc.do_transition_weight_plan(session, plan, action, actor=actor)
    newest = years[-1]
    paid = svc.year_frame(
        session, registry, info.id, newest, svc.SIMULATION_RULES, actor, regroup=False
    )
    rate = svc.do_create_rate_plan(
        session,
        weight_plan=plan,
        name=f"演示 {valid_from.year} 年费率（{newest} 年病例量，预算持平）",
        volume_year=newest,
        params=RATE_PARAMS,
        volume_frame=svc.measured_cases(paid, run, newest),
        paid_total=svc.paid_total(paid),
        actor=actor,
    )
    # the rate that meets the budget: solved by simulation and applied, as an analyst
    # would (the first rate ignores that outliers are paid by items)
    rates, result, extra = svc.run_simulation(
        session, weight_plan=plan, rate_row=rate, frame=paid, params={}, solve_budget=True
    )
    sim = svc.do_save_simulation(
        session,
        weight_plan=plan,
        rate_row=rate,
        name=f"演示：按预算求解 {valid_from.year} 年费率（{newest} 年病例）",
        year=newest,
        params={},
        rates=rates,
        results=svc.simulation_results(result, extra),
        actor=actor,
    )
    svc.do_apply_simulation_rates(session, sim, rate, actor=actor)
    return svc.publish_standards(
        session,
        weight_plan=plan,
        rate_row=rate,
        run=run,
        name=f"演示市 {valid_from.year} 年 DRG 支付标准",
        valid_from=valid_from,
        valid_to=None,
        actor=actor,
        registry=registry,
        budget_tolerance=DEMO_BUDGET_TOLERANCE,
    )
