"""Weight adjustments, rates and payment standards, checked by hand."""

from __future__ import annotations

import io
from decimal import Decimal

import polars as pl
import pytest

from yibao.engines.measure import (
    Adjustments,
    MeasureError,
    RateParams,
    RatePlan,
    Tilt,
    adjust_weights,
    compute_rates,
    payment_standards,
)

from .conftest import make_weights


def _plan() -> pl.DataFrame:
    # total weight T = 10·2 + 20·1 + 40·0.5 + 20·1.5 = 90
    return make_weights(
        ("MDCP", "PA1", "PA13", "2.0000", 10),
        ("MDCP", "PB1", "PB15", "1.0000", 20),
        ("MDCX", "XA1", "XA19", "0.5000", 40),
        ("MDCM", "MA1", "MA19", "1.5000", 20),
    )


def test_budget_neutral_tilt_and_manual() -> None:
    # MDCP ×1.1, MA19 set to 1.8:
    # manual total = 20·1.8 = 36; tilted others = 10·2.2 + 20·1.1 + 40·0.5 = 64
    # λ = (90 − 36) / 64 = 0.84375
    # PA13 = 2.2·λ = 1.85625 → 1.8563 (half up), PB15 = 1.1·λ = 0.928125 → 0.9281,
    # XA19 = 0.5·λ = 0.421875 → 0.4219, MA19 = 1.8000 as typed
    # after = 18.563 + 18.562 + 16.876 + 36 = 90.001 (4-decimal rounding)
    adjustments = Adjustments(
        manual={"MA19": Decimal("1.8")},
        tilts=(Tilt(factor=Decimal("1.1"), mdcs=("P",), reason="儿科"),),
    )
    result = adjust_weights(_plan(), adjustments)
    assert result.weights["relative_weight"].to_list() == [
        Decimal("1.8563"),
        Decimal("0.9281"),
        Decimal("0.4219"),
        Decimal("1.8000"),
    ]
    assert result.scale == Decimal("0.84375000")
    assert (result.total_before, result.total_after) == (Decimal("90.0000"), Decimal("90.0010"))
    assert result.weights["adjustment"].to_list() == [
        "倾斜 ×1.1（儿科）",
        "倾斜 ×1.1（儿科）",
        "",
        "人工设定 1.8000",
    ]
    assert result.weights["rw_source"].to_list() == ["drg", "drg", "drg", "manual"]
    assert result.weights["base_relative_weight"][0] == Decimal("2.0000")


def test_without_budget_neutrality() -> None:
    adjustments = Adjustments(
        manual={"MA19": Decimal("1.8")},
        tilts=(Tilt(factor=Decimal("1.1"), adrgs=("PA1", "PB1")),),
        budget_neutral=False,
    )
    result = adjust_weights(_plan(), adjustments)
    assert result.weights["relative_weight"].to_list() == [
        Decimal("2.2000"),
        Decimal("1.1000"),
        Decimal("0.5000"),
        Decimal("1.8000"),
    ]
    assert (result.scale, result.total_after) == (Decimal("1.00000000"), Decimal("100.0000"))


def test_tilts_multiply() -> None:
    # PA13 hit by two tilts: ×1.1 × 1.2 = ×1.32; not budget-neutral
    tilts = (
        Tilt(factor=Decimal("1.1"), mdcs=("MDCP",)),
        Tilt(factor=Decimal("1.2"), drgs=("PA13",)),
    )
    result = adjust_weights(_plan(), Adjustments(tilts=tilts, budget_neutral=False))
    assert result.weights["relative_weight"][0] == Decimal("2.6400")


def test_adjustment_errors() -> None:
    with pytest.raises(MeasureError, match="DRG ZZ19 不在权重表中"):
        adjust_weights(_plan(), Adjustments(manual={"ZZ19": Decimal(1)}))
    with pytest.raises(MeasureError, match="MDCQ 不在权重表中"):
        adjust_weights(_plan(), Adjustments(tilts=(Tilt(factor=Decimal(2), mdcs=("Q",)),)))
    with pytest.raises(MeasureError, match="无法保持总权重不变"):
        adjust_weights(_plan(), Adjustments(manual={"XA19": Decimal(3)}))  # 40·3 = 120 > 90


def _weights() -> pl.DataFrame:
    return make_weights(("MDCA", "AA1", "AA19", "1.5", 20), ("MDCB", "BB1", "BB19", "0.5", 40))


def _volume() -> pl.DataFrame:
    # W3 = 10·1.5 + 20·0.5 = 25, W2 = 10·1.5 = 15, W1 = 20·0.5 = 10 → W = 50
    # cost: level 3 20,000 + 8,000 = 28,000; level 2 15,000; level 1 4,000 → 47,000
    return pl.DataFrame(
        {
            "drg": ["AA19", "AA19", "BB19", "BB19"],
            "hospital_level": ["3", "2", "3", "1"],
            "cases": [10, 10, 20, 20],
            "total_cost": [Decimal(20_000), Decimal(15_000), Decimal(8_000), Decimal(4_000)],
        },
        schema_overrides={"total_cost": pl.Decimal(18, 2)},
    )


def test_single_rate_from_growth() -> None:
    # budget = 47,000 × 1.1 = 51,700; rate = 51,700 / 50 = 1,034.00
    plan = compute_rates(_weights(), _volume(), RateParams(growth=Decimal("0.1")))
    assert (plan.budget, plan.expected_weight, plan.base_rate) == (
        Decimal("51700.00"),
        Decimal("50.0000"),
        Decimal("1034.00"),
    )
    assert plan.level_weights == {
        "1": Decimal("10.0000"),
        "2": Decimal("15.0000"),
        "3": Decimal("25.0000"),
    }
    table = payment_standards(_weights(), plan)
    # AA19: 1.5 × 1034 = 1551.00; BB19: 0.5 × 1034 = 517.00 (all three levels)
    assert table.filter(hospital_level="3")["payment_standard"].to_list() == [
        Decimal("1551.00"),
        Decimal("517.00"),
    ]
    assert table.height == 6 and table.columns == [
        "drg",
        "hospital_level",
        "relative_weight",
        "base_rate",
        "payment_standard",
    ]


def test_direct_budget_and_last_total() -> None:
    assert compute_rates(
        _weights(), _volume(), RateParams(budget=Decimal(10_000))
    ).base_rate == Decimal("200.00")
    # 60,000 × 1.05 / 50 = 1,260
    params = RateParams(last_total=Decimal(60_000), growth=Decimal("0.05"))
    assert compute_rates(_weights(), _volume(), params).base_rate == Decimal("1260.00")


def test_per_level_rates() -> None:
    # budget_L = cost_L × 1.1: 30,800 / 25 = 1,232; 16,500 / 15 = 1,100; 4,400 / 10 = 440
    plan = compute_rates(_weights(), _volume(), RateParams(mode="per_level", growth=Decimal("0.1")))
    assert plan.level_rates == {
        "1": Decimal("440.00"),
        "2": Decimal("1100.00"),
        "3": Decimal("1232.00"),
    }
    given = {"3": Decimal(30_000), "2": Decimal(15_000), "1": Decimal(5_000)}
    plan = compute_rates(_weights(), _volume(), RateParams(mode="per_level", level_budgets=given))
    # 30,000 / 25 = 1,200; 15,000 / 15 = 1,000; 5,000 / 10 = 500
    assert plan.level_rates == {
        "1": Decimal("500.00"),
        "2": Decimal("1000.00"),
        "3": Decimal("1200.00"),
    }
    assert plan.budget == Decimal("50000.00")
    table = payment_standards(_weights(), plan)
    assert table.filter(drg="AA19")["payment_standard"].to_list() == [
        Decimal("750.00"),
        Decimal("1500.00"),
        Decimal("1800.00"),
    ]


def test_level_coefficients() -> None:
    # Σ c·W = 1.2·25 + 1.0·15 + 0.8·10 = 53; base = 51,700 / 53 = 975.4716… → 975.47
    # rates: 3 → 975.47 × 1.2 = 1170.564, 2 → 975.47, 1 → 780.376
    # AA19 level 3: 1.5 × 1170.564 = 1755.846 → 1755.85
    coefficients = {"3": Decimal("1.2"), "2": Decimal("1.0"), "1": Decimal("0.8")}
    params = RateParams(
        mode="level_coefficients", budget=Decimal(51_700), coefficients=coefficients
    )
    plan = compute_rates(_weights(), _volume(), params)
    assert plan.base_rate == Decimal("975.47")
    assert plan.level_rates["3"] == Decimal("1170.564")
    assert plan.level_rates["1"] == Decimal("780.376")
    table = payment_standards(_weights(), plan)
    assert table.filter(drg="AA19", hospital_level="3")["payment_standard"].item() == Decimal(
        "1755.85"
    )


def test_derived_level_coefficients() -> None:
    # DRG means over all levels: AA19 35,000/20 = 1,750; BB19 12,000/40 = 300
    # level 3: 28,000 / (10·1,750 + 20·300 = 23,500) = 1.191489… → 1.1915
    # level 2: 15,000 / 17,500 = 0.857142… → 0.8571; level 1: 4,000 / 6,000 → 0.6667
    plan = compute_rates(_weights(), _volume(), RateParams(mode="level_coefficients"))
    assert plan.coefficients == {
        "1": Decimal("0.6667"),
        "2": Decimal("0.8571"),
        "3": Decimal("1.1915"),
    }


def test_standard_rounding_half_up_fen_and_yuan() -> None:
    # BB19: 0.5 × 1034.33 = 517.165 → 517.17 (half up; half-even would give 517.16)
    table = payment_standards(_weights(), RatePlan.single(Decimal("1034.33")))
    assert table.filter(drg="BB19")["payment_standard"][0] == Decimal("517.17")
    # yuan: 0.5 × 1033 = 516.5 → 517.00 (half-even would give 516)
    table = payment_standards(_weights(), RatePlan.single(Decimal("1033"), rounding="yuan"))
    assert table.filter(drg="BB19")["payment_standard"][0] == Decimal("517.00")


def test_standards_table_is_byte_identical(tmp_path: object) -> None:
    weights = make_weights(
        *[("MDCA", "AA1", f"A{i:03d}", f"{0.5 + i / 7:.4f}", i) for i in range(50)]
    )
    plan = RatePlan.per_level(
        {"1": Decimal("9876.54"), "2": Decimal("11111.11"), "3": Decimal("13000")}
    )
    a = payment_standards(weights, plan)
    b = payment_standards(weights.sample(fraction=1.0, shuffle=True, seed=11), plan)
    for write in ("write_csv", "write_parquet"):
        buf_a, buf_b = io.BytesIO(), io.BytesIO()
        getattr(a, write)(buf_a)
        getattr(b, write)(buf_b)
        assert buf_a.getvalue() == buf_b.getvalue(), write


def test_standards_refuse_missing_weights() -> None:
    weights = pl.concat(
        [_weights(), _weights().head(1).with_columns(drg=pl.lit("CC19"), relative_weight=None)]
    )
    with pytest.raises(MeasureError, match="1 个 DRG 没有权重"):
        payment_standards(weights, RatePlan.single(Decimal(1000)))
    assert payment_standards(weights, RatePlan.single(Decimal(1000)), skip_missing=True).height == 6
    with pytest.raises(MeasureError, match="DRG 重复"):
        payment_standards(pl.concat([_weights(), _weights()]), RatePlan.single(Decimal(1000)))
