"""Measurement base runs (基础测算): create a run, execute it, read its weights.

A run's parameters are validated when it is created (exclusions, trimming, weights);
:func:`start_run` creates it and submits its job, which
(:mod:`yibao.measurement.tasks`) executes the run on the case
frame of its years: exclusions, trimming, relative weights and the quality report,
whose weights and trim fences are stored and whose summary is kept on the run.  While
its job is queued or running, or after it failed, the analyst sees the job's status
(:func:`run_state`).
"""

from __future__ import annotations

import dataclasses
import json
from typing import Any

import polars as pl
from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from yibao.audit.service import Actor, record
from yibao.db.bulk import insert_frame
from yibao.engines import measure as m
from yibao.engines.grouper import PlanRegistry
from yibao.grouping.plans import plan_info
from yibao.jobs.models import Job
from yibao.jobs.runner import JobRunner
from yibao.jobs.service import do_submit_job
from yibao.kit.errors import ValidationFailed
from yibao.kit.timeutil import utcnow
from yibao.measurement.models import STATUS_LABELS, MeasurementRun, RunFence, RunWeight
from yibao.measurement.service.common import _jsonable, year_has_cases

RUN_KIND = "measurement.run"


def parse_run_params(data: dict[str, Any]) -> dict[str, Any]:
    """Validate the three parameter blocks of a run; returns them as JSON-safe dicts."""
    out = {
        "exclusions": m.parse_params(m.ExclusionRules, data.get("exclusions") or {}),
        "trim": m.parse_params(m.TrimParams, data.get("trim") or {}),
        "weights": m.parse_params(m.WeightParams, data.get("weights") or {}),
    }
    return {k: v.model_dump(mode="json") for k, v in out.items()}


def do_create_run(
    session: Session,
    *,
    region_code: str,
    name: str,
    plan_id: str,
    plan_version: str | None,
    years: list[int],
    params: dict[str, Any],
    actor: Actor,
) -> MeasurementRun:
    if not name.strip():
        raise ValidationFailed("name：测算名称不能为空", field="name")
    if not years or len(set(years)) != len(years) or any(y < 1990 or y > 2100 for y in years):
        raise ValidationFailed("years：历史年度须为不重复的四位年份，至少一个", field="years")
    years = sorted(years)
    clean = parse_run_params(params)
    weights = clean["weights"]
    if len(weights["year_weights"]) != len(years) and weights.get("years") is None:
        raise ValidationFailed(
            f"weights.year_weights：年度 {len(years)} 个，年度权重 "
            f"{len(weights['year_weights'])} 个，须一一对应（从早到晚）",
            field="weights.year_weights",
        )
    for year in years:  # a year without cases fails the job: said now, nothing queued
        year_has_cases(session, region_code, year, "years")
    run = MeasurementRun(
        region_code=region_code,
        name=name.strip(),
        plan_id=plan_id,
        plan_version=plan_version,
        years=years,
        params=clean,
        status="queued",
        created_by=actor.name,
    )
    session.add(run)
    session.flush()
    record(
        session,
        actor,
        "measurement.run.create",
        "measurement_run",
        run.id,
        after={"name": run.name, "plan_id": plan_id, "years": years, "params": clean},
    )
    return run


def start_run(
    session: Session,
    runner: JobRunner,
    registry: PlanRegistry,
    *,
    region_code: str,
    name: str,
    plan_id: str,
    years: list[int],
    params: dict[str, Any],
    actor: Actor,
) -> tuple[MeasurementRun, Job]:
    """Create a run and submit its job (as ``POST /api/measurement/runs``)."""
    info = plan_info(registry, plan_id)
    run = do_create_run(
        session,
        region_code=region_code,
        name=name,
        plan_id=info.id,
        plan_version=info.meta.version,
        years=years,
        params=params,
        actor=actor,
    )
    job = do_submit_job(
        session,
        runner,
        kind=RUN_KIND,
        params={"run_id": run.id},
        actor=actor,
        message="排队中：DRG 测算",
    )
    run.job_id = job.id
    return run, job


def execute_run(session: Session, run: MeasurementRun, frame: pl.DataFrame) -> dict[str, Any]:
    """Exclusions → trimming → weights → quality on ``frame``; stores the results."""
    p = run.params
    rules = m.ExclusionRules.model_validate({**p["exclusions"], "years": tuple(run.years)})
    base = m.apply_exclusions(frame, rules)
    trim = m.trim_outliers(base.kept, m.TrimParams.model_validate(p["trim"]))
    wparams = m.WeightParams.model_validate({**p["weights"], "years": tuple(run.years)})
    weights = m.relative_weights(trim.kept, wparams)
    report = m.quality(trim.kept, weights, base)
    session.execute(delete(RunWeight).where(RunWeight.run_id == run.id))
    session.execute(delete(RunFence).where(RunFence.run_id == run.id))
    insert_frame(session, RunWeight.__table__, _weight_rows(run.id, weights, run.years))
    insert_frame(session, RunFence.__table__, _fence_rows(run.id, trim.fences))
    summary = {
        "cases": frame.height,
        "kept": base.kept.height,
        "excluded": base.excluded.height,
        "exclusions": _jsonable(base.summary.to_dicts()),
        "trimmed": trim.trimmed.height,
        "trimmed_low": int((trim.trimmed["trim_side"] == "low").sum())
        if trim.trimmed.height
        else 0,
        "trimmed_high": int((trim.trimmed["trim_side"] == "high").sum())
        if trim.trimmed.height
        else 0,
        "base_cases": trim.kept.height,
        "quality": _jsonable(_asdict(report)),
        "drgs": weights.height,
        "flagged": int(weights["needs_review"].sum()),
    }
    run.summary = summary
    run.status = "succeeded"
    run.error = None
    run.finished_at = utcnow()
    return summary


def _asdict(obj: Any) -> dict[str, Any]:
    if dataclasses.is_dataclass(obj):
        return dataclasses.asdict(obj)  # type: ignore[arg-type]
    return dict(obj._asdict())


def _weight_rows(run_id: int, weights: pl.DataFrame, years: list[int]) -> pl.DataFrame:
    year_cols = [f"n_{y}" for y in years if f"n_{y}" in weights.columns]
    year_json = [
        json.dumps({c[2:]: int(v or 0) for c, v in zip(year_cols, row, strict=True)})
        for row in weights.select(year_cols).iter_rows()
    ]
    return weights.select(
        pl.lit(run_id).alias("run_id"),
        "drg",
        "mdc",
        "adrg",
        "cases",
        "volume",
        pl.Series("year_cases", year_json, dtype=pl.String),
        "mean_cost",
        "cv",
        pl.col("relative_weight").cast(pl.Decimal(12, 4)),
        "rw_source",
        "needs_review",
        "note",
    )


def _fence_rows(run_id: int, fences: pl.DataFrame) -> pl.DataFrame:
    return fences.select(
        pl.lit(run_id).alias("run_id"),
        "drg",
        pl.col("year").cast(pl.Int64),
        pl.col("lower").cast(pl.Float64),
        pl.col("upper").cast(pl.Float64),
        "below",
        "above",
        "kept",
        "applied",
    )


def run_weights_frame(session: Session, run_id: int) -> pl.DataFrame:
    """The stored weights of a run as the engine's weights frame (``volume`` etc.)."""
    rows = session.execute(
        select(
            RunWeight.mdc, RunWeight.adrg, RunWeight.drg, RunWeight.cases, RunWeight.volume,
            RunWeight.mean_cost, RunWeight.cv, RunWeight.relative_weight, RunWeight.rw_source,
            RunWeight.needs_review, RunWeight.note,
        )
        .where(RunWeight.run_id == run_id)
        .order_by(RunWeight.drg)
    ).all()  # fmt: skip
    schema: dict[str, Any] = {
        "mdc": pl.String, "adrg": pl.String, "drg": pl.String, "cases": pl.Int64,
        "volume": pl.Int64, "mean_cost": pl.Decimal(18, 2), "cv": pl.Float64,
        "relative_weight": pl.Decimal(18, 4), "rw_source": pl.String,
        "needs_review": pl.Boolean, "note": pl.String,
    }  # fmt: skip
    return pl.DataFrame([tuple(r) for r in rows], schema=schema, orient="row")


@dataclasses.dataclass(frozen=True)
class RunState:
    """A run's status as the analyst sees it: the run's own, or its job's."""

    status: str
    label: str
    error: str | None
    job: Job | None

    @property
    def active(self) -> bool:
        return self.status in ("queued", "running")


def run_state(run: MeasurementRun, job: Job | None) -> RunState:
    status = run.status
    error = run.error
    if status != "succeeded" and job is not None:
        if job.status in ("queued", "running", "failed"):
            status = job.status
        if job.status == "failed":
            error = job.error or error
    return RunState(status, STATUS_LABELS.get(status, status), error, job)


def run_with_state(session: Session, run: MeasurementRun) -> RunState:
    job = session.get(Job, run.job_id) if run.job_id else None
    return run_state(run, job)
