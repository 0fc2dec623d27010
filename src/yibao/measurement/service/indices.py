"""Hospital indices (医院指标): CMI, consumption indices and low-risk mortality.

Per hospital (or per hospital and department), on one year's cases in a run's case
base, weighted by a weight plan.
"""

from __future__ import annotations

import polars as pl
from sqlalchemy.orm import Session

from yibao.audit.service import Actor
from yibao.engines import measure as m
from yibao.engines.grouper import PlanRegistry
from yibao.kit.errors import ValidationFailed
from yibao.measurement.frames import Progress
from yibao.measurement.models import MeasurementRun, WeightPlan
from yibao.measurement.service.weight_plans import weight_plan_frame
from yibao.measurement.service.year_frames import run_rules, year_frame


def indices_table(
    session: Session,
    registry: PlanRegistry,
    *,
    weight_plan: WeightPlan,
    run: MeasurementRun,
    year: int,
    by: str,
    actor: Actor,
    progress: Progress | None = None,
) -> pl.DataFrame:
    """CMI, consumption indices and low-risk mortality per hospital (or department)."""
    frame = year_frame(
        session,
        registry,
        run.plan_id,
        year,
        run_rules(run),
        actor,
        regroup=False,
        progress=progress,
    )
    if frame.height == 0:
        raise ValidationFailed(f"year：{year} 年没有可用病例", field="year")
    keys = ("hospital_code",) if by == "hospital" else ("hospital_code", "discharge_dept")
    return m.hospital_indices(frame, weight_plan_frame(session, weight_plan.id), by=keys)
