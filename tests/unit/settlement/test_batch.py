"""100,000 synthetic cases: synth → grouper → measured standards → pricing → statements.

Prints the pricing throughput (cases/s); there is no timed assertion.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal

import polars as pl
import pytest

from yibao.engines import measure as m
from yibao.engines.caseframe import to_grouper_input
from yibao.engines.grouper import PACKAGE_PLANS_DIR, PlanRegistry, group_batch
from yibao.engines.settlement import (
    REASONS,
    PolicySet,
    PricingParams,
    monthly_statement,
    prepare_settlement_cases,
    price_batch,
    year_end_clearing,
)
from yibao.engines.synth import CaseBatch, generate_cases, make_region

N = 100_000
pytestmark = pytest.mark.slow


@dataclass(frozen=True)
class Batch:
    cases: pl.DataFrame  # settlement frame
    measured: pl.DataFrame  # measurement frame
    standards: pl.DataFrame


@pytest.fixture(scope="module")
def batch() -> Batch:
    region = make_region(11)
    parts = list(
        generate_cases(region, [2024], N, seed=11, plan_dir=PACKAGE_PLANS_DIR / "chs-drg-1.1")
    )
    sample = CaseBatch(
        *(pl.concat([getattr(b, n) for b in parts]) for n in CaseBatch.__dataclass_fields__)
    )
    grouped = group_batch(
        PlanRegistry().get("chs-drg-1.1"),
        to_grouper_input(sample.cases, sample.diagnoses, sample.procedures),
    )
    measured = m.prepare_cases(sample.cases, grouped, region.hospitals)
    base = m.apply_exclusions(measured)
    weights = m.relative_weights(
        m.trim_outliers(base.kept).kept, m.WeightParams(year_weights=(Decimal(1),), min_cases=5)
    )
    rates = m.compute_rates(weights, m.expected_volume(base.kept))
    standards = m.payment_standards(weights, rates)
    cases = prepare_settlement_cases(sample.cases, grouped, region.hospitals)
    return Batch(cases, measured, standards)


def test_price_100k_cases(
    batch: Batch, demo: PolicySet, record_property: Callable[[str, object], None]
) -> None:
    params = PricingParams(missing_policy="treating_place")
    start = time.perf_counter()
    priced = price_batch(batch.cases, batch.standards, demo, params)
    seconds = time.perf_counter() - start
    rate = N / seconds
    print(f"\nprice_batch: {N:,} cases in {seconds:.2f} s = {rate:,.0f} cases/s")
    record_property("price_batch_cases_per_s", round(rate))
    assert priced.height == N
    assert priced["setl_id"].is_sorted()
    for column in ("drg_payment", "fund_amount", "explanation", "payment_class"):
        assert priced[column].null_count() == 0, column
    assert set(priced["reason_codes"].explode().to_list()) <= set(REASONS)
    parts = priced.select(
        (pl.col("standard_part") + pl.col("items_part") - pl.col("drg_payment")).abs().max()
    ).item()
    assert parts == 0
    # same classification and DRG payment as the measurement engine's simulation
    simulated = m.simulate(batch.measured, batch.standards).cases.sort("setl_id")
    assert priced["payment_class"].equals(simulated["payment_class"])
    assert priced["drg_payment"].equals(simulated["drg_payment"])
    scopes = set(priced["scope"].unique().to_list())
    assert scopes == {"local", "in_province", "out_of_province"}
    assert priced["reason_codes"].list.contains("POLICY_FALLBACK").any()


def test_policy_split_matches_the_generator(batch: Batch, demo: PolicySet) -> None:
    # the demo policy of 990100 is the benefit the generator used for local patients: the
    # benefit split of the total cost reproduces fund_payment to the fen (the generator
    # floors a float product, the engine rounds exactly half up); the cap is not modelled
    # by the generator
    local = batch.cases.head(20_000)
    params = PricingParams(items_fund="policy", missing_policy="treating_place")
    priced = price_batch(local, batch.standards.clear(), demo, params)
    both = priced.join(local.select("setl_id", pl.col("fund_payment").alias("gen")), on="setl_id")
    home = both.filter(
        (pl.col("scope") == "local")
        & pl.col("insured_region_code").str.starts_with("9901")
        & ~pl.col("reason_codes").list.contains("FUND_CAPPED")
    )
    assert home.height > 15_000
    gap = home.select((pl.col("fund_amount") - pl.col("gen")).abs().max()).item()
    assert gap <= Decimal("0.01")


def test_statements_over_the_year(batch: Batch, demo: PolicySet) -> None:
    priced = price_batch(
        batch.cases, batch.standards, demo, PricingParams(missing_policy="treating_place")
    )
    months = [
        monthly_statement(priced.filter(pl.col("discharge_date").dt.month() == mo), period=f"{mo}")
        for mo in range(1, 13)
    ]
    assert sum(f["cases"].sum() for f in months) == N
    budget = Decimal(priced["drg_payment"].sum()) * Decimal("1.02")
    scores = dict.fromkeys(priced["hospital_code"].unique().to_list(), 88)
    result = year_end_clearing(priced, budget, months, scores)
    assert abs(result.residual) < Decimal(N) / 100  # rounding: under a fen per case
    h = result.hospitals
    identity = h.select(
        (
            pl.col("clearing_amount")
            + pl.col("paid_during_year")
            + pl.col("deposit_forfeited")
            - pl.col("final_fund")
        )
        .abs()
        .max()
    ).item()
    assert identity == 0
    assert h["final_payment"].sum() > h["provisional_payment"].sum()  # budget + 2 %
