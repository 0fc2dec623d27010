"""Builders for small hand-made measurement frames (keyword overrides per row)."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import polars as pl

from yibao.engines.measure import MEASURE_CASES

_DEFAULTS: dict[str, Any] = {
    "year": 2024,
    "hospital_code": "H1",
    "hospital_level": "3",
    "discharge_dept": "03",
    "status": "ok",
    "mdc": "MDCA",
    "adrg": "AA1",
    "drg": "AA19",
    "los_days": 5,
    "discharge_way": "1",
    "total_cost": "100.00",
    "fund_payment": None,
}


def _money(value: Any) -> Decimal | None:
    return None if value is None else Decimal(str(value)).quantize(Decimal("0.01"))


def make_cases(*rows: dict[str, Any], **common: Any) -> pl.DataFrame:
    """One case per row dict; unset columns take ``common`` then the defaults.

    ``setl_id`` defaults to ``S0001``, ``S0002``, … in row order; money may be
    given as str, int or Decimal yuan.
    """
    records = []
    for i, row in enumerate(rows, start=1):
        record = {**_DEFAULTS, "setl_id": f"S{i:04d}", **common, **row}
        record["total_cost"] = _money(record["total_cost"])
        record["fund_payment"] = _money(record["fund_payment"])
        records.append({c: record[c] for c in MEASURE_CASES})
    return pl.DataFrame(records, schema=MEASURE_CASES, orient="row")


def repeat(count: int, **row: Any) -> list[dict[str, Any]]:
    """``count`` identical row dicts."""
    return [dict(row) for _ in range(count)]


def make_weights(*rows: tuple[str, str, str, str, int]) -> pl.DataFrame:
    """Weights frame from (mdc, adrg, drg, relative_weight, volume) tuples."""
    return pl.DataFrame(
        {
            "mdc": [r[0] for r in rows],
            "adrg": [r[1] for r in rows],
            "drg": [r[2] for r in rows],
            "relative_weight": [Decimal(r[3]) for r in rows],
            "volume": [r[4] for r in rows],
            "rw_source": ["drg"] * len(rows),
            "needs_review": [False] * len(rows),
        },
        schema={
            "mdc": pl.String,
            "adrg": pl.String,
            "drg": pl.String,
            "relative_weight": pl.Decimal(18, 4),
            "volume": pl.Int64,
            "rw_source": pl.String,
            "needs_review": pl.Boolean,
        },
    )
