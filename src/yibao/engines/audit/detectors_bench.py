"""Timing of the DRG post-audit detectors on synthetic cases (the command-line bench
``yibao bench post-audit`` calls it next to ``bench.batch_lines_s``).

>>> post_audit_s(cases=200_000)        # seconds for the detectors      # doctest: +SKIP
"""

from __future__ import annotations

import time
from datetime import date
from typing import Final

import numpy as np
import polars as pl

from yibao.engines.audit.detectors import post_audit
from yibao.engines.audit.detectors_params import DetectorParams

START: Final = date(2024, 1, 1)


def synthetic_cases(
    cases: int, hospitals: int = 60, months: int = 7, seed: int = 1
) -> pl.DataFrame:
    """``cases`` inpatient cases over ``months`` months from 2024-01 at ``hospitals``
    hospitals (levels 1–3), persons drawn so ~10 % come back, RW log-normal, 5 % low
    and 4 % high multiplier, self-pay ~8 % of cost."""
    rng = np.random.default_rng(seed)
    n = cases
    hosp = rng.integers(0, hospitals, n)
    adm = rng.integers(0, months * 30, n)
    los = rng.integers(1, 15, n)
    suffix = rng.choice(np.array(["1", "3", "5"]), n, p=[0.1, 0.25, 0.65])
    mdc = rng.integers(0, 26, n)
    adrg = np.char.add(
        np.array([chr(65 + i) for i in range(26)])[mdc], rng.integers(10, 40, n).astype(str)
    )
    cost = np.round(rng.lognormal(9.3, 0.5, n), 2)
    mult = rng.choice(np.array(["normal", "low", "high"]), n, p=[0.91, 0.05, 0.04])
    frame = pl.DataFrame(
        {
            "setl_id": [f"S{i:09d}" for i in range(n)],
            "psn_no": [f"P{i:08d}" for i in rng.integers(0, int(n * 0.9), n)],
            "hospital_code": [f"H{h:04d}" for h in hosp],
            "hospital_level": (hosp % 3 + 1).astype(str),
            "insutype": rng.choice(np.array(["310", "390"]), n),
            "admission_day": adm,
            "los_days": los,
            "total_cost": cost,
            "self_pay_full": np.round(cost * rng.beta(1, 14, n), 2),
            "self_pay_first": np.round(cost * 0.02, 2),
            "mdc": np.array([f"MDC{chr(65 + i)}" for i in range(26)])[mdc],
            "adrg": adrg,
            "drg": np.char.add(adrg, suffix),
            "has_cc": suffix == "3",
            "has_mcc": suffix == "1",
            "rw": np.round(rng.lognormal(0.0, 0.45, n), 4),
            "multiplier": mult,
            "principal_dx": np.char.add("I", rng.integers(10, 99, n).astype(str)),
        }
    )
    return frame.with_columns(
        (pl.lit(START) + pl.duration(days=pl.col("admission_day"))).alias("admission_date"),
        (pl.lit(START) + pl.duration(days=pl.col("admission_day") + pl.col("los_days"))).alias(
            "discharge_date"
        ),
        pl.col("total_cost", "self_pay_full", "self_pay_first").cast(pl.Decimal(18, 2)),
    ).drop("admission_day")


def synthetic_outpatient(cases: pl.DataFrame, visits: int, seed: int = 2) -> pl.DataFrame:
    """``visits`` outpatient settlements of the cases' persons at their hospitals,
    within a few weeks of their stays."""
    rng = np.random.default_rng(seed)
    rows = pl.Series(rng.integers(0, cases.height, visits))
    pick = cases.select("psn_no", "hospital_code", "admission_date").select(pl.all().gather(rows))
    offset = pl.Series("offset", rng.integers(-20, 30, visits))
    amount = pl.Series("amount", np.round(rng.lognormal(5.5, 1.0, visits), 2))
    out: pl.DataFrame = pick.with_columns(offset, amount.cast(pl.Decimal(18, 2))).select(
        "psn_no",
        "hospital_code",
        (pl.col("admission_date") + pl.duration(days=pl.col("offset"))).alias("visit_date"),
        "amount",
    )
    return out


def post_audit_s(
    cases: int = 200_000,
    hospitals: int = 60,
    months: int = 7,
    outpatient: bool = True,
    seed: int = 1,
) -> float:
    """Seconds :func:`post_audit` takes on ``cases`` synthetic cases with ``cases``
    outpatient visits: the last full month (``months``) audited, the earlier ones
    history (``months`` ≤ 12)."""
    frame = synthetic_cases(cases, hospitals, months, seed)
    visits = synthetic_outpatient(frame, cases, seed + 1) if outpatient else None
    started = time.perf_counter()
    post_audit(frame, visits, DetectorParams(months=(f"{START.year}-{months:02d}",)))
    return time.perf_counter() - started
