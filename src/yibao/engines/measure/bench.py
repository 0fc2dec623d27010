"""Measurement benchmark (``yibao bench measure``): group + weights + rates + simulation.

Three years of synthetic cases (:mod:`yibao.engines.synth`) are generated into a
data directory when absent (not timed); then each stage is timed on all of them:
read Parquet, load the plan, group (``to_grouper_input`` + ``group_batch``), prepare
the measurement frame, exclusions, trimming, weights (+ quality), rates (volume,
rates, payment standards), one simulation of the newest year, solving the rate for
the budget and the hospital indices.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from decimal import Decimal
from pathlib import Path
from typing import Any, Final

import polars as pl

from yibao.engines.caseframe import to_grouper_input
from yibao.engines.grouper import PACKAGE_PLANS_DIR, PlanRegistry, group_batch
from yibao.engines.measure.base import apply_exclusions
from yibao.engines.measure.frames import prepare_cases
from yibao.engines.measure.indices import hospital_indices
from yibao.engines.measure.params import RateParams
from yibao.engines.measure.rates import compute_rates, expected_volume, payment_standards
from yibao.engines.measure.simulate import simulate
from yibao.engines.measure.solve import solve_rate_for_budget
from yibao.engines.measure.trim import trim_outliers
from yibao.engines.measure.weights import quality, relative_weights
from yibao.engines.synth import generate_cases, make_region, write_parquet

#: progress(stage, done, total); stages: "generate", then the timed stage names.
Progress = Callable[[str, int, int], None]

PLAN_ID: Final = "chs-drg-1.1"
YEARS: Final = (2022, 2023, 2024)
STAGES: Final = (
    "read",
    "plan",
    "group",
    "prepare",
    "exclusions",
    "trim",
    "weights",
    "rates",
    "simulate",
    "solve",
    "indices",
)
_MARKER: Final = "measure-bench.json"
_CASE_COLUMNS: Final = (
    "setl_id",
    "hospital_code",
    "sex",
    "age_years",
    "age_days",
    "birth_weight_g",
    "discharge_date",
    "los_days",
    "discharge_dept",
    "discharge_way",
    "total_cost",
    "fund_payment",
)


def ensure_data(
    cases_per_year: int, data_dir: Path, seed: int = 1, progress: Progress | None = None
) -> bool:
    """Generate the three years into ``data_dir`` unless the same data is there.

    Returns ``True`` when data was generated.  A marker file records the arguments.
    """
    marker = data_dir / _MARKER
    wanted = {"cases_per_year": cases_per_year, "seed": seed, "years": list(YEARS), "plan": PLAN_ID}
    files = [data_dir / f"{n}.parquet" for n in ("cases", "diagnoses", "procedures")]
    present = marker.is_file() and all(f.is_file() for f in files)
    if present and json.loads(marker.read_text(encoding="utf-8")) == wanted:
        return False
    report = progress or (lambda _s, _d, _t: None)
    total = cases_per_year * len(YEARS)
    region = make_region(seed)

    def batches() -> Iterator[Any]:
        done = 0
        for batch in generate_cases(
            region, YEARS, cases_per_year, seed, PACKAGE_PLANS_DIR / PLAN_ID
        ):
            done += batch.cases.height
            report("generate", done, total)
            yield batch

    marker.unlink(missing_ok=True)
    write_parquet(batches(), data_dir)
    marker.write_text(json.dumps(wanted), encoding="utf-8")
    return True


def run_benchmark(
    cases_per_year: int, data_dir: Path, seed: int = 1, progress: Progress | None = None
) -> dict[str, Any]:
    """Time the measurement pipeline on 3 × ``cases_per_year`` synthetic cases.

    Returns a JSON-serialisable dict: ``<stage>_s`` for every stage of
    :data:`STAGES`, ``measure_cases`` (cases read), ``measure_total_s`` (sum of the
    stages), ``generated`` (whether data had to be generated) and a few results
    (excluded / trimmed cases, DRGs, RIV, the rate and the solved rate).
    """
    if cases_per_year < 1:
        raise ValueError("cases_per_year 至少为 1 (cases_per_year must be >= 1)")
    report = progress or (lambda _s, _d, _t: None)
    data_dir.mkdir(parents=True, exist_ok=True)
    generated = ensure_data(cases_per_year, data_dir, seed, report)
    seconds: dict[str, float] = {}

    @contextmanager
    def stage(name: str) -> Iterator[None]:
        report(name, 0, 1)
        start = time.perf_counter()
        yield
        seconds[name] = time.perf_counter() - start
        report(name, 1, 1)

    with stage("read"):
        cases = pl.read_parquet(data_dir / "cases.parquet", columns=list(_CASE_COLUMNS))
        diagnoses = pl.read_parquet(
            data_dir / "diagnoses.parquet", columns=["setl_id", "seq", "code"]
        )
        procedures = pl.read_parquet(
            data_dir / "procedures.parquet", columns=["setl_id", "seq", "code"]
        )
    with stage("plan"):
        plan = PlanRegistry().get(PLAN_ID)
    with stage("group"):
        grouped = group_batch(plan, to_grouper_input(cases, diagnoses, procedures))
    del diagnoses, procedures
    with stage("prepare"):
        frame = prepare_cases(cases, grouped, make_region(seed).hospitals)
    del grouped
    figures = _measure(frame, stage)
    total = sum(seconds[s] for s in STAGES)
    return {
        "cases_per_year": cases_per_year,
        "years": list(YEARS),
        "generated": generated,
        **{f"{s}_s": round(seconds[s], 3) for s in STAGES},
        **figures,
        "measure_cases": cases.height,
        "measure_total_s": round(total, 3),
    }


def _measure(frame: pl.DataFrame, stage: Callable[[str], Any]) -> dict[str, Any]:
    """The measurement stages proper; returns a few results for the report."""
    with stage("exclusions"):
        base = apply_exclusions(frame)
    with stage("trim"):
        trimmed = trim_outliers(base.kept)
    with stage("weights"):
        weights = relative_weights(trimmed.kept)
        report = quality(trimmed.kept, weights, base)
    newest = base.kept.filter(pl.col("year") == YEARS[-1])
    with stage("rates"):
        rates = compute_rates(weights, expected_volume(newest), RateParams(growth=Decimal("0.05")))
        standards = payment_standards(weights, rates)
    with stage("simulate"):
        result = simulate(newest, standards, budget=rates.budget)
    with stage("solve"):
        solution = solve_rate_for_budget(newest, weights, rates)
    with stage("indices"):
        hospital_indices(newest, weights)
    return {
        "excluded_cases": base.excluded.height,
        "trimmed_cases": trimmed.trimmed.height,
        "drgs": report.drgs,
        "riv": report.riv,
        "rate": str(rates.base_rate),
        "simulated_cases": result.cases.height,
        "solved_rate": str(solution.solved.get("base")),
        "solved_gap": str(solution.gap),
    }


__all__ = ["STAGES", "YEARS", "ensure_data", "run_benchmark"]
