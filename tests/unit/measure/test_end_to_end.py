"""The whole pipeline on ~21,000 synthetic cases grouped by the real CHS-DRG 1.1 grouper."""

from __future__ import annotations

import io
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path

import polars as pl
import pytest

from yibao.engines import measure as m
from yibao.engines.caseframe import to_grouper_input
from yibao.engines.grouper import PACKAGE_PLANS_DIR, PlanRegistry, group_batch
from yibao.engines.measure.bench import run_benchmark
from yibao.engines.synth import CaseBatch, generate_cases, make_region

YEARS = [2022, 2023, 2024]


@dataclass(frozen=True)
class Pipeline:
    frame: pl.DataFrame
    base: m.ExclusionResult
    trim: m.TrimResult
    weights: pl.DataFrame
    newest: pl.DataFrame
    rates: m.RatePlan


@pytest.fixture(scope="module")
def pipeline() -> Pipeline:
    region = make_region(3)
    batches = list(
        generate_cases(region, YEARS, 7_000, seed=7, plan_dir=PACKAGE_PLANS_DIR / "chs-drg-1.1")
    )
    sample = CaseBatch(
        *(pl.concat([getattr(b, n) for b in batches]) for n in CaseBatch.__dataclass_fields__)
    )
    grouped = group_batch(
        PlanRegistry().get("chs-drg-1.1"),
        to_grouper_input(sample.cases, sample.diagnoses, sample.procedures),
    )
    frame = m.prepare_cases(sample.cases, grouped, region.hospitals)
    base = m.apply_exclusions(frame)
    trim = m.trim_outliers(base.kept)
    weights = m.relative_weights(trim.kept, m.WeightParams(min_cases=5))
    newest = base.kept.filter(year=2024)
    rates = m.compute_rates(
        weights, m.expected_volume(newest), m.RateParams(growth=Decimal("0.03"))
    )
    return Pipeline(frame, base, trim, weights, newest, rates)


def test_weights_are_sane(pipeline: Pipeline) -> None:
    assert pipeline.frame.height == 21_000
    assert pipeline.frame["hospital_level"].null_count() == 0
    report = m.quality(pipeline.trim.kept, pipeline.weights, pipeline.base)
    # Σ cases × RW ÷ cases ≈ 1 (not exactly: year weights and cost growth)
    assert report.mean_rw is not None and abs(report.mean_rw - 1) < Decimal("0.05")
    assert report.riv is not None and 0.5 < report.riv < 1
    assert report.grouping_rate is not None and report.grouping_rate > Decimal("0.95")
    assert pipeline.weights["relative_weight"].null_count() == 0


def test_solved_rate_meets_budget(pipeline: Pipeline) -> None:
    solution = m.solve_rate_for_budget(pipeline.newest, pipeline.weights, pipeline.rates)
    assert abs(solution.gap) <= Decimal("0.01")
    assert solution.budget == pipeline.rates.budget and solution.rates.budget == solution.budget
    standards = m.payment_standards(pipeline.weights, solution.rates)
    result = m.simulate(pipeline.newest, standards, budget=solution.budget)
    # published standards are rounded to the fen: the simulated total moves by pennies per case
    assert abs(result.totals["budget_gap"][0]) / solution.budget < Decimal("0.001")
    fund_budget = Decimal(pipeline.newest["fund_payment"].sum()) * Decimal("1.02")
    fund = m.solve_rate_for_budget(
        pipeline.newest, pipeline.weights, pipeline.rates, target="fund", budget=fund_budget
    )
    assert abs(fund.gap) <= Decimal("0.01")


def test_cmi_of_tertiary_hospitals_is_higher(pipeline: Pipeline) -> None:
    indices = m.hospital_indices(pipeline.newest, pipeline.weights, by=("hospital_level",))
    cmi = dict(zip(indices["hospital_level"], indices["cmi"], strict=True))
    assert cmi["3"] > cmi["2"] > cmi["1"]
    per_hospital = m.hospital_indices(pipeline.newest, pipeline.weights)
    assert per_hospital.height == 30


def test_pipeline_is_reproducible(pipeline: Pipeline) -> None:
    shuffled = pipeline.frame.sample(fraction=1.0, shuffle=True, seed=5)
    base = m.apply_exclusions(shuffled)
    trim = m.trim_outliers(base.kept)
    weights = m.relative_weights(trim.kept, m.WeightParams(min_cases=5))
    assert weights.drop("cv").equals(pipeline.weights.drop("cv"))
    assert trim.fences.equals(pipeline.trim.fences)
    newest = base.kept.filter(year=2024)
    rates = m.compute_rates(
        weights, m.expected_volume(newest), m.RateParams(growth=Decimal("0.03"))
    )
    assert rates == pipeline.rates
    tables = [m.payment_standards(w, rates) for w in (weights, pipeline.weights)]
    csv = [io.BytesIO(), io.BytesIO()]
    for table, buf in zip(tables, csv, strict=True):
        table.write_csv(buf)
    assert csv[0].getvalue() == csv[1].getvalue()
    again = m.simulate(pipeline.newest, tables[1])
    assert again.by_hospital.equals(m.simulate(pipeline.newest, tables[1]).by_hospital)


def test_benchmark_runs(tmp_path: Path) -> None:
    first = run_benchmark(1_000, tmp_path)
    assert first["generated"] is True and first["measure_cases"] == 3_000
    assert first["measure_total_s"] > 0 and first["group_s"] > 0
    assert run_benchmark(1_000, tmp_path)["generated"] is False
