"""DIP simulations (issue 14 item 6): one year of the region's cases grouped against a
catalogue and paid by score × hospital coefficient × point value, per hospital.

:func:`start_simulation` checks the request and submits the ``dip.simulation`` job;
:func:`execute_simulation` (the job) groups the year's cases, applies the deviation
rule against each group's weighted mean cost, solves or takes the point value and
stores the hospitals' totals.  Without a point value or a budget the point value is
cost-neutral: the payments spend what the year's cases cost."""

from __future__ import annotations

import io
from datetime import date
from decimal import Decimal
from typing import Any

import polars as pl
from sqlalchemy import select
from sqlalchemy.orm import Session

from yibao.audit.service import Actor, record
from yibao.cases.models import Case
from yibao.db.bulk import insert_frame
from yibao.dip.auxiliary import (
    COUNT_LABELS,
    counts_frame,
    hospital_inputs,
    shown_inputs,
    year_counts,
)
from yibao.dip.models import DipCatalogue, DipGroup, DipSimulation, DipSimulationHospital
from yibao.dip.service import case_levels, case_tables, groups_frame, plan_dictionaries
from yibao.engines import dip
from yibao.engines.caseframe import MONEY
from yibao.engines.dip.addons import add_on_map, dynamic_add_ons
from yibao.engines.dip.catalogue import GROUP_COLUMNS
from yibao.engines.grouper import PlanRegistry
from yibao.engines.measure import parse_params
from yibao.engines.measure.frames import fen
from yibao.grouping.models import CaseGrouping
from yibao.jobs.models import Job
from yibao.jobs.runner import JobRunner
from yibao.jobs.service import do_submit_job
from yibao.kit.errors import Conflict, NotFound, ValidationFailed
from yibao.kit.exports import labelled, write_xlsx
from yibao.kit.timeutil import utcnow
from yibao.regions.models import region_prefix

SIM_KIND = "dip.simulation"
HOSPITAL_LABELS = {
    "hospital_code": "医疗机构编码",
    "hospital_level": "医院等级",
    "coefficient": "医疗机构系数",
    "cases": "病例数",
    "by_items": "按项目付费病例",
    "low": "费用超低病例",
    "high": "费用超高病例",
    "extreme": "极端异常（待专家评审）",
    "total_cost": "医疗总费用（元）",
    "total_score": "总分值",
    "payment": "DIP 支付（元）",
    "balance": "支付 − 费用（元）",
}


def start_simulation(
    session: Session,
    runner: JobRunner,
    catalogue: DipCatalogue,
    *,
    year: int,
    params: dict[str, Any],
    actor: Actor,
) -> tuple[DipSimulation, Job]:
    if catalogue.status not in ("draft", "published"):
        raise Conflict(f"DIP 目录 {catalogue.code} 第 {catalogue.version} 版尚未建立完成，不能模拟")
    if not 1990 <= year <= 2100:
        raise ValidationFailed(f"year：模拟年度须为四位年份（收到 {year}）", field="year")
    clean = parse_params(dip.PaymentParams, params).model_dump(mode="json")
    sim = DipSimulation(
        catalogue_id=catalogue.id,
        region_code=catalogue.region_code,
        year=year,
        params=clean,
        status="queued",
        created_by=actor.name,
    )
    session.add(sim)
    session.flush()
    record(
        session,
        actor,
        "dip.simulation.create",
        "dip_simulation",
        sim.id,
        after={"catalogue_id": catalogue.id, "year": year, "params": clean},
        region_code=catalogue.region_code,
    )
    job = do_submit_job(
        session,
        runner,
        kind=SIM_KIND,
        params={"simulation_id": sim.id},
        actor=actor,
        message=f"排队中：按 DIP 目录 {catalogue.code} 第 {catalogue.version} 版模拟 {year} 年",
    )
    sim.job_id = job.id
    return sim, job


def catalogue_of(session: Session, row: DipCatalogue, names: Any) -> dip.Catalogue:
    groups = groups_frame(session, row.id)
    frame = groups.with_columns(pl.col("mean_cost").cast(pl.Float64)).select(list(GROUP_COLUMNS))
    empty = pl.DataFrame(schema={"setl_id": pl.String, "code": pl.String, "primary": pl.Boolean})
    params = dip.CatalogueParams.model_validate(row.params["catalogue"])
    return dip.Catalogue(frame, names.proc_types, params, empty)


def _year_frame(
    session: Session, sim: DipSimulation, row: DipCatalogue, registry: PlanRegistry
) -> pl.DataFrame:
    """The year's cases grouped against the catalogue, with hospital, level, score and
    the group's weighted mean cost as the standard."""
    cparams = dip.CatalogueParams.model_validate(row.params["catalogue"])
    names = plan_dictionaries(registry, row.plan_id, cparams)
    catalogue = catalogue_of(session, row, names)
    cases, dx, px = case_tables(session, row.region_code, [sim.year])
    if cases.height == 0:
        raise ValidationFailed(f"{sim.year} 年没有本辖区的病例，无法模拟", field="year")
    combos = dip.case_combinations(cases, dx, px, names.proc_types, cparams)
    grouped = dip.group_cases(catalogue, combos)
    cases = grouped.join(
        case_levels(session, row.region_code, [sim.year]), on="setl_id", how="left"
    )
    return with_standards(session, row.id, cases).with_columns(pl.col("total_cost").cast(MONEY))


def with_standards(session: Session, catalogue_id: int, cases: pl.DataFrame) -> pl.DataFrame:
    """``score`` and ``standard_cost`` of each case's group: the group's mean cost at the
    case's hospital level in the newest history year (domain.md §2.4), or, where that
    level had no case of the group, the group's weighted mean over all levels."""
    rows = session.execute(
        select(DipGroup.code, DipGroup.score, DipGroup.mean_cost, DipGroup.level_costs).where(
            DipGroup.catalogue_id == catalogue_id
        )
    )
    score: dict[str, Decimal | None] = {}
    standard: dict[tuple[str, str], Decimal] = {}
    overall: dict[str, Decimal | None] = {}
    for code, value, mean, by_level in rows:
        score[code], overall[code] = value, mean
        for level, cost in (by_level or {}).items():
            standard[code, level] = Decimal(cost)
    scores: list[Decimal | None] = []
    standards: list[Decimal | None] = []
    for code, level in cases.select("dip_code", "hospital_level").iter_rows():
        scores.append(score.get(code) if code else None)
        standards.append(standard.get((code, level), overall.get(code)) if code else None)
    return cases.with_columns(
        pl.Series("score", scores, dtype=pl.Decimal(18, 2)),
        pl.Series("standard_cost", standards, dtype=MONEY),
    )


def execute_simulation(
    session: Session, sim: DipSimulation, registry: PlanRegistry
) -> dict[str, Any]:
    row = session.get(DipCatalogue, sim.catalogue_id)
    if row is None:
        raise NotFound(f"DIP 目录 {sim.catalogue_id} 不存在")
    params = dip.PaymentParams.model_validate(sim.params)
    frame = _year_frame(session, sim, row, registry)
    hospitals = frame.select(
        pl.col("hospital_code").alias("code"), pl.col("hospital_level").alias("level")
    ).unique()
    explicit = {k: Decimal(v) for k, v in params.add_ons.items()}
    dynamic = None
    if params.dynamic_add_ons:
        inputs = hospital_inputs(session, row, sim.year, frame)
        dynamic = inputs.join(dynamic_add_ons(inputs), on="code", how="left")
    coef = dip.coefficients(
        hospitals,
        {k: Decimal(v) for k, v in params.coefficients.items()},
        add_on_map(dynamic, explicit) if dynamic is not None else explicit,
    )
    total_cost = Decimal(frame["total_cost"].sum())
    if params.point_value is not None:
        point, basis = params.point_value, "given"
    else:
        trial = dip.case_payments(frame, coef, Decimal(1), params.deviation)
        basis = "budget" if params.budget is not None else "cost_neutral"
        point = dip.solve_point_value(trial, params.budget or total_cost)
    paid = dip.case_payments(frame, coef, point, params.deviation)
    _store_hospitals(session, sim.id, dip.hospital_summary(paid), dict(hospitals.iter_rows()), coef)
    payment = Decimal(paid["payment"].sum())
    summary = {
        "cases": paid.height,
        "core": int((paid["dip_kind"] == "core").sum()),
        "comprehensive": int((paid["dip_kind"] == "comprehensive").sum()),
        "by_items": int(paid["by_items"].sum()),
        "low": int((paid["deviation"] == "low").sum()),
        "high": int((paid["deviation"] == "high").sum()),
        "extreme": int(paid["extreme"].sum()),
        "total_cost": str(total_cost),
        "payment": str(payment),
        "balance": str(payment - total_cost),
        "basis": basis,
        "budget": str(params.budget) if params.budget is not None else None,
        "drg_plan": row.plan_id,
        "by_drg": _by_drg(session, row, sim.year, paid),
        "auxiliary": year_counts(session, row.region_code, sim.year, paid),
        "dynamic_add_ons": None if dynamic is None else _jsonable(shown_inputs(dynamic)),
    }
    sim.point_value = point
    sim.summary = summary
    sim.status = "succeeded"
    sim.error = None
    sim.finished_at = utcnow()
    return summary


def _by_drg(
    session: Session, row: DipCatalogue, year: int, paid: pl.DataFrame
) -> list[dict[str, Any]]:
    """The DIP payments summed per DRG of the cases (their stored grouping under the
    catalogue's plan; ``""`` when a case has none): the per-disease side of the
    DRG-vs-DIP comparison."""
    start, end = date(year, 1, 1), date(year, 12, 31)
    groupings = session.execute(
        select(CaseGrouping.case_id, CaseGrouping.drg)
        .join(Case, Case.id == CaseGrouping.case_id)
        .where(
            CaseGrouping.plan_id == row.plan_id,
            Case.region_code.startswith(region_prefix(row.region_code)),
            Case.discharge_date >= start,
            Case.discharge_date <= end,
        )
    )
    drgs = pl.DataFrame(
        [(str(i), d) for i, d in groupings],
        schema={"setl_id": pl.String, "drg": pl.String},
        orient="row",
    )
    sums = (
        paid.select("setl_id", fen("total_cost").alias("c"), fen("payment").alias("p"))
        .join(drgs, on="setl_id", how="left")
        .group_by(pl.col("drg").fill_null(""))
        .agg(pl.len().alias("cases"), pl.col("c").sum(), pl.col("p").sum())
        .sort("drg")
    )
    return [
        {
            "drg": d,
            "cases": int(n),
            "total_cost": str(Decimal(int(c)).scaleb(-2)),
            "payment": str(Decimal(int(p)).scaleb(-2)),
        }
        for d, n, c, p in sums.iter_rows()
    ]


def _jsonable(frame: pl.DataFrame) -> list[dict[str, Any]]:
    return [
        {k: (v if isinstance(v, str) else str(v)) for k, v in r.items()} for r in frame.to_dicts()
    ]


def _store_hospitals(
    session: Session,
    simulation_id: int,
    by_hospital: pl.DataFrame,
    levels: dict[str, str],
    coef: dict[str, Decimal],
) -> None:
    coefficients = {k: str(v) for k, v in coef.items()}
    insert_frame(
        session,
        DipSimulationHospital.__table__,
        by_hospital.with_columns(
            pl.lit(simulation_id).alias("simulation_id"),
            pl.col("hospital_code")
            .replace_strict(levels, return_dtype=pl.String)
            .alias("hospital_level"),
            pl.col("hospital_code")
            .replace_strict(coefficients, return_dtype=pl.String)
            .cast(pl.Decimal(18, 4))
            .alias("coefficient"),
            pl.col("total_score").fill_null(0),
        ),
    )


def get_simulation(session: Session, simulation_id: int, region: str) -> DipSimulation:
    sim = session.get(DipSimulation, simulation_id)
    if sim is None or not sim.region_code.startswith(region):
        raise NotFound(f"DIP 模拟 {simulation_id} 不存在 / not found")
    return sim


def simulations_of(session: Session, catalogue_id: int) -> list[DipSimulation]:
    return list(
        session.scalars(
            select(DipSimulation)
            .where(DipSimulation.catalogue_id == catalogue_id)
            .order_by(DipSimulation.id.desc())
        )
    )


def hospitals_frame(session: Session, simulation_id: int) -> pl.DataFrame:
    rows = session.scalars(
        select(DipSimulationHospital)
        .where(DipSimulationHospital.simulation_id == simulation_id)
        .order_by(DipSimulationHospital.hospital_code)
    )
    return pl.DataFrame(
        [{k: getattr(r, k) for k in HOSPITAL_LABELS} for r in rows],
        schema={
            "hospital_code": pl.String,
            "hospital_level": pl.String,
            "coefficient": pl.Decimal(18, 4),
            "cases": pl.Int64,
            "by_items": pl.Int64,
            "low": pl.Int64,
            "high": pl.Int64,
            "extreme": pl.Int64,
            "total_cost": MONEY,
            "total_score": pl.Decimal(18, 4),
            "payment": MONEY,
            "balance": MONEY,
        },
    )


def export_xlsx(session: Session, sim: DipSimulation) -> bytes:
    levels = {"1": "一级", "2": "二级", "3": "三级"}
    frame = hospitals_frame(session, sim.id)
    sheets = {"各医院": labelled(frame, HOSPITAL_LABELS, {"hospital_level": levels})}
    aux = counts_frame(sim.summary)
    if aux.height:
        sheets["辅助目录与监管指标"] = labelled(
            aux, {"hospital_code": "医疗机构编码", **COUNT_LABELS}
        )
    buf = io.BytesIO()
    write_xlsx(sheets, buf, autofit=True)
    return buf.getvalue()
