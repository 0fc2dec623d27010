"""Case base exclusions and outlier trimming, checked against hand-computed cases."""

from __future__ import annotations

import math
from decimal import Decimal

import polars as pl
import pytest

from yibao.engines.measure import (
    ExclusionRules,
    MeasureError,
    TrimParams,
    apply_exclusions,
    grouping_rate,
    trim_outliers,
)

from .conftest import make_cases


def _base() -> pl.DataFrame:
    return make_cases(
        {},  # 1 kept
        {"los_days": 0},  # 2 LOS ≤ 0
        {"los_days": 61},  # 3 LOS > 60
        {"los_days": 60},  # 4 kept (the window is inclusive)
        {"total_cost": "4.99"},  # 5 below the 5-yuan floor
        {"total_cost": "5.00"},  # 6 kept
        {"status": "ungroupable", "drg": "0000"},  # 7
        {"status": "check_failed", "drg": "0000"},  # 8 ungroupable too
        {"status": "ambiguous_qy", "drg": "AQY"},  # 9
        {"hospital_level": None},  # 10 missing field
        {"year": 2020},  # 11 outside the chosen years
        {"status": "ungroupable", "drg": "0000", "los_days": 0},  # 12 LOS comes first
    )


def test_exclusion_reasons_counts_and_order() -> None:
    result = apply_exclusions(_base(), ExclusionRules(years=(2023, 2024)))
    assert result.kept["setl_id"].to_list() == ["S0001", "S0004", "S0006"]
    assert result.summary.select("reason_code", "cases").rows() == [
        ("missing", 1),
        ("out_of_years", 1),
        ("los_out_of_range", 3),  # 2, 3, 12
        ("cost_below_floor", 1),
        ("ungroupable", 2),  # 7, 8
        ("ambiguous_qy", 1),
    ]
    assert result.summary["reason"][2] == "住院天数 < 1 天 或 > 60 天"
    # excluded cost: the three LOS cases cost 100 each
    assert result.summary["total_cost"][2] == Decimal("300.00")
    codes = dict(zip(result.excluded["setl_id"], result.excluded["reason_code"], strict=True))
    assert codes["S0012"] == "los_out_of_range"


def test_grouping_rate() -> None:
    # eligible = 12 − 6 data exclusions (missing, years, 3 × LOS, cost) = 6 (cases 1,4,6,7,8,9)
    # grouped = status ok among them = 3  → 入组率 = 3 / 6
    result = apply_exclusions(_base(), ExclusionRules(years=(2023, 2024)))
    assert grouping_rate(result) == (3, 6)


def test_rules_can_be_switched_off() -> None:
    rules = ExclusionRules(
        los_min_days=None, los_max_days=None, cost_floor=None, exclude_qy=False, required=()
    )
    result = apply_exclusions(_base(), rules)
    # only the three ungroupable cases (7, 8, 12) go
    assert result.excluded["setl_id"].to_list() == ["S0007", "S0008", "S0012"]
    assert result.summary["reason_code"].to_list() == ["ungroupable"]


def test_missing_column_is_reported() -> None:
    with pytest.raises(MeasureError, match="输入缺少列 los_days"):
        apply_exclusions(_base().drop("los_days"))


def _group(costs: list[int], drg: str = "AA19", year: int = 2024) -> list[dict[str, object]]:
    return [{"total_cost": c, "drg": drg, "year": year} for c in costs]


def test_iqr_fences() -> None:
    # sorted 50, 200, …, 900, 5000 (n = 10): linear quantiles at (n − 1)·p
    # Q1 = x[2.25] = 300 + 0.25·100 = 325, Q3 = x[6.75] = 700 + 0.75·100 = 775, IQR = 450
    # lower = 325 − 0.5·450 = 100, upper = 775 + 1.5·450 = 1450 → 50 low, 5000 high
    costs = [50, 200, 300, 400, 500, 600, 700, 800, 900, 5000]
    small = _group([10, 20, 30, 10_000], drg="BB19")  # 4 < min_cases: not trimmed
    cases = make_cases(*_group(costs), *small)
    kept, trimmed, fences = trim_outliers(cases, TrimParams(min_cases=5))
    assert sorted(zip(trimmed["total_cost"], trimmed["trim_side"], strict=True)) == [
        (Decimal("50.00"), "low"),
        (Decimal("5000.00"), "high"),
    ]
    assert kept.height == 12 and kept.columns == cases.columns
    row = fences.row(0, named=True)
    assert (row["drg"], row["q1"], row["q3"], row["lower"], row["upper"]) == (
        "AA19",
        325.0,
        775.0,
        100.0,
        1450.0,
    )
    assert (row["below"], row["above"], row["kept"], row["applied"]) == (1, 1, 8, True)
    other = fences.row(1, named=True)
    assert (other["drg"], other["applied"], other["lower"], other["kept"]) == (
        "BB19",
        False,
        None,
        4,
    )


def test_fences_are_per_year() -> None:
    cases = make_cases(*_group([100] * 9 + [1000], year=2023), *_group([1000] * 10, year=2024))
    _, trimmed, fences = trim_outliers(cases, TrimParams(min_cases=5))
    # 2023: Q1 = Q3 = 100 → 1000 trimmed; 2024: all equal, nothing trimmed
    assert trimmed["year"].to_list() == [2023]
    assert fences["year"].to_list() == [2023, 2024]


def test_percentile_fences_keep_equal_values() -> None:
    # 100 … 1100 (n = 11): P10 = x[1.0] = 200, P90 = x[9.0] = 1000; equal values are kept
    cases = make_cases(*_group([100 * i for i in range(1, 12)]))
    params = TrimParams(method="percentile", lower_percentile=10, upper_percentile=90, min_cases=5)
    kept, trimmed, fences = trim_outliers(cases, params)
    assert trimmed["total_cost"].to_list() == [Decimal("100.00"), Decimal("1100.00")]
    assert (fences["p_low"][0], fences["p_high"][0]) == (200.0, 1000.0)
    assert kept.height == 9


def test_log_sd_fences() -> None:
    # ln costs: L = ln 100 four times and 2L once; mean = 1.2L
    # deviations −0.2L (×4), 0.8L: SS = 0.16L² + 0.64L² = 0.8L², var (ddof 1) = 0.2L², sd = √0.2·L
    # with k = 1: upper = exp(1.2L + √0.2·L) = 100^(1.2 + 0.4472) ≈ 1970 → 10,000 trimmed
    cases = make_cases(*_group([100, 100, 100, 100, 10_000]))
    _, trimmed, fences = trim_outliers(cases, TrimParams(method="log_sd", sd_k=1, min_cases=5))
    big_l = math.log(100)
    assert fences["mean_log"][0] == pytest.approx(1.2 * big_l)
    assert fences["sd_log"][0] == pytest.approx(math.sqrt(0.2) * big_l)
    assert fences["upper"][0] == pytest.approx(100 ** (1.2 + math.sqrt(0.2)))
    assert trimmed["total_cost"].to_list() == [Decimal("10000.00")]


def test_method_none_keeps_everything() -> None:
    cases = make_cases(*_group([1, 100, 10_000] * 5))
    kept, trimmed, _ = trim_outliers(cases, TrimParams(method="none"))
    assert (kept.height, trimmed.height) == (15, 0)
