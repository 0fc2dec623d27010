"""Build the measurement case frame from the database (cases + stored groupings)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date

import polars as pl
from sqlalchemy import select
from sqlalchemy.orm import Session

from yibao.audit.service import Actor
from yibao.cases.models import Case
from yibao.cases.repository import CaseFilter
from yibao.engines.caseframe import MONEY
from yibao.engines.grouper import PlanRegistry
from yibao.engines.measure import MEASURE_CASES
from yibao.grouping.models import CaseGrouping
from yibao.grouping.service import do_group_stored_cases
from yibao.regions.models import Hospital

Progress = Callable[[int, int], None]


def regroup_years(
    session: Session,
    registry: PlanRegistry,
    plan_id: str,
    years: list[int],
    actor: Actor,
    progress: Progress | None = None,
) -> int:
    """Group every case of ``years`` in the session's scope under ``plan_id`` (stored)."""
    grouped = 0
    for year in years:
        summary = do_group_stored_cases(
            session,
            registry,
            flt=CaseFilter(year=year),
            plan_id=plan_id,
            actor=actor,
            progress=progress,
        )
        grouped += int(summary.get("grouped", 0))
    return grouped


#: case columns beyond the measurement frame that a simulation by benefit policy reads
POLICY_COLUMNS: dict[str, pl.DataType | type[pl.DataType]] = {
    "insured_region_code": pl.String,
    "region_code": pl.String,
    "insutype": pl.String,
    "self_pay_full": MONEY,
    "self_pay_first": MONEY,
}


def case_frame(
    session: Session, plan_id: str, years: list[int], *, drg: str | None = None
) -> pl.DataFrame:
    """One row per case of ``years`` (session scope) with its stored grouping under
    ``plan_id``, in the columns of :data:`yibao.engines.measure.MEASURE_CASES` and the
    policy inputs a simulation by benefit policy reads (:data:`POLICY_COLUMNS`).

    Cases never grouped under the plan get null grouping columns, which the
    exclusion step reports as missing fields.  With ``drg``: only the cases grouped
    into that DRG under the plan (a DRG's page).
    """
    lo, hi = date(min(years), 1, 1), date(max(years), 12, 31)
    stmt = (
        select(
            Case.setl_id,
            Case.discharge_date,
            Case.hospital_code,
            Hospital.level,
            Case.discharge_dept,
            CaseGrouping.status,
            CaseGrouping.mdc,
            CaseGrouping.adrg,
            CaseGrouping.drg,
            Case.los_days,
            Case.discharge_way,
            Case.total_cost,
            Case.fund_payment,
            Case.insured_region_code,
            Case.region_code,
            Case.insutype,
            Case.self_pay_full,
            Case.self_pay_first,
        )
        .join(Hospital, Hospital.id == Case.hospital_id)
        .where(Case.discharge_date >= lo, Case.discharge_date <= hi)
        .order_by(Case.setl_id)
    )
    grouped = (CaseGrouping.case_id == Case.id) & (CaseGrouping.plan_id == plan_id)
    if drg is None:
        stmt = stmt.outerjoin(CaseGrouping, grouped)
    else:
        stmt = stmt.join(CaseGrouping, grouped).where(CaseGrouping.drg == drg)
    rows = session.execute(stmt).all()
    names = [
        "setl_id", "discharge_date", "hospital_code", "hospital_level", "discharge_dept",
        "status", "mdc", "adrg", "drg", "los_days", "discharge_way", "total_cost",
        "fund_payment", *POLICY_COLUMNS,
    ]  # fmt: skip
    raw = pl.DataFrame(
        [tuple(r) for r in rows], schema=names, orient="row", infer_schema_length=None
    )
    schema = MEASURE_CASES | {"discharge_date": pl.Date} | POLICY_COLUMNS
    if raw.height == 0:
        return pl.DataFrame(schema=schema)
    frame = raw.with_columns(pl.col("discharge_date").dt.year().cast(pl.Int32).alias("year"))
    frame = frame.filter(pl.col("year").is_in(years))
    return frame.select([pl.col(c).cast(t) for c, t in schema.items()])
