"""Comparisons: two versions of a DIP catalogue (:func:`diff`), and DRG vs DIP for
the same year (issue 14 item 8): a DIP simulation beside a DRG
simulation of the region's same year, hospital by hospital — what each method pays,
the difference and who gains or loses.  The two simulations keep their own case bases
(the DRG simulation leaves out cases with missing fields), so each side's case count
is shown."""

from __future__ import annotations

import io
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import polars as pl
from sqlalchemy import select
from sqlalchemy.orm import Session

from yibao.dip.models import DipCatalogue, DipSimulation
from yibao.dip.service import groups_frame
from yibao.dip.simulation import hospitals_frame
from yibao.engines.caseframe import MONEY
from yibao.engines.grouper import PlanRegistry
from yibao.kit.errors import NotFound, ValidationFailed
from yibao.kit.exports import labelled, write_xlsx
from yibao.measurement.models import MeasurementRun, Simulation, WeightPlan
from yibao.measurement.service import drg_names

LABELS = {
    "hospital_code": "医疗机构编码",
    "hospital_level": "医院等级",
    "dip_cases": "DIP 病例数",
    "drg_cases": "DRG 病例数",
    "total_cost": "医疗总费用（元）",
    "drg_payment": "DRG 支付（元）",
    "dip_payment": "DIP 支付（元）",
    "difference": "DIP − DRG（元）",
    "change": "变化率",
}


def drg_simulations(session: Session, region_code: str, year: int) -> list[Simulation]:
    """The region's DRG simulations of ``year``, newest first."""
    return list(
        session.scalars(
            select(Simulation)
            .where(Simulation.region_code == region_code, Simulation.year == year)
            .order_by(Simulation.id.desc())
        )
    )


def drg_simulation(session: Session, simulation_id: int, dip_sim: DipSimulation) -> Simulation:
    found = session.get(Simulation, simulation_id)
    if found is None or found.region_code != dip_sim.region_code:
        raise NotFound(f"DRG 模拟 {simulation_id} 不存在 / not found")
    if found.year != dip_sim.year:
        raise ValidationFailed(
            f"drg：DRG 模拟 {simulation_id} 是 {found.year} 年的，DIP 模拟是 {dip_sim.year} 年的，"
            "只能对比同一年度",
            field="drg",
        )
    return found


def compare(session: Session, dip_sim: DipSimulation, drg: Simulation) -> pl.DataFrame:
    """One row per hospital in either simulation: cases, cost, the two payments, DIP −
    DRG and its share of the DRG payment, largest gain first."""
    dip = hospitals_frame(session, dip_sim.id).select(
        "hospital_code",
        "hospital_level",
        pl.col("cases").alias("dip_cases"),
        "total_cost",
        pl.col("payment").alias("dip_payment"),
    )
    rows: list[dict[str, Any]] = (drg.results or {}).get("by_hospital", [])
    drg_frame = pl.DataFrame(
        [
            (
                r["hospital_code"],
                str(r.get("hospital_level") or ""),
                int(r["cases"]),
                Decimal(str(r["drg_payment"])),
            )
            for r in rows
        ],
        schema={
            "hospital_code": pl.String,
            "drg_level": pl.String,
            "drg_cases": pl.Int64,
            "drg_payment": MONEY,
        },
        orient="row",
    )
    both = dip.join(drg_frame, on="hospital_code", how="full", coalesce=True)
    out = both.with_columns(
        pl.coalesce("hospital_level", "drg_level").alias("hospital_level"),
        pl.col("dip_cases").fill_null(0),
        pl.col("drg_cases").fill_null(0),
    ).drop("drg_level")
    return _with_difference(out, LABELS)


DRG_LABELS = {
    "drg": "DRG 病组",
    "drg_name": "病组名称",
    "dip_cases": "DIP 病例数",
    "drg_cases": "DRG 病例数",
    "total_cost": "医疗总费用（元）",
    "drg_payment": "DRG 支付（元）",
    "dip_payment": "DIP 支付（元）",
    "difference": "DIP − DRG（元）",
    "change": "变化率",
}


def drg_plan_of(session: Session, drg: Simulation) -> str | None:
    """The grouping plan of a DRG simulation (its weight plan's base run)."""
    plan = session.get(WeightPlan, drg.weight_plan_id)
    run = session.get(MeasurementRun, plan.run_id) if plan is not None else None
    return run.plan_id if run is not None else None


def compare_by_drg(dip_sim: DipSimulation, drg: Simulation, names: dict[str, str]) -> pl.DataFrame:
    """Per disease (DRG 病组): the cases of each DRG paid under each method — the DIP
    payments of the DIP simulation's cases summed by their DRG, beside the DRG
    simulation's payment of that DRG — largest gain first; ``names``: DRG → name."""
    dip_rows = (dip_sim.summary or {}).get("by_drg") or []
    drg_rows: list[dict[str, Any]] = (drg.results or {}).get("by_drg") or []
    money_schema = {"total_cost": MONEY, "dip_payment": MONEY}
    dip = pl.DataFrame(
        [(r["drg"], r["cases"], Decimal(r["total_cost"]), Decimal(r["payment"])) for r in dip_rows],
        schema={"drg": pl.String, "dip_cases": pl.Int64, **money_schema},
        orient="row",
    )
    other = pl.DataFrame(
        [(r["drg"], int(r["cases"]), Decimal(str(r["drg_payment"]))) for r in drg_rows],
        schema={"drg": pl.String, "drg_cases": pl.Int64, "drg_payment": MONEY},
        orient="row",
    )
    both = dip.join(other, on="drg", how="full", coalesce=True).with_columns(
        pl.col("dip_cases").fill_null(0), pl.col("drg_cases").fill_null(0)
    )
    return _with_difference(
        both.with_columns(
            pl.col("drg")
            .replace_strict(names, default="", return_dtype=pl.String)
            .alias("drg_name")
        ),
        DRG_LABELS,
    )


def diseases(
    session: Session, registry: PlanRegistry, dip_sim: DipSimulation, drg: Simulation
) -> tuple[pl.DataFrame, str | None]:
    """The per-DRG comparison with its DRG names, and a note when the two sides do not
    group by the same plan (or the DIP simulation predates the per-DRG sums)."""
    plan = (dip_sim.summary or {}).get("drg_plan")
    names = drg_names(registry, plan) if plan else {}
    note = None
    if not plan:
        note = "该 DIP 模拟没有按病组汇总（早于本功能），请重新模拟后再对比各病组"
    elif (other := drg_plan_of(session, drg)) != plan:
        note = f"DIP 侧按 {plan} 的分组汇总，DRG 模拟按 {other} 分组，同名病组口径可能不同"
    ungrouped = sum(r["cases"] for r in (dip_sim.summary or {}).get("by_drg") or [] if not r["drg"])
    if ungrouped:
        note = (note + "；" if note else "") + (
            f"DIP 模拟时有 {ungrouped} 例尚未按 {plan} 分组（列为“未分组”），"
            "可先分组（测算或批量分组）后重新模拟"
        )
    return compare_by_drg(dip_sim, drg, names), note


def _with_difference(frame: pl.DataFrame, labels: dict[str, str]) -> pl.DataFrame:
    """DIP − DRG (exact) and its share of the DRG payment; largest gain first."""
    diff = [
        None if d is None or g is None else d - g
        for d, g in frame.select("dip_payment", "drg_payment").iter_rows()
    ]
    change = [
        None if x is None or not g else round(float(x / g), 4)
        for x, g in zip(diff, frame["drg_payment"].to_list(), strict=True)
    ]
    return (
        frame.with_columns(
            pl.Series("difference", diff, dtype=MONEY),
            pl.Series("change", change, dtype=pl.Float64),
        )
        .select(list(labels))
        .sort("difference", descending=True, nulls_last=True)
    )


def compare_xlsx(frame: pl.DataFrame, by_drg: pl.DataFrame | None = None) -> bytes:
    levels = {"1": "一级", "2": "二级", "3": "三级"}
    sheets = {"各医院": labelled(frame, LABELS, {"hospital_level": levels})}
    if by_drg is not None:
        sheets["各病组"] = labelled(by_drg, DRG_LABELS)
    buf = io.BytesIO()
    write_xlsx(sheets, buf, autofit=True)
    return buf.getvalue()


@dataclass(frozen=True)
class Diff:
    added: list[dict[str, Any]]
    removed: list[dict[str, Any]]
    changed: list[dict[str, Any]]  # code, score before / after, cases before / after


def diff(session: Session, base: DipCatalogue, other: DipCatalogue) -> Diff:
    """Groups only in ``other`` (added), only in ``base`` (removed), and in both with
    another score or case count (changed)."""
    a = {r["code"]: r for r in groups_frame(session, base.id).to_dicts()}
    b = {r["code"]: r for r in groups_frame(session, other.id).to_dicts()}
    added = [b[c] for c in sorted(b.keys() - a.keys())]
    removed = [a[c] for c in sorted(a.keys() - b.keys())]
    changed = [
        {
            "code": c,
            "name": b[c]["name"],
            "score_before": a[c]["score"],
            "score_after": b[c]["score"],
            "cases_before": a[c]["cases"],
            "cases_after": b[c]["cases"],
        }
        for c in sorted(a.keys() & b.keys())
        if (a[c]["score"], a[c]["cases"]) != (b[c]["score"], b[c]["cases"])
    ]
    return Diff(added, removed, changed)
