"""DRG payment rules of issue 14 item 7 (ADR 0031), each against a hand-computed
example: multipliers by RW band, the QY share, per-diem payment of long stays, the cap
on the share of high-multiplier cases; and the rate solver with them."""

from __future__ import annotations

from decimal import Decimal

import polars as pl
import pytest

from yibao.engines.measure import (
    MeasureError,
    RatePlan,
    SimulationParams,
    parse_params,
    payment_standards,
    simulate,
    solve_rate_for_budget,
)

from .conftest import make_cases, make_weights

D = Decimal


def _standards() -> pl.DataFrame:
    # AA19 RW 0.5 → standard 1,000; BB19 RW 2.5 → 5,000 (三级)
    return pl.DataFrame(
        {
            "drg": ["AA19", "BB19"],
            "hospital_level": ["3", "3"],
            "relative_weight": [D("0.5"), D("2.5")],
            "payment_standard": [D(1000), D(5000)],
        },
        schema_overrides={"payment_standard": pl.Decimal(18, 2)},
    )


def _params(**rules: object) -> SimulationParams:
    return parse_params(SimulationParams, {"rules": rules})


BANDS = [{"max_rw": "1", "high": "3", "low": "0.4"}, {"max_rw": None, "high": "1.5"}]


def test_multipliers_by_rw_band() -> None:
    cases = make_cases(
        {"total_cost": "3000"},  # AA19 (band 1, 3×): exactly 3× → normal
        {"total_cost": "3000.01"},  # > 3× → high
        {"total_cost": "399.99"},  # < 0.4 × 1,000 → low (the band's own low)
        {"total_cost": "7500", "drg": "BB19"},  # BB19 (open band, 1.5×): 1.5× → normal
        {"total_cost": "7500.01", "drg": "BB19"},  # > 1.5× → high (would be normal at 3×)
        {"total_cost": "1499.99", "drg": "BB19"},  # < 0.3 × 5,000 (default low) → low
    )
    out = simulate(cases, _standards(), _params(rw_bands=BANDS)).cases
    assert out["payment_class"].to_list() == ["normal", "high", "low", "normal", "high", "low"]
    default = simulate(cases, _standards()).cases["payment_class"].to_list()
    assert default == ["normal", "high", "normal", "normal", "normal", "low"]
    # bands need the standards' weights; a weight above every closed band has no multiplier
    with pytest.raises(MeasureError, match="相对权重"):
        simulate(cases, _standards().drop("relative_weight"), _params(rw_bands=BANDS))
    closed = simulate(cases, _standards(), _params(rw_bands=BANDS[:1])).cases
    assert closed["payment_class"].to_list()[3:] == ["no_standard"] * 3


def test_excess_payment_uses_the_band_multiplier() -> None:
    params = parse_params(
        SimulationParams, {"high_payment": "excess", "rules": {"rw_bands": BANDS}}
    )
    cases = make_cases({"total_cost": "10000", "drg": "BB19"})
    # 5,000 + (10,000 − 1.5 × 5,000) = 7,500.00
    assert simulate(cases, _standards(), params).cases["drg_payment"][0] == D("7500.00")


def test_qy_share_and_per_diem_for_long_stays() -> None:
    cases = make_cases(
        {"total_cost": "1000.05", "status": "ambiguous_qy", "drg": "AQY"},  # × 0.8 = 800.04
        {"total_cost": "1000", "los_days": 61},  # long stay: 61 × 350 = 21,350.00
        {"total_cost": "1000", "los_days": 60},  # 60 days is inside the window → normal
        {"total_cost": "9000", "los_days": 90, "status": "ungroupable", "drg": "0000"},  # per diem
        {"total_cost": "2000", "los_days": 70, "hospital_level": "2"},  # 二级 70 × 280
    )
    params = _params(
        qy_fraction="0.8",
        long_stay_days=60,
        per_diem={"3": "350", "2": "280", "1": "200"},
    )
    out = simulate(cases, _standards(), params)
    assert out.cases["payment_class"].to_list() == [
        "qy", "long_stay", "normal", "long_stay", "long_stay",
    ]  # fmt: skip
    assert out.cases["drg_payment"].to_list() == [
        D("800.04"), D("21350.00"), D("1000.00"), D("31500.00"), D("19600.00"),
    ]  # fmt: skip
    assert out.totals["long_stay"][0] == 3
    by_class = dict(zip(out.by_class["payment_class"], out.by_class["class_name"], strict=True))
    assert by_class["long_stay"] == "超长住院病例（按床日付费）"


def test_high_share_cap_per_hospital() -> None:
    # H1: 10 cases with a standard, 3 of them high; cap 20 % → 2 stay high, the one with
    # the lowest cost ratio (3,100 / 1,000) is paid the standard.  H2: 1 case, high, cap
    # ⌊0.2 × 1⌋ = 0 → capped.
    rows = [{"total_cost": "1000"}] * 6 + [{"total_cost": "200", "drg": "AA19"}]
    rows += [{"total_cost": "3100"}, {"total_cost": "3200"}, {"total_cost": "20000", "drg": "BB19"}]
    rows += [{"total_cost": "4000", "hospital_code": "H2"}]
    rows += [{"total_cost": "4000", "status": "ungroupable", "drg": "0000"}]  # not counted
    out = simulate(make_cases(*rows), _standards(), _params(high_share_cap="0.2")).cases
    classes = dict(zip(out["setl_id"], out["payment_class"], strict=True))
    assert [classes[f"S{i:04d}"] for i in (8, 9, 10, 11)] == [
        "high_capped", "high", "high", "high_capped",
    ]  # fmt: skip
    pay = dict(zip(out["setl_id"], out["drg_payment"], strict=True))
    assert (pay["S0008"], pay["S0009"], pay["S0011"]) == (D("1000.00"), D("3200.00"), D("1000.00"))
    assert classes["S0007"] == "low"


def test_high_share_cap_keeps_the_largest_excess_over_the_standard() -> None:
    # domain.md §1.5: rank by cost − standard (ADR 0043).  H1: 10 cases, cap 10 % → one
    # stays high.  AA19 3,900 (ratio 3.9, excess 2,900) against BB19 16,000 (ratio 3.2,
    # excess 11,000): BB19 stays, AA19 is paid its standard — a ratio would keep AA19.
    rows = [{"total_cost": "1000"}] * 8
    rows += [{"total_cost": "3900"}, {"total_cost": "16000", "drg": "BB19"}]
    out = simulate(make_cases(*rows), _standards(), _params(high_share_cap="0.1")).cases
    classes = dict(zip(out["setl_id"], out["payment_class"], strict=True))
    assert (classes["S0009"], classes["S0010"]) == ("high_capped", "high")
    # equal excess (11,000): the higher ratio stays (AA19 12 against BB19 3.2)
    rows = [{"total_cost": "1000"}] * 8
    rows += [{"total_cost": "12000"}, {"total_cost": "16000", "drg": "BB19"}]
    out = simulate(make_cases(*rows), _standards(), _params(high_share_cap="0.1")).cases
    classes = dict(zip(out["setl_id"], out["payment_class"], strict=True))
    assert (classes["S0009"], classes["S0010"]) == ("high", "high_capped")


def test_rules_are_validated_in_chinese() -> None:
    bad = {
        "rw_bands": [{"max_rw": None, "high": "3"}, {"max_rw": "1", "high": "2"}],
    }
    with pytest.raises(MeasureError, match="从小到大"):
        _params(**bad)
    with pytest.raises(MeasureError, match="床日付费标准"):
        _params(long_stay_days=60, per_diem={"3": "300"})
    with pytest.raises(MeasureError, match="歧义组支付比例"):
        _params(qy_fraction="1.2")
    with pytest.raises(MeasureError, match="高倍率阈值"):
        _params(rw_bands=[{"high": "0.9"}])
    with pytest.raises(MeasureError, match="比例上限"):
        _params(high_share_cap="1.5")


def test_solver_with_the_rules() -> None:
    # 三级, AA19 (RW 1) × 2 of 1,000 and one of 10,000; a QY case of 1,000 paid 70 %; a
    # 70-day stay paid 70 × 300 = 21,000.  Bands: RW ≤ 1 → high 4×, low 0.5×.
    # For 250 ≤ x ≤ 2,000 the two 1,000 cases are normal (2x), the 10,000 case is high
    # until x ≥ 2,500 → P = 10,000 + 700 + 21,000 + 2x = 35,000 → x = 1,650.
    cases = make_cases(
        {"total_cost": 1000},
        {"total_cost": 1000},
        {"total_cost": 10_000},
        {"total_cost": 1000, "status": "ambiguous_qy", "drg": "AQY"},
        {"total_cost": 5000, "los_days": 70},
    )
    weights = make_weights(("MDCA", "AA1", "AA19", "1", 0))
    params = _params(
        rw_bands=[{"max_rw": None, "high": "4", "low": "0.5"}],
        qy_fraction="0.7",
        long_stay_days=60,
        per_diem={"3": "300", "2": "250", "1": "200"},
    )
    plan = RatePlan.single(D(1000))
    solution = solve_rate_for_budget(cases, weights, plan, params, budget=D(35_000))
    assert solution.solved["base"] == D(1650)
    standards = payment_standards(weights, solution.rates)
    assert simulate(cases, standards, params).totals["drg_payment"][0] == D("35000.00")
    with pytest.raises(MeasureError, match="比例上限"):
        solve_rate_for_budget(cases, weights, plan, _params(high_share_cap="0.05"), budget=D(1))
