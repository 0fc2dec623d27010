"""DIP payment against hand-computed examples: level coefficients with add-ons,
deviation-adjusted scores × coefficient × point value, by-items cases, hospital
totals, and the point value that spends a budget."""

from __future__ import annotations

from decimal import Decimal

import polars as pl
import pytest

from yibao.engines.dip.payment import (
    case_payments,
    coefficients,
    hospital_summary,
    solve_point_value,
)
from yibao.engines.measure.errors import MeasureError

D = Decimal
HOSPITALS = pl.DataFrame({"code": ["H3", "H2"], "level": ["3", "2"]})
MONEY = pl.Decimal(18, 2)


def _cases() -> pl.DataFrame:
    return pl.DataFrame(
        {
            "hospital_code": ["H3", "H2", "H2", "H3"],
            "total_cost": [D("10000"), D("3000"), D("25000"), D("4321.09")],
            "dip_code": ["A", "A", "A", None],
            "score": [D("1000.00"), D("1000.00"), D("1000.00"), None],
            "standard_cost": [D("10000")] * 3 + [None],
        },
        schema={
            "hospital_code": pl.String,
            "total_cost": MONEY,
            "dip_code": pl.String,
            "score": MONEY,
            "standard_cost": MONEY,
        },
    )


def test_coefficients_are_the_level_base_plus_add_ons() -> None:
    coef = coefficients(HOSPITALS, add_ons={"H3": D("0.05")})
    assert coef == {"H3": D("0.98"), "H2": D("0.72")}  # Xiamen L0 0.93 / 0.72
    with pytest.raises(MeasureError, match="没有基础系数"):
        coefficients(pl.DataFrame({"code": ["X"], "level": ["9"]}))


def test_case_payment_is_adjusted_score_times_coefficient_times_point_value() -> None:
    coef = coefficients(HOSPITALS, add_ons={"H3": D("0.05")})
    paid = case_payments(_cases(), coef, D("10.0000"))
    rows = paid.to_dicts()
    assert [r["deviation"] for r in rows] == ["normal", "low", "high", None]
    assert [r["adjusted_score"] for r in rows] == [D("1000.00"), D("300.00"), D("1500.00"), None]
    # 1000 × 0.98 × 10; 300 × 0.72 × 10; 1500 × 0.72 × 10; by items: its cost
    assert [r["payment"] for r in rows] == [D("9800.00"), D("2160.00"), D("10800.00"), D("4321.09")]
    assert [r["by_items"] for r in rows] == [False, False, False, True]

    summary = {r["hospital_code"]: r for r in hospital_summary(paid).to_dicts()}
    assert summary["H2"]["cases"] == 2 and (summary["H2"]["low"], summary["H2"]["high"]) == (1, 1)
    assert summary["H2"]["payment"] == D("12960.00") and summary["H2"]["balance"] == D("-15040.00")
    assert summary["H3"]["by_items"] == 1
    assert summary["H3"]["total_cost"] == D("14321.09") and summary["H3"]["balance"] == D("-200.00")


def test_point_value_that_spends_a_budget() -> None:
    coef = coefficients(HOSPITALS, add_ons={"H3": D("0.05")})
    paid = case_payments(_cases(), coef, D("10"))
    # (30000 − 4321.09) ÷ (1000×0.98 + 300×0.72 + 1500×0.72) = 25678.91 ÷ 2276
    point = solve_point_value(paid, D("30000"))
    assert point == D("11.2825")
    again = case_payments(_cases(), coef, point)
    spent = sum(again["payment"].to_list(), D(0))
    assert abs(spent - D("30000")) < D("1")  # the rest is the fen rounding of each case
    with pytest.raises(MeasureError, match="预算"):
        solve_point_value(paid, D("4000"))


def test_bad_inputs_are_refused() -> None:
    with pytest.raises(MeasureError, match="点值必须大于 0"):
        case_payments(_cases(), {"H3": D(1), "H2": D(1)}, D(0))
    with pytest.raises(MeasureError, match="没有医疗机构系数"):
        case_payments(_cases(), {"H3": D(1)}, D(1))


def test_levels_not_given_keep_their_default_base() -> None:
    """A scheme or simulation giving level 3 alone: levels 1 and 2 keep the defaults
    (they had none, and every list of their hospitals was refused)."""
    from yibao.engines.dip.params import LEVEL_COEFFICIENTS, PaymentParams

    params = PaymentParams.model_validate({"coefficients": {"3": "0.95"}})
    assert params.coefficients == {**LEVEL_COEFFICIENTS, "3": D("0.95")}
    assert set(params.coefficients) == {"1", "2", "3"}
