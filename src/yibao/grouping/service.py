"""Grouping operations on single cases (with trace) and on stored cases.

Nothing here commits.  Engine errors become :class:`~yibao.kit.errors.DomainError`
with the engine's Chinese message (unknown plan → 404).  Case files: :mod:`.files`.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import polars as pl
from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from yibao.audit.service import Actor, record
from yibao.cases.models import Case, CaseDiagnosis, CaseProcedure
from yibao.cases.repository import CaseFilter
from yibao.db.bulk import insert_frame
from yibao.engines.caseframe import to_grouper_input
from yibao.engines.grouper import GroupResult, PlanInfo, PlanRegistry, group_batch, group_one
from yibao.grouping.models import CaseGrouping
from yibao.grouping.plans import (
    STATUS_LABELS,
    choose_plan,
    compiled_plan,
    plan_info,
)
from yibao.grouping.region_plans import plan_chooser, region_plan_id, with_plan_ids
from yibao.grouping.schemas import CaseInput
from yibao.kit.timeutil import utcnow

REGROUP_KIND = "grouping.regroup"
STORED_CHUNK_ROWS = 20_000
ID_BATCH = 5_000


# -- single case ---------------------------------------------------------------------


@dataclass(frozen=True)
class SingleResult:
    plan: PlanInfo
    reason: str
    result: GroupResult
    case: CaseInput

    @property
    def status_label(self) -> str:
        return STATUS_LABELS.get(self.result.status, self.result.status)


def group_case_input(
    registry: PlanRegistry,
    case: CaseInput,
    plan_id: str | None = None,
    *,
    session: Session | None = None,
    region_code: str | None = None,
) -> SingleResult:
    """Group one case with its trace; plan by id, else the plan ``region_code`` pays
    by on the discharge date (with a ``session``), else by date, else default."""
    own = None
    if session is not None and case.discharge_date is not None:
        own = region_plan_id(session, region_code, case.discharge_date)
    info, reason = choose_plan(registry, plan_id or case.plan, case.discharge_date, own)
    result = group_one(compiled_plan(registry, info), case.to_engine(), trace=True)
    return SingleResult(info, reason, result, case)


def result_payload(single: SingleResult) -> dict[str, Any]:
    """The JSON body of a single-case result (``schemas.GroupOut``)."""
    r = single.result
    return {
        "case_id": single.case.case_id,
        "plan_id": single.plan.id,
        "plan_version": single.plan.meta.version,
        "plan_checksum": single.plan.checksum,
        "plan_title": single.plan.meta.title,
        "plan_reason": single.reason,
        "status": r.status,
        "status_label": single.status_label,
        "mdc": r.mdc,
        "adrg": r.adrg,
        "drg": r.drg,
        "drg_name": r.drg_name,
        "message": r.message,
        "trace": [
            {"code": s.code, "ok": s.ok, "text": s.text, "data": dict(s.data)}
            for s in (r.trace or ())
        ],
    }


def case_input_of(case: Case, plan: str | None = None) -> CaseInput:
    """The grouper input of a stored case (the columns of ``caseframe.to_grouper_input``)."""
    return CaseInput(
        case_id=case.setl_id,
        sex=case.sex,
        age_years=case.age_years,
        age_days=case.age_days,
        birth_weight_g=case.birth_weight_g,
        dept=case.discharge_dept,
        los_days=case.los_days,
        icu_hours=case.icu_hours,
        discharge_type=case.discharge_way,
        discharge_date=case.discharge_date,
        diagnoses=tuple(d.code for d in case.diagnoses),
        procedures=tuple(p.code for p in case.procedures),
        plan=plan,
    )


def stored_groupings(session: Session, case_id: int) -> list[CaseGrouping]:
    """Stored results of one case (scoped like the case), newest plan first."""
    stmt = select(CaseGrouping).where(CaseGrouping.case_id == case_id)
    return list(session.scalars(stmt.order_by(CaseGrouping.plan_id.desc())))


# -- stored cases --------------------------------------------------------------------

_CASE_COLUMNS: dict[str, Any] = {
    "id": pl.Int64,
    "sex": pl.String,
    "age_years": pl.Int64,
    "age_days": pl.Int64,
    "birth_weight_g": pl.Int64,
    "discharge_dept": pl.String,
    "los_days": pl.Int64,
    "icu_hours": pl.Int64,  # regional plans read it (foshan-2022's ICU groups)
    "discharge_way": pl.String,
    "hospital_id": pl.Int64,
    "region_code": pl.String,
    "discharge_date": pl.Date,
}
_CODE_COLUMNS: dict[str, Any] = {"case_id": pl.Int64, "seq": pl.Int64, "code": pl.String}


def status_counts(df: pl.DataFrame) -> dict[str, int]:
    counts = df.group_by("status").len().sort("status")
    return {str(s): int(n) for s, n in counts.iter_rows()}


def _frame(rows: list[Any], schema: dict[str, Any]) -> pl.DataFrame:
    return pl.DataFrame([tuple(r) for r in rows], schema=schema, orient="row")


def _case_chunks(
    session: Session, flt: CaseFilter, case_ids: list[int] | None, chunk_rows: int
) -> Iterator[tuple[pl.DataFrame, list[Any]]]:
    """Chunks of selected cases (in scope), with the conditions that select them again."""
    cols = [getattr(Case, c) for c in _CASE_COLUMNS]
    if case_ids is not None:
        ids = sorted(set(case_ids))
        for start in range(0, len(ids), ID_BATCH):
            cond = [Case.id.in_(ids[start : start + ID_BATCH])]
            rows = session.execute(flt.apply(select(*cols)).where(*cond).order_by(Case.id)).all()
            if rows:
                yield _frame(list(rows), _CASE_COLUMNS), cond
        return
    last = 0
    while True:
        stmt = flt.apply(select(*cols)).where(Case.id > last).order_by(Case.id).limit(chunk_rows)
        rows = session.execute(stmt).all()
        if not rows:
            return
        first, last = rows[0][0], rows[-1][0]
        yield _frame(list(rows), _CASE_COLUMNS), [Case.id.between(first, last)]


def _codes(
    session: Session,
    model: type[CaseDiagnosis] | type[CaseProcedure],
    flt: CaseFilter,
    cond: list[Any],
) -> pl.DataFrame:
    base: Any = (
        select(model.case_id, model.seq, model.code)
        .join(Case, Case.id == model.case_id)
        .where(*cond)
    )
    stmt = flt.apply(base)
    df = _frame(list(session.execute(stmt).all()), _CODE_COLUMNS)
    return df.select(pl.col("case_id").cast(pl.String).alias("setl_id"), "seq", "code")


def _grouper_frame(
    session: Session, cases: pl.DataFrame, flt: CaseFilter, cond: list[Any]
) -> pl.DataFrame:
    """Grouper input of a chunk (``caseframe.to_grouper_input``) plus id, scope, date."""
    keyed = cases.with_columns(pl.col("id").cast(pl.String).alias("setl_id"))
    frame = to_grouper_input(
        keyed,
        _codes(session, CaseDiagnosis, flt, cond),
        _codes(session, CaseProcedure, flt, cond),
    )
    meta = cases.select("id", "hospital_id", "region_code", "discharge_date")
    return frame.with_columns(pl.col("case_id").cast(pl.Int64).alias("id")).join(meta, on="id")


@dataclass
class StoredRun:
    """Counts of one run over stored cases (the audit row's ``after``)."""

    total: int = 0
    grouped: int = 0
    no_plan: int = 0
    plans: dict[str, dict[str, Any]] = field(default_factory=dict)
    by_status: dict[str, int] = field(default_factory=dict)

    def add(self, info: PlanInfo, counts: dict[str, int]) -> None:
        entry = self.plans.setdefault(
            info.id, {"version": info.meta.version, "cases": 0, "by_status": {}}
        )
        for status, n in counts.items():
            entry["cases"] += n
            entry["by_status"][status] = entry["by_status"].get(status, 0) + n
            self.by_status[status] = self.by_status.get(status, 0) + n
            self.grouped += n

    def as_dict(self) -> dict[str, Any]:
        return {
            "total": self.total,
            "grouped": self.grouped,
            "no_plan": self.no_plan,
            "by_status": self.by_status,
            "plans": self.plans,
        }


def store_groupings(
    session: Session,
    info: PlanInfo,
    grouped: pl.DataFrame,
    grouped_at: Any,
    *,
    new_cases: bool = False,
) -> None:
    """Delete then insert the (case, plan) results of ``grouped`` (same transaction).

    ``grouped``: ``group_batch`` output with the case's ``id``, ``hospital_id`` and
    ``region_code`` columns.  ``new_cases``: the cases were inserted in this
    transaction, so they have no earlier results to delete.
    """
    ids = [] if new_cases else grouped["id"].to_list()
    for start in range(0, len(ids), ID_BATCH):
        session.execute(
            delete(CaseGrouping)
            .where(
                CaseGrouping.plan_id == info.id,
                CaseGrouping.case_id.in_(ids[start : start + ID_BATCH]),
            )
            .execution_options(synchronize_session=False)
        )
    rows = grouped.select(
        pl.col("id").alias("case_id"),
        "hospital_id",
        "region_code",
        pl.lit(info.id).alias("plan_id"),
        pl.lit(info.meta.version).alias("plan_version"),
        pl.lit(info.checksum).alias("plan_checksum"),
        "status",
        "mdc",
        "adrg",
        "drg",
        "drg_name",
        pl.lit(grouped_at).alias("grouped_at"),
    )
    insert_frame(session, CaseGrouping.__table__, rows)


# long: read, group and store in one pass per plan, within one transaction
def do_group_stored_cases(
    session: Session,
    registry: PlanRegistry,
    *,
    flt: CaseFilter | None = None,
    case_ids: list[int] | None = None,
    plan_id: str | None = None,
    actor: Actor,
    progress: Callable[[int, int], None] | None = None,
    chunk_rows: int = STORED_CHUNK_ROWS,
) -> dict[str, Any]:
    """Group stored cases in the session's scope and store one current result per
    (case, plan) in ``case_groupings``; write one audit row for the run.

    ``plan_id`` None picks each case's plan by its region and discharge date (the
    region's own plan, ADR 0039, else the national one; cases on a date without a valid
    plan are counted as ``no_plan``).  Batch grouping (Polars) per chunk of
    ``chunk_rows`` cases; results replace earlier ones of the same plan.
    """
    flt = flt or CaseFilter()
    fixed = plan_info(registry, plan_id) if plan_id else None
    run = StoredRun()
    count = flt.apply(select(func.count(Case.id)))
    if case_ids is not None:
        ids = sorted(set(case_ids))
        run.total = sum(
            session.scalar(count.where(Case.id.in_(ids[s : s + ID_BATCH]))) or 0
            for s in range(0, len(ids), ID_BATCH)
        )
    else:
        run.total = session.scalar(count) or 0
    done = 0
    if progress:
        progress(0, run.total)
    grouped_at = utcnow()
    choose = plan_chooser(session, registry)  # the region's plan, else the national one
    for cases, cond in _case_chunks(session, flt, case_ids, chunk_rows):
        frame = _grouper_frame(session, cases, flt, cond)
        if fixed is not None:
            parts = [(fixed, frame)]
        else:
            frame = with_plan_ids(frame, choose)
            run.no_plan += frame["plan_id"].null_count()
            parts = [
                (plan_info(registry, pid), frame.filter(pl.col("plan_id") == pid))
                for pid in sorted(frame["plan_id"].drop_nulls().unique().to_list())
            ]
        for info, part in parts:
            grouped = group_batch(compiled_plan(registry, info), part)
            store_groupings(session, info, grouped, grouped_at)
            run.add(info, status_counts(grouped))
        done += cases.height
        if progress:
            progress(done, run.total)
    summary = run.as_dict()
    summary["filter"] = {
        "plan": plan_id,
        "year": flt.year,
        "hospital": flt.hospital_code,
        "case_ids": len(case_ids) if case_ids is not None else None,
    }
    record(
        session, actor, "grouping.regroup", "case_groupings", plan_id or "by_date", after=summary
    )
    return summary


def stored_case_frames(
    session: Session, flt: CaseFilter, chunk_rows: int = STORED_CHUNK_ROWS
) -> Iterator[pl.DataFrame]:
    """Grouper input of the stored cases in scope (``flt``), a chunk at a time, with
    ``id``, ``hospital_id``, ``region_code`` and ``discharge_date`` (ordered by id)."""
    for cases, cond in _case_chunks(session, flt, None, chunk_rows):
        yield _grouper_frame(session, cases, flt, cond)
