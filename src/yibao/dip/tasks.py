"""DIP batch entry points run by the job runner."""

from __future__ import annotations

from decimal import Decimal

from yibao.dip.models import DipCatalogue, DipSimulation
from yibao.dip.service import BUILD_KIND, execute_build
from yibao.dip.simulation import SIM_KIND, execute_simulation
from yibao.grouping.plans import plan_registry
from yibao.jobs.runner import JobContext, JobOutcome, job_kind
from yibao.kit.errors import NotFound


@job_kind(BUILD_KIND, "DIP 目录：组合、核心与综合病种、病种分值")
def build_catalogue(ctx: JobContext) -> JobOutcome:
    row = ctx.session.get(DipCatalogue, ctx.params["catalogue_id"])
    if row is None:
        raise NotFound(f"DIP 目录 {ctx.params['catalogue_id']} 不存在")
    row.status = "running"
    ctx.progress(0, None, f"读取 {row.years} 年病例，建立 DIP 目录 {row.code}")
    summary = execute_build(ctx.session, row, plan_registry(ctx.settings))
    return JobOutcome(
        summary={"catalogue_id": row.id, **summary},
        message=(
            f"病例 {summary['cases']:,}，核心病种 {summary['core_groups']:,}，"
            f"综合病种 {summary['comprehensive_groups']:,}，"
            f"核心病种覆盖 {summary['core_share']:.1%} 病例"
        ),
    )


@job_kind(SIM_KIND, "DIP 模拟：按目录分组、偏差调整、点值与各医院支付")
def simulate_year(ctx: JobContext) -> JobOutcome:
    sim = ctx.session.get(DipSimulation, ctx.params["simulation_id"])
    if sim is None:
        raise NotFound(f"DIP 模拟 {ctx.params['simulation_id']} 不存在")
    sim.status = "running"
    ctx.progress(0, None, f"按 DIP 目录分组并支付 {sim.year} 年病例")
    summary = execute_simulation(ctx.session, sim, plan_registry(ctx.settings))
    return JobOutcome(
        summary={"simulation_id": sim.id, **summary},
        message=(
            f"病例 {summary['cases']:,}，点值 {sim.point_value} 元/分，"
            f"支付 {Decimal(summary['payment']):,.2f} 元，"
            f"费用 {Decimal(summary['total_cost']):,.2f} 元"
        ),
    )
