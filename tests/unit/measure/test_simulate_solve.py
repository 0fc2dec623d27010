"""Simulation (outlier classification, payments, summaries) and rate solving."""

from __future__ import annotations

from decimal import Decimal

import polars as pl
import pytest

from yibao.engines.measure import (
    MeasureError,
    RatePlan,
    SimulationParams,
    compare_scenarios,
    payment_standards,
    simulate,
    solve_rate_for_budget,
)

from .conftest import make_cases, make_weights


def _standards() -> pl.DataFrame:
    # AA19 = 1,000.00 at levels 2 and 3 (no level 1 standard)
    return pl.DataFrame(
        {
            "drg": ["AA19", "AA19"],
            "hospital_level": ["2", "3"],
            "payment_standard": [Decimal(1000)] * 2,
        },
        schema_overrides={"payment_standard": pl.Decimal(18, 2)},
    )


def _cases() -> pl.DataFrame:
    return make_cases(
        {"total_cost": "1000", "fund_payment": "800"},  # 1 normal
        {"total_cost": "3000"},  # 2 exactly 3× at 三级 → still normal
        {"total_cost": "3000.01"},  # 3 high (> 3×)
        {"total_cost": "2000.01", "hospital_level": "2"},  # 4 high at 二级 (> 2×)
        {"total_cost": "300", "hospital_level": "2"},  # 5 exactly 0.3× → normal
        {"total_cost": "299.99", "hospital_level": "2", "fund_payment": "150"},  # 6 low
        {"total_cost": "500", "status": "ambiguous_qy", "drg": "AQY"},  # 7 QY
        {"total_cost": "800", "status": "ungroupable", "drg": "0000"},  # 8
        {"total_cost": "700", "drg": "ZZ19"},  # 9 DRG without standard
        {"total_cost": "400", "hospital_level": "1"},  # 10 level without standard
    )


def test_classification_and_item_payment() -> None:
    result = simulate(_cases(), _standards(), budget=Decimal(10_000))
    cases = result.cases
    assert cases["payment_class"].to_list() == [
        "normal", "normal", "high", "high", "normal", "low", "qy", "ungroupable",
        "no_standard", "no_standard",
    ]  # fmt: skip
    # normal → standard 1,000; everything else → items (its cost)
    assert cases["drg_payment"].to_list()[:6] == [
        Decimal("1000.00"), Decimal("1000.00"), Decimal("3000.01"),
        Decimal("2000.01"), Decimal("1000.00"), Decimal("299.99"),
    ]  # fmt: skip
    assert cases["cost_ratio"].to_list()[:3] == [1.0, 3.0, 3.0]
    # fund estimate: payment × fund/cost: 1000 × 0.8 = 800; 299.99 × 150/299.99 = 150
    assert cases["fund_estimate"][0] == Decimal("800.00")
    assert cases["fund_estimate"][5] == Decimal("150.00")
    totals = result.totals.row(0, named=True)
    # cost = 12,000.01; payment = 1000 + 1000 + 3000.01 + 2000.01 + 1000 + 299.99 + 500 + 800
    #        + 700 + 400 = 10,700.01; balance −1,300.00; vs budget 10,000 → +700.01
    assert (totals["total_cost"], totals["drg_payment"], totals["balance"]) == (
        Decimal("12000.01"),
        Decimal("10700.01"),
        Decimal("-1300.00"),
    )
    assert (totals["budget"], totals["budget_gap"]) == (Decimal("10000.00"), Decimal("700.01"))
    assert (totals["normal"], totals["high"], totals["low"], totals["qy"]) == (3, 2, 1, 1)
    assert (totals["ungroupable"], totals["no_standard"]) == (1, 2)
    assert totals["payment_ratio"] == round(10_700.01 / 12_000.01, 4)


def test_excess_payment_for_high_cases() -> None:
    # high cases get standard + (cost − k·standard) = cost − (k − 1)·standard:
    # 3000.01 − 2·1000 = 1000.01 (三级); 2000.01 − 1·1000 = 1000.01 (二级)
    params = SimulationParams(high_payment="excess")
    result = simulate(_cases(), _standards(), params)
    assert result.cases["drg_payment"].to_list()[2:4] == [Decimal("1000.01"), Decimal("1000.01")]
    assert result.totals["drg_payment"][0] == Decimal("7700.01")  # 10,700.01 − 2,000 − 1,000


def test_thresholds_are_configurable() -> None:
    params = SimulationParams(
        high_multipliers={"3": 2, "2": 2, "1": 2}, low_multiplier=Decimal("0.5")
    )
    classes = simulate(_cases(), _standards(), params).cases["payment_class"].to_list()
    assert classes[:6] == ["normal", "high", "high", "high", "low", "low"]


def test_summaries_and_distribution() -> None:
    result = simulate(_cases(), _standards())
    by_level = result.by_level
    assert by_level["hospital_level"].to_list() == ["1", "2", "3"]
    assert by_level["cases"].to_list() == [1, 3, 6]
    assert result.by_class["payment_class"].to_list() == [
        "normal",
        "high",
        "low",
        "qy",
        "ungroupable",
        "no_standard",
    ]
    assert result.by_hospital.select("hospital_code", "hospital_level").rows() == [
        ("H1", "1"),
        ("H1", "2"),
        ("H1", "3"),
    ]
    bands = dict(zip(result.distribution["ratio_band"], result.distribution["cases"], strict=True))
    # ratios 1.0, 3.0, 3.00001, 2.00001, 0.3, 0.29999
    assert bands == {
        "< 0.3": 1, "0.3–0.5": 1, "0.5–0.8": 0, "0.8–1": 0, "1–1.2": 1,
        "1.2–1.5": 0, "1.5–2": 0, "2–3": 1, "≥ 3": 2,
    }  # fmt: skip
    comparison = compare_scenarios(
        {"A": result, "B": simulate(_cases(), _standards(), budget=Decimal(1))}
    )
    assert comparison.totals["scenario"].to_list() == ["A", "B"]
    assert comparison.by_level.height == 6


def _solve_cases(level: str = "3") -> pl.DataFrame:
    # three normal-range cases with s = RW: AA19 (RW 1) 1000, 1000; BB19 (RW 2) 2000;
    # and AA19 10,000 (high unless rate ≥ 10,000/3).  At 三级 (k 3, low 0.3):
    #   x < 333.3:            everything high             P = 14,000
    #   333.3 ≤ x ≤ 3,333.3:  1–3 normal, 4 high          P = 10,000 + 4x
    #   3,333.3 < x ≤ 33,333: 1–3 low, 4 normal           P = 4,000 + x
    return make_cases(
        {"total_cost": 1000},
        {"total_cost": 1000},
        {"total_cost": 2000, "drg": "BB19", "adrg": "BB1"},
        {"total_cost": 10_000},
        hospital_level=level,
    )


def _solve_weights() -> pl.DataFrame:
    return make_weights(("MDCA", "AA1", "AA19", "1", 0), ("MDCB", "BB1", "BB19", "2", 0))


def test_solve_single_rate_exactly() -> None:
    # 10,000 + 4x = 15,000 → x = 1,250 (nearest the current 1,000; 4,000 + x = 15,000 → 11,000
    # is the other root)
    plan = RatePlan.single(Decimal(1000))
    solution = solve_rate_for_budget(_solve_cases(), _solve_weights(), plan, budget=Decimal(15_000))
    assert solution.solved == {"base": Decimal("1250.0000000000")}
    assert (solution.total, solution.gap, solution.roots) == (Decimal("15000.0000"), Decimal(0), 2)
    assert solution.counts == {"normal": 3, "high": 1, "low": 0}
    standards = payment_standards(_solve_weights(), solution.rates)
    assert simulate(_solve_cases(), standards).totals["drg_payment"][0] == Decimal("15000.00")


def test_solve_non_monotone_payment() -> None:
    # budget 20,000 has two roots: 10,000 + 4x → x = 2,500 and 4,000 + x → x = 16,000;
    # the one nearest the current rate is chosen
    near_low = solve_rate_for_budget(
        _solve_cases(), _solve_weights(), RatePlan.single(Decimal(2000)), budget=Decimal(20_000)
    )
    near_high = solve_rate_for_budget(
        _solve_cases(), _solve_weights(), RatePlan.single(Decimal(15_000)), budget=Decimal(20_000)
    )
    assert near_low.solved["base"] == Decimal(2500) and near_low.roots == 2
    assert near_high.solved["base"] == Decimal(16_000)
    # budget 8,000: only the upper branch reaches it (4,000 + x) → 4,000
    only = solve_rate_for_budget(
        _solve_cases(), _solve_weights(), RatePlan.single(Decimal(1000)), budget=Decimal(8000)
    )
    assert only.solved["base"] == Decimal(4000)
    with pytest.raises(MeasureError, match="无法精确达到"):
        solve_rate_for_budget(
            _solve_cases(), _solve_weights(), RatePlan.single(Decimal(1000)), budget=Decimal(1000)
        )


def test_solve_with_excess_payment_and_fund_target() -> None:
    # excess: case 4 pays 10,000 − 2x in the middle segment → P = 10,000 + 2x = 15,000 → 2,500
    excess = SimulationParams(high_payment="excess")
    plan = RatePlan.single(Decimal(1000))
    solution = solve_rate_for_budget(
        _solve_cases(), _solve_weights(), plan, excess, budget=Decimal(15_000)
    )
    assert solution.solved["base"] == Decimal(2500)
    # fund target with a flat 50 % share: 0.5·(10,000 + 4x) = 7,500 → 1,250
    fixed = SimulationParams(fund_share="fixed", fixed_fund_share=Decimal("0.5"))
    fund = solve_rate_for_budget(
        _solve_cases(), _solve_weights(), plan, fixed, budget=Decimal(7500), target="fund"
    )
    assert fund.solved["base"] == Decimal(1250)


def test_solve_per_level_and_coefficients() -> None:
    # 三级 as above with budget 15,000 → 1,250; 二级 (k 2): one AA19 case of 1,000,
    # normal for 500 ≤ x ≤ 3,333 → x = 900 for a budget of 900
    cases = pl.concat([_solve_cases("3"), make_cases({"total_cost": 1000, "hospital_level": "2"})])
    plan = RatePlan(
        mode="per_level",
        level_rates={"3": Decimal(1000), "2": Decimal(800)},
        level_budgets={"3": Decimal(15_000), "2": Decimal(900)},
    )
    solution = solve_rate_for_budget(cases, _solve_weights(), plan)
    assert solution.solved == {"2": Decimal(900), "3": Decimal(1250)}
    assert solution.total == Decimal("15900.0000")
    # coefficients 三级 1.0, 二级 0.5: P = 10,000 + 4x + 0.5x = 15,900 → x = 5,900/4.5
    coefficients = RatePlan(
        mode="level_coefficients",
        base_rate=Decimal(1000),
        coefficients={"3": Decimal(1), "2": Decimal("0.5")},
        level_rates={"3": Decimal(1000), "2": Decimal(500)},
    )
    solved = solve_rate_for_budget(cases, _solve_weights(), coefficients, budget=Decimal(15_900))
    assert solved.solved["base"] == Decimal("1311.1111111111")  # 5,900 / 4.5
    assert solved.rates.level_rates["2"] == Decimal("655.5555555556")
    assert abs(solved.gap) <= Decimal("0.01")


def test_solve_scale_for_separate_level_rates() -> None:
    # a per-level plan without level budgets: one factor λ for every level rate.
    # 三级 rate 1,000 → x = 1,000·λ; the 二级 case has no rate (paid by items, 500):
    # P = 500 + 10,000 + 4·1,000·λ = 15,500 → λ = 1.25
    cases = pl.concat([_solve_cases("3"), make_cases({"total_cost": 500, "hospital_level": "2"})])
    plan = RatePlan.per_level({"3": Decimal(1000)})
    solution = solve_rate_for_budget(cases, _solve_weights(), plan, budget=Decimal(15_500))
    assert solution.solved == {"scale": Decimal("1.25")}
    assert solution.rates.level_rates == {"3": Decimal(1250)}
    standards = payment_standards(_solve_weights(), solution.rates)
    assert simulate(cases, standards).totals["drg_payment"][0] == Decimal("15500.00")


def test_cost_ratio_is_rounded_half_up_on_exact_figures() -> None:
    """The simulation's cost ratio rounds as pricing's does (四舍五入 on the exact fen,
    not a float's half-to-even): 0.00015 → 0.0002, for any cost and standard."""
    import random
    from decimal import ROUND_HALF_UP

    from yibao.engines.measure.simulate import _ratio_4

    rng = random.Random(7)
    pairs = [(3, 20000), (12345, 100000), (1, 3), (0, 5)]
    pairs += [(rng.randint(0, 10**9), rng.randint(1, 10**8)) for _ in range(500)]
    frame = pl.DataFrame({"c": [c for c, _ in pairs], "s": [s for _, s in pairs]})
    got = frame.select(_ratio_4(pl.col("c"), pl.col("s"))).to_series().to_list()
    for (c, s), value in zip(pairs, got, strict=True):
        want = (Decimal(c) / Decimal(s)).quantize(Decimal("0.0001"), rounding=ROUND_HALF_UP)
        assert Decimal(str(value)) == want, (c, s, value)
