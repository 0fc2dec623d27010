"""Relative weights (year-weighted, exact rounding, fallbacks) and grouping quality."""

from __future__ import annotations

from decimal import Decimal

import polars as pl
import pytest

from yibao.engines.measure import (
    MeasureError,
    WeightParams,
    apply_exclusions,
    quality,
    relative_weights,
)

from .conftest import make_cases


def _row(drg: str, year: int, cost: int, adrg: str = "AA1") -> dict[str, object]:
    return {"drg": drg, "adrg": adrg, "year": year, "total_cost": cost}


def _three_years() -> pl.DataFrame:
    # AA11: 2022 {100, 300} m=200; 2023 {300} m=300; 2024 {400, 400} m=400
    # BB19: 2022 {200} m=200;      2023 {100} m=100; 2024 {200, 200} m=200
    # AA13: 2024 {300} only (same ADRG AA1 as AA11)
    # all cases per year: 2022 600/3 = 200; 2023 400/2 = 200; 2024 1500/5 = 300
    return make_cases(
        _row("AA11", 2022, 100),
        _row("AA11", 2022, 300),
        _row("AA11", 2023, 300),
        _row("AA11", 2024, 400),
        _row("AA11", 2024, 400),
        _row("BB19", 2022, 200, "BB1"),
        _row("BB19", 2023, 100, "BB1"),
        _row("BB19", 2024, 200, "BB1"),
        _row("BB19", 2024, 200, "BB1"),
        _row("AA13", 2024, 300),
    )


def test_year_weighted_relative_weights() -> None:
    # M    = (1·200 + 2·200 + 7·300) / 10 = 270
    # AA11 = (1·200 + 2·300 + 7·400) / 10 = 360 → 360 / 270 = 1.3333…
    # BB19 = (1·200 + 2·100 + 7·200) / 10 = 180 → 180 / 270 = 0.6666… → 0.6667 (half up)
    # AA13 has only 2024: weights renormalised over its years → 300 → 300 / 270 = 1.1111
    weights = relative_weights(_three_years(), WeightParams(min_cases=1))
    assert weights["drg"].to_list() == ["AA11", "AA13", "BB19"]
    assert weights["relative_weight"].to_list() == [
        Decimal("1.3333"),
        Decimal("1.1111"),
        Decimal("0.6667"),
    ]
    assert weights["mean_cost"].to_list() == [
        Decimal("360.00"),
        Decimal("300.00"),
        Decimal("180.00"),
    ]
    first = weights.row(0, named=True)
    assert (first["n_2022"], first["n_2023"], first["n_2024"], first["cases"], first["volume"]) == (
        2,
        1,
        2,
        5,
        2,
    )
    # pooled CV of AA11: 100, 300, 300, 400, 400 → mean 300, SS = 200² + 2·100² = 60,000,
    # var = 60,000 / 4 = 15,000, SD = 122.47 → CV = 0.4082
    assert first["cv"] == 0.4082
    assert weights["rw_source"].to_list() == ["drg", "drg", "drg"]


def test_custom_year_weights() -> None:
    # equal weights: M = (200 + 200 + 300) / 3 = 700/3; AA11 = (200 + 300 + 400) / 3 = 300
    # RW = 300 / (700/3) = 9/7 = 1.285714… → 1.2857
    params = WeightParams(year_weights=(1, 1, 1), min_cases=1)
    weights = relative_weights(_three_years(), params)
    assert weights["relative_weight"][0] == Decimal("1.2857")


def test_rounding_is_exact_half_up() -> None:
    # one year; mean of all = (2000.10 + 1999.90) / 2 = 2000.00
    # X: 2000.10 / 2000 = 1.00005 exactly → 1.0001 (float division gives 1.0000499… → 1.0000)
    # Y: 1999.90 / 2000 = 0.99995 exactly → 1.0000
    cases = make_cases(
        {"drg": "XX19", "total_cost": "2000.10"}, {"drg": "YY19", "total_cost": "1999.90"}
    )
    weights = relative_weights(cases, WeightParams(year_weights=(1,), min_cases=1))
    assert weights["relative_weight"].to_list() == [Decimal("1.0001"), Decimal("1.0000")]


def test_adrg_fallback_and_flags() -> None:
    # min_cases = 2: AA13 (1 case) takes ADRG AA1 = AA11 + AA13:
    # 2022 m=200, 2023 m=300, 2024 (400+400+300)/3 = 1100/3
    # M_AA1 = (200 + 600 + 7·1100/3) / 10 = 1010/3 → RW = (1010/3) / 270 = 1.246913… → 1.2469
    weights = relative_weights(_three_years(), WeightParams(min_cases=2))
    row = weights.filter(drg="AA13").row(0, named=True)
    assert (row["relative_weight"], row["rw_source"], row["needs_review"]) == (
        Decimal("1.2469"),
        "adrg",
        False,
    )
    assert "ADRG AA1" in row["note"]
    assert row["mean_cost"] == Decimal("300.00")  # its own cases, shown for reference
    flagged = relative_weights(_three_years(), WeightParams(min_cases=2, fallback="flag"))
    row = flagged.filter(drg="AA13").row(0, named=True)
    assert (row["relative_weight"], row["rw_source"], row["needs_review"]) == (
        Decimal("1.1111"),
        "drg_few",
        True,
    )


def test_adrg_below_minimum_is_flagged() -> None:
    weights = relative_weights(_three_years(), WeightParams(min_cases=10))
    assert set(weights["rw_source"]) == {"drg_few"}
    assert weights["needs_review"].all()


def test_catalogue_adds_drgs_without_cases() -> None:
    catalogue = pl.DataFrame({"mdc": ["MDCA"], "adrg": ["AA1"], "drg": ["AA15"]})
    weights = relative_weights(_three_years(), WeightParams(min_cases=2), catalogue=catalogue)
    row = weights.filter(drg="AA15").row(0, named=True)
    assert (row["cases"], row["relative_weight"], row["rw_source"]) == (
        0,
        Decimal("1.2469"),
        "adrg",
    )
    flagged = relative_weights(
        _three_years(), WeightParams(min_cases=2, fallback="flag"), catalogue=catalogue
    )
    row = flagged.filter(drg="AA15").row(0, named=True)
    assert (row["relative_weight"], row["rw_source"], row["needs_review"]) == (None, "none", True)


def test_year_count_must_match() -> None:
    with pytest.raises(MeasureError, match="病例有 3 个年度"):
        relative_weights(_three_years(), WeightParams(year_weights=(1, 2)))
    # naming the years selects them
    weights = relative_weights(
        _three_years(), WeightParams(years=(2023, 2024), year_weights=(1, 1), min_cases=1)
    )
    assert weights.columns[3:5] == ["n_2023", "n_2024"]


def test_row_order_does_not_matter() -> None:
    cases = _three_years()
    a = relative_weights(cases, WeightParams(min_cases=1))
    b = relative_weights(
        cases.sample(fraction=1.0, shuffle=True, seed=3), WeightParams(min_cases=1)
    )
    assert a.equals(b)


def test_quality_riv_and_rates() -> None:
    # AA19 {100, 300} mean 200, BB19 {400, 600} mean 500, grand mean 350
    # within SS = 4·100² = 40,000; between SS = 4·150² = 90,000 → RIV = 90/130 = 0.6923
    cases = make_cases(
        {"drg": "AA19", "total_cost": 100},
        {"drg": "AA19", "total_cost": 300},
        {"drg": "BB19", "adrg": "BB1", "total_cost": 400},
        {"drg": "BB19", "adrg": "BB1", "total_cost": 600},
        {"status": "ungroupable", "drg": "0000"},
        {"los_days": 0},
    )
    base = apply_exclusions(cases)
    weights = relative_weights(base.kept, WeightParams(year_weights=(1,), min_cases=1))
    report = quality(base.kept, weights, base)
    assert report.riv == 0.6923
    # RW: 200/350 = 0.5714, 500/350 = 1.4286 → mean (2·0.5714 + 2·1.4286)/4 = 1.0000
    assert report.mean_rw == Decimal("1.0000")
    # 入组率: eligible 5 (LOS case out), grouped 4 → 0.8
    assert (report.grouped, report.eligible, report.grouping_rate) == (4, 5, Decimal("0.8000"))
    assert (report.cases, report.drgs, report.drgs_cv_below_1) == (4, 2, 2)
