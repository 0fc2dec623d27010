"""The case frames the measurement operations work on, one year at a time.

One year's cases grouped under a plan (regrouped first, or only when some case of the
year has no result under the plan yet) and after a set of exclusion rules; the rules
a simulation pays by (only cases with missing fields stay out), a run's own rules and
its case base out of the paid cases, and the paid total a rate plan's budget covers.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import polars as pl
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from yibao.audit.service import Actor
from yibao.cases.models import Case
from yibao.engines import measure as m
from yibao.engines.grouper import PlanRegistry
from yibao.grouping.models import CaseGrouping
from yibao.measurement.frames import (
    Progress,
    case_frame,
    regroup_years,
)
from yibao.measurement.models import MeasurementRun

#: only cases with missing fields stay out of a simulation (as in the API)
SIMULATION_RULES = m.ExclusionRules(
    los_min_days=None,
    los_max_days=None,
    cost_floor=None,
    exclude_ungroupable=False,
    exclude_qy=False,
)


def year_frame(
    session: Session,
    registry: PlanRegistry,
    plan_id: str,
    year: int,
    rules: m.ExclusionRules,
    actor: Actor,
    *,
    regroup: bool = True,
    progress: Progress | None = None,
) -> pl.DataFrame:
    """One year's cases grouped under ``plan_id``, after ``rules`` (as the API does).

    ``regroup=False`` groups only when some case of the year has no result under the
    plan yet (for pages that only read).
    """
    if regroup or ungrouped_cases(session, plan_id, year):
        regroup_years(session, registry, plan_id, [year], actor, progress)
    frame = case_frame(session, plan_id, [year])
    if frame.height == 0:
        return frame
    return m.apply_exclusions(frame, rules.model_copy(update={"years": (year,)})).kept


def ungrouped_cases(session: Session, plan_id: str, year: int) -> int:
    """Cases of ``year`` without a result under ``plan_id`` (an anti-join: ``NOT IN`` a
    subquery of millions of ids made PostgreSQL search the list for every case)."""
    grouped = (
        select(CaseGrouping.id)
        .where(CaseGrouping.case_id == Case.id, CaseGrouping.plan_id == plan_id)
        .exists()
    )
    return int(
        session.scalar(
            select(func.count(Case.id)).where(
                Case.discharge_date >= date(year, 1, 1),
                Case.discharge_date <= date(year, 12, 31),
                ~grouped,
            )
        )
        or 0
    )


def run_rules(run: MeasurementRun) -> m.ExclusionRules:
    return m.ExclusionRules.model_validate(run.params["exclusions"])


def measured_cases(paid: pl.DataFrame, run: MeasurementRun, year: int) -> pl.DataFrame:
    """The year's case base of the run (its exclusions) out of the paid cases."""
    if paid.height == 0:
        return paid
    rules = run_rules(run).model_copy(update={"years": (year,)})
    return m.apply_exclusions(paid, rules).kept


def paid_total(paid: pl.DataFrame) -> Decimal | None:
    """Total cost of the cases a simulation pays: what the DRG budget covers (ADR 0011:
    LOS-excluded, ungroupable and QY cases are paid, by items, and counted)."""
    if paid.height == 0:
        return None
    total = paid.select(pl.col("total_cost").cast(pl.Decimal(18, 2)).sum()).item()
    return Decimal(total)
