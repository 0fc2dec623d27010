"""The measurement case frame and the exact-arithmetic helpers shared by the steps.

Every step works on one row per inpatient case with the columns of
:data:`MEASURE_CASES` (a subset is enough: each function checks the columns it
needs).  :func:`prepare_cases` builds it from a case batch
(:mod:`yibao.engines.caseframe`), the grouper's result
(:func:`yibao.engines.grouper.group_batch`) and the hospital list.

Money stays exact: ``total_cost`` / ``fund_payment`` are ``Decimal(18, 2)``; the
steps read them as integer fen (the Decimal's physical integer, no float step),
sum fen as integers and return ``Decimal(18, 2)``.  Floats are used only inside
statistics (quantiles, SD, CV, RIV, indices).
"""

from __future__ import annotations

from collections.abc import Iterable
from decimal import ROUND_HALF_UP, Decimal
from fractions import Fraction
from typing import Final

import polars as pl

from yibao.engines.caseframe import MONEY
from yibao.engines.measure.errors import MeasureError

#: Columns of the measurement case frame.
MEASURE_CASES: Final[dict[str, pl.DataType | type[pl.DataType]]] = {
    "setl_id": pl.String,
    "year": pl.Int32,  # year of discharge_date
    "hospital_code": pl.String,
    "hospital_level": pl.String,  # "1" / "2" / "3"
    "discharge_dept": pl.String,
    "status": pl.String,  # grouper status: ok, ambiguous_qy, ungroupable, ...
    "mdc": pl.String,
    "adrg": pl.String,
    "drg": pl.String,
    "los_days": pl.Int32,
    "discharge_way": pl.String,  # "5" = death
    "total_cost": MONEY,
    "fund_payment": MONEY,
}

_CASE_INPUT: Final = (
    "setl_id",
    "discharge_date",
    "hospital_code",
    "discharge_dept",
    "los_days",
    "discharge_way",
    "total_cost",
    "fund_payment",
)
DEATH: Final = "5"  # 离院方式 5 = 死亡
OK: Final = "ok"
QY: Final = "ambiguous_qy"

RW_PLACES: Final = 4


def require(frame: pl.DataFrame | pl.LazyFrame, columns: Iterable[str], where: str) -> None:
    """Raise :class:`MeasureError` naming the missing columns of ``frame``."""
    names = set(frame.collect_schema().names())
    missing = [c for c in columns if c not in names]
    if missing:
        raise MeasureError(f"{where}：输入缺少列 {'、'.join(missing)}", field=missing[0])


def fen(column: str) -> pl.Expr:
    """A money column as Int64 fen (exact: the physical integer of Decimal(18, 2))."""
    return pl.col(column).cast(MONEY).to_physical().cast(pl.Int64)


def yuan(column: str) -> pl.Expr:
    """A money column as Float64 yuan, for statistics only."""
    return fen(column).cast(pl.Float64) / 100.0


def money(expr: pl.Expr) -> pl.Expr:
    """Integer fen → exact ``Decimal(18, 2)`` yuan."""
    return (expr.cast(pl.Decimal(38, 0)) * pl.lit(Decimal("0.01"))).cast(MONEY)


def round_half_up(value: Fraction | Decimal | int, places: int) -> Decimal:
    """Round an exact value half up (四舍五入) to ``places`` decimals."""
    unit = Decimal(1).scaleb(-places)
    if isinstance(value, Fraction):
        scaled = abs(value) * 10**places
        whole = (2 * scaled.numerator + scaled.denominator) // (2 * scaled.denominator)
        return Decimal(-whole if value < 0 else whole).scaleb(-places).quantize(unit)
    return Decimal(value).quantize(unit, rounding=ROUND_HALF_UP)


def rw_units(column: str = "relative_weight") -> pl.Expr:
    """A 4-decimal weight column as Int64 units of 0.0001 (exact)."""
    return pl.col(column).cast(pl.Decimal(18, RW_PLACES)).to_physical().cast(pl.Int64)


def weight_dtype() -> pl.Decimal:
    """Polars type of relative weights: ``Decimal(18, 4)``."""
    return pl.Decimal(18, RW_PLACES)


def prepare_cases(
    cases: pl.DataFrame | pl.LazyFrame,
    grouped: pl.DataFrame | pl.LazyFrame,
    hospitals: pl.DataFrame,
) -> pl.DataFrame:
    """Join cases, grouping results and hospital levels into :data:`MEASURE_CASES`.

    ``cases`` has the :data:`yibao.engines.caseframe.CASES` columns (only those
    named in :data:`MEASURE_CASES` plus ``discharge_date`` are read); ``grouped`` is
    :func:`~yibao.engines.grouper.group_batch` output (``case_id`` = ``setl_id``,
    ``status``, ``mdc``, ``adrg``, ``drg``); ``hospitals`` has ``code`` and ``level``
    (the regions table / :class:`~yibao.engines.synth.Region`).  Cases without a
    grouping result or a known hospital get nulls, which
    :func:`~yibao.engines.measure.apply_exclusions` reports as missing fields.
    """
    require(cases, _CASE_INPUT, "prepare_cases(cases)")
    require(grouped, ("case_id", "status", "mdc", "adrg", "drg"), "prepare_cases(grouped)")
    require(hospitals, ("code", "level"), "prepare_cases(hospitals)")
    result = grouped.lazy().select(
        pl.col("case_id").alias("setl_id"), "status", "mdc", "adrg", "drg"
    )
    levels = hospitals.lazy().select(
        pl.col("code").alias("hospital_code"),
        pl.col("level").cast(pl.String).alias("hospital_level"),
    )
    frame = (
        cases.lazy()
        .select(
            "setl_id",
            pl.col("discharge_date").dt.year().cast(pl.Int32).alias("year"),
            "hospital_code",
            "discharge_dept",
            pl.col("los_days").cast(pl.Int32),
            "discharge_way",
            pl.col("total_cost").cast(MONEY),
            pl.col("fund_payment").cast(MONEY),
        )
        .join(result, on="setl_id", how="left", maintain_order="left")
        .join(levels, on="hospital_code", how="left", maintain_order="left")
        .select(list(MEASURE_CASES))
        .collect()
    )
    return frame
