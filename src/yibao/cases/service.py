"""Case figures for the home page, and Parquet export for batch work."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any

import polars as pl
import pyarrow.parquet as pq
from sqlalchemy import extract, func, select
from sqlalchemy.orm import Session

from yibao.cases.models import Case, CaseDiagnosis, CaseProcedure
from yibao.db.scoping import get_scope
from yibao.engines.caseframe import CASES, DIAGNOSES, PROCEDURES
from yibao.kit.cache import TTLCache
from yibao.regions.models import HOSPITAL_LEVELS, Hospital
from yibao.settlement.models import SettlementPeriod


@dataclass
class Overview:
    cases: int
    hospitals: int
    periods: int
    open_periods: int
    total_cost: Decimal
    avg_cost: Decimal
    avg_los: float
    by_year: list[tuple[int, int, Decimal]] = field(default_factory=list)
    by_month: list[tuple[str, int]] = field(default_factory=list)
    by_level: list[tuple[str, int]] = field(default_factory=list)
    by_insutype: list[tuple[str, int]] = field(default_factory=list)
    latest_periods: list[SettlementPeriod] = field(default_factory=list)


@dataclass(frozen=True)
class CaseFigures:
    cases: int
    hospitals: int
    total_cost: Decimal
    avg_los: float
    by_year: list[tuple[int, int, Decimal]]
    by_month: list[tuple[str, int]]
    by_level: list[tuple[str, int]]
    by_insutype: list[tuple[str, int]]


#: case aggregates per data scope (computed over every case of the region: cached)
_FIGURES: TTLCache[CaseFigures] = TTLCache()


def overview(
    session: Session,
    period_region_prefix: str | None,
    *,
    cache_s: float = 0,
    figures_of: Callable[[], CaseFigures] | None = None,
) -> Overview:
    """Figures from the database, within the session's scope.

    Settlement periods are kept per city; ``period_region_prefix`` selects the ones
    the viewer's region belongs to.  The case aggregates (a scan of every case in
    scope, or ``figures_of`` — the decision-analysis summaries, ADR 0037) may be up to
    ``cache_s`` seconds old; the periods are always current.
    """
    scope = get_scope(session)
    key = (scope.hospital_id, scope.region_code, scope.is_global) if scope else None
    figures = _FIGURES.get(key, cache_s, figures_of or (lambda: _case_figures(session)))
    pq_stmt = select(SettlementPeriod)
    if period_region_prefix:
        pq_stmt = pq_stmt.where(SettlementPeriod.region_code.startswith(period_region_prefix))
    periods = list(session.scalars(pq_stmt.order_by(SettlementPeriod.code.desc())))
    n, total = figures.cases, figures.total_cost
    return Overview(
        cases=n,
        hospitals=figures.hospitals,
        periods=len(periods),
        open_periods=sum(1 for p in periods if p.status == "open"),
        total_cost=total,
        avg_cost=(total / n).quantize(Decimal("0.01")) if n else Decimal(0),
        avg_los=figures.avg_los,
        by_year=figures.by_year,
        by_month=figures.by_month,
        by_level=figures.by_level,
        by_insutype=figures.by_insutype,
        latest_periods=periods[:6],
    )


def _case_figures(session: Session) -> CaseFigures:
    n, total, los = session.execute(
        select(
            func.count(Case.id),
            func.coalesce(func.sum(Case.total_cost), 0),
            func.avg(Case.los_days),
        )
    ).one()
    hospitals = session.scalar(select(func.count(Hospital.id))) or 0
    year = extract("year", Case.discharge_date)
    by_year = [
        (int(y), int(c), Decimal(s or 0))
        for y, c, s in session.execute(
            select(year, func.count(Case.id), func.sum(Case.total_cost))
            .group_by(year)
            .order_by(year)
        )
    ]
    by_month: list[tuple[str, int]] = []
    if by_year:
        last = by_year[-1][0]
        month = extract("month", Case.discharge_date)
        by_month = [
            (f"{last}-{int(m):02d}", int(c))
            for m, c in session.execute(
                select(month, func.count(Case.id))
                .where(year == last)
                .group_by(month)
                .order_by(month)
            )
        ]
    by_level = [
        (HOSPITAL_LEVELS.get(lv, lv), int(c))
        for lv, c in session.execute(
            select(Hospital.level, func.count(Case.id))
            .join(Case, Case.hospital_id == Hospital.id)
            .group_by(Hospital.level)
            .order_by(Hospital.level.desc())
        )
    ]
    by_insutype = [
        ({"310": "职工医保", "390": "居民医保"}.get(t, t), int(c))
        for t, c in session.execute(
            select(Case.insutype, func.count(Case.id))
            .group_by(Case.insutype)
            .order_by(Case.insutype)
        )
    ]
    return CaseFigures(
        cases=int(n or 0),
        hospitals=int(hospitals),
        total_cost=Decimal(total or 0),
        avg_los=float(los or 0),
        by_year=by_year,
        by_month=by_month,
        by_level=by_level,
        by_insutype=by_insutype,
    )


def _cast(df: pl.DataFrame, schema: dict[str, pl.DataType | type[pl.DataType]]) -> pl.DataFrame:
    exprs = []
    for name, dtype in schema.items():
        col = pl.col(name)
        if isinstance(dtype, pl.Datetime) and dtype.time_zone:
            src = df.schema[name]
            if isinstance(src, pl.Datetime) and src.time_zone is None:
                col = col.dt.replace_time_zone("UTC")
            exprs.append(col.dt.convert_time_zone(dtype.time_zone).dt.cast_time_unit("us"))
        else:
            exprs.append(col.cast(dtype))
    return df.select(exprs)


def export_parquet(
    session: Session,
    out_dir: Path,
    *,
    year: int | None = None,
    batch_rows: int = 200_000,
    progress: Callable[[int], None] | None = None,
) -> dict[str, int]:
    """Write cases / diagnoses / procedures of the caller's scope as Parquet files.

    The files have the columns and types of :mod:`yibao.engines.caseframe`.
    """
    out_dir.mkdir(parents=True, exist_ok=True)
    counts = {"cases": 0, "diagnoses": 0, "procedures": 0}
    writers: dict[str, pq.ParquetWriter] = {}
    case_cols = [Case.__table__.c[c] for c in CASES]
    conds = [extract("year", Case.discharge_date) == year] if year else []
    stmt = select(Case.id, *case_cols).where(*conds).order_by(Case.id)
    last_id = 0
    try:
        while True:
            rows = session.execute(stmt.where(Case.id > last_id).limit(batch_rows)).all()
            if not rows:
                break
            ids = [r[0] for r in rows]
            last_id = ids[-1]
            frames = {
                "cases": _cast(
                    pl.DataFrame([r[1:] for r in rows], schema=list(CASES), orient="row"), CASES
                ),
                "diagnoses": _children(
                    session,
                    CaseDiagnosis,
                    (ids[0], last_id, conds),
                    DIAGNOSES,
                    ["seq", "code", "is_principal"],
                ),
                "procedures": _children(
                    session,
                    CaseProcedure,
                    (ids[0], last_id, conds),
                    PROCEDURES,
                    ["seq", "code", "is_principal", "procedure_date"],
                ),
            }
            for name, frame in frames.items():
                table = frame.to_arrow()
                if name not in writers:
                    writers[name] = pq.ParquetWriter(out_dir / f"{name}.parquet", table.schema)
                writers[name].write_table(table)
                counts[name] += frame.height
            if progress:
                progress(len(rows))
    finally:
        for w in writers.values():
            w.close()
    for name, schema in (("cases", CASES), ("diagnoses", DIAGNOSES), ("procedures", PROCEDURES)):
        if name not in writers:
            pl.DataFrame(schema=schema).write_parquet(out_dir / f"{name}.parquet")
    return counts


def _children(
    session: Session,
    model: type[CaseDiagnosis] | type[CaseProcedure],
    id_range: tuple[int, int, list[Any]],
    schema: dict[str, pl.DataType | type[pl.DataType]],
    cols: list[str],
) -> pl.DataFrame:
    table = model.__table__
    lo, hi, conds = id_range
    rows = session.execute(
        select(Case.setl_id, *[table.c[c] for c in cols])
        .join(Case, Case.id == table.c.case_id)
        .where(table.c.case_id.between(lo, hi), *conds)
        .order_by(table.c.case_id, table.c.seq)
    ).all()
    df = pl.DataFrame([tuple(r) for r in rows], schema=["setl_id", *cols], orient="row")
    return _cast(df, schema)
