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
from yibao.kit.errors import NotFound, ValidationFailed
from yibao.kit.exports import labelled, write_xlsx
from yibao.measurement.models import Simulation

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
    diff = [
        None if d is None or g is None else d - g
        for d, g in out.select("dip_payment", "drg_payment").iter_rows()
    ]
    change = [
        None if x is None or not g else round(float(x / g), 4)
        for x, g in zip(diff, out["drg_payment"].to_list(), strict=True)
    ]
    return (
        out.with_columns(
            pl.Series("difference", diff, dtype=MONEY),
            pl.Series("change", change, dtype=pl.Float64),
        )
        .select(list(LABELS))
        .sort("difference", descending=True, nulls_last=True)
    )


def compare_xlsx(frame: pl.DataFrame) -> bytes:
    levels = {"1": "一级", "2": "二级", "3": "三级"}
    buf = io.BytesIO()
    write_xlsx(
        {"DRG与DIP对比": labelled(frame, LABELS, {"hospital_level": levels})}, buf, autofit=True
    )
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
