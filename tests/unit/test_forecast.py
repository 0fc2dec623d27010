"""Fund-run forecast (ADR 0037), every figure worked out by hand."""

from __future__ import annotations

import math

import pytest

from yibao.engines.analysis.forecast import Z95, forecast_year, overrun_probability


def test_trend_without_history() -> None:
    fc = forecast_year([100, 120, 110])
    # μ = 110; total = 330 + 9 × 110; σ = 10; sd = 10 × √(9 + 81 / 3) = 60
    assert fc.method == "trend" and fc.months_known == 3 and fc.ytd == 330
    assert fc.total == pytest.approx(1320)
    assert fc.sd == pytest.approx(60)
    assert fc.low == pytest.approx(1320 - Z95 * 60) and fc.high == pytest.approx(1320 + Z95 * 60)
    assert fc.monthly == [100, 120, 110] + [110] * 9
    assert overrun_probability(fc, 1320) == pytest.approx(0.5)
    assert overrun_probability(fc, 1320 + 60) == pytest.approx(0.158655, abs=1e-6)


def test_history_spreads_the_rest_by_earlier_years() -> None:
    flat = [100.0] * 12  # share of the first 3 months: 1/4
    late = [50.0] * 6 + [150.0] * 6  # 150 / 1200 = 1/8
    fc = forecast_year([100, 100, 100], [flat, late])
    # estimates 300 / (1/4) = 1200 and 300 / (1/8) = 2400: mean 1800, sd 848.53
    assert fc.method == "history"
    assert fc.total == pytest.approx(1800)
    assert fc.sd == pytest.approx(math.sqrt(((1200 - 1800) ** 2 + (2400 - 1800) ** 2) / 1))
    # mean shares: months 4–6 (1/12 + 1/24) / 2 = 0.0625, months 7–12 0.1041667;
    # the remaining 1,500 spread over 0.8125
    assert fc.monthly[3] == pytest.approx(1500 * 0.0625 / 0.8125)
    assert fc.monthly[11] == pytest.approx(1500 * (1 / 12 + 1 / 8) / 2 / 0.8125)
    assert sum(fc.monthly) == pytest.approx(1800)


def test_part_year_span_and_edges() -> None:
    fc = forecast_year([10, 20], months=3)  # paid under the system from October
    assert fc.total == pytest.approx(45)
    assert fc.sd == pytest.approx(math.sqrt(50) * math.sqrt(1 + 1 / 2))
    one = forecast_year([40])
    assert one.total == pytest.approx(480) and one.sd is None and one.low is None
    assert overrun_probability(one, 100) is None
    full = forecast_year([1.0] * 12)
    assert full.method == "actual" and full.total == 12 and full.sd == 0
    assert overrun_probability(full, 11) == 1.0 and overrun_probability(full, 12) == 0.0
    with pytest.raises(ValueError):
        forecast_year([])
    with pytest.raises(ValueError):
        forecast_year([1.0] * 4, months=3)


def test_history_without_spending_in_the_first_months_falls_back_to_the_trend() -> None:
    """Earlier years that paid nothing in their first two months (a system started
    mid-year) cannot scale this year's two months: the trend method is used, no
    error."""
    from yibao.engines.analysis.forecast import forecast_year

    fc = forecast_year([100.0, 120.0], history=[[0, 0] + [50.0] * 10], months=12)
    assert fc.method == "trend" and fc.total == 220.0 + 10 * 110.0


def test_a_month_not_confirmed_yet_is_forecast_not_zero() -> None:
    """March unknown between February and April: the trend is the mean of the three
    known months (110), and March is forecast like the months to come."""
    fc = forecast_year([100, 120, None, 110])
    assert fc.method == "trend" and fc.months_known == 3 and fc.ytd == 330
    assert fc.total == pytest.approx(330 + 9 * 110)
    assert fc.monthly[2] == pytest.approx(110) and fc.monthly[3] == 110
    assert fc.sd == pytest.approx(10 * math.sqrt(9 + 81 / 3))
    # with history: the estimate divides by the known months' share (1/12 each of a
    # flat year: 3/12), not the first four months'
    flat = [100.0] * 12
    fc = forecast_year([100, 120, None, 110], [flat, flat])
    assert fc.total == pytest.approx(330 / (3 / 12))
    assert fc.monthly[2] == pytest.approx((1320 - 330) / 9)
    assert sum(fc.monthly) == pytest.approx(1320)
    with pytest.raises(ValueError):
        forecast_year([None, None])
