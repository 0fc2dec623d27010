"""Chart statistics and paged tables of a measurement run's results.

Per year, what trimming did; the RW distribution of each MDC's DRGs; a DRG's case
costs per year in the run's case base against its trim fences (box statistics and
the trimmed cases); and one page of a result frame.
"""

from __future__ import annotations

from typing import Any

import polars as pl
from sqlalchemy import case, func, select
from sqlalchemy.orm import Session

from yibao.engines import measure as m
from yibao.kit.paging import Page
from yibao.measurement.frames import case_frame
from yibao.measurement.models import MeasurementRun, RunFence


def trim_by_year(session: Session, run_id: int) -> list[dict[str, Any]]:
    """Per year: DRGs, DRGs actually trimmed (enough cases), cases below / above / kept."""
    rows = session.execute(
        select(
            RunFence.year,
            func.count(),
            func.sum(case((RunFence.applied, 1), else_=0)),
            func.sum(RunFence.below),
            func.sum(RunFence.above),
            func.sum(RunFence.kept),
        )
        .where(RunFence.run_id == run_id)
        .group_by(RunFence.year)
        .order_by(RunFence.year)
    ).all()
    return [
        {
            "year": int(y),
            "drgs": int(n),
            "applied": int(a or 0),
            "below": int(lo or 0),
            "above": int(hi or 0),
            "kept": int(k or 0),
        }
        for y, n, a, lo, hi, k in rows
    ]


def box_stats(values: pl.Series) -> dict[str, float | None]:
    """min, Q1, median, Q3, max, mean (linear interpolation) of a numeric series."""
    v = values.drop_nulls().cast(pl.Float64)
    if v.len() == 0:
        return dict.fromkeys(("min", "q1", "median", "q3", "max", "mean"))
    row = pl.DataFrame({"v": v}).select(
        pl.col("v").min().alias("min"),
        pl.col("v").quantile(0.25, "linear").alias("q1"),
        pl.col("v").median().alias("median"),
        pl.col("v").quantile(0.75, "linear").alias("q3"),
        pl.col("v").max().alias("max"),
        pl.col("v").mean().alias("mean"),
    )
    return {k: float(x) if x is not None else None for k, x in row.row(0, named=True).items()}


def rw_by_mdc(weights: pl.DataFrame) -> list[dict[str, Any]]:
    """RW distribution of the DRGs of each MDC (DRGs without a weight left out)."""
    frame = weights.filter(pl.col("relative_weight").is_not_null())
    out = []
    for mdc in sorted(frame["mdc"].unique().to_list()):
        part = frame.filter(pl.col("mdc") == mdc)
        out.append({"mdc": mdc, "drgs": part.height, **box_stats(part["relative_weight"])})
    return out


def page_rows(frame: pl.DataFrame, page: int, size: int) -> Page[dict[str, Any]]:
    """One page of a frame as dicts (page clamped to the last page)."""
    total = frame.height
    pages = max(1, -(-total // size))
    page = min(max(1, page), pages)
    rows = frame.slice((page - 1) * size, size).to_dicts()
    return Page(rows, total, page, size)


def _drg_case_frame(session: Session, plan_id: str, years: list[int], drg: str) -> pl.DataFrame:
    """The measurement frame of one DRG's cases (:func:`case_frame` for one DRG)."""
    return case_frame(session, plan_id, years, drg=drg).select(list(m.MEASURE_CASES))


def drg_distribution(
    session: Session, run: MeasurementRun, drg: str, max_points: int = 400
) -> dict[str, Any]:
    """A DRG's case costs per year in the run's case base (after the exclusions) with
    the trim fences: box statistics, the fences and the trimmed cases (at most
    ``max_points`` per year, the most extreme first)."""
    frame = _drg_case_frame(session, run.plan_id, list(run.years), drg)
    rules = m.ExclusionRules.model_validate({**run.params["exclusions"], "years": run.years})
    kept = m.apply_exclusions(frame, rules).kept if frame.height else frame
    fences = {
        f.year: f
        for f in session.scalars(
            select(RunFence).where(RunFence.run_id == run.id, RunFence.drg == drg)
        )
    }
    years = []
    for year in run.years:
        costs = kept.filter(pl.col("year") == year)["total_cost"].cast(pl.Float64)
        fence = fences.get(year)
        lower = fence.lower if fence and fence.applied else None
        upper = fence.upper if fence and fence.applied else None
        out_low = costs.filter(costs < lower).sort() if lower is not None else costs[:0]
        out_high = (
            costs.filter(costs > upper).sort(descending=True) if upper is not None else costs[:0]
        )
        years.append(
            {
                "year": year,
                "cases": costs.len(),
                **box_stats(costs),
                "lower": lower,
                "upper": upper,
                "applied": bool(fence.applied) if fence else False,
                "below": fence.below if fence else 0,
                "above": fence.above if fence else 0,
                "kept": fence.kept if fence else 0,
                "trimmed_low": out_low[:max_points].to_list(),
                "trimmed_high": out_high[:max_points].to_list(),
            }
        )
    return {"drg": drg, "years": years}
