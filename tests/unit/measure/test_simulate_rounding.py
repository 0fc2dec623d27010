"""The simulation's fund estimate and payment ratio round half up on the exact fen
(as pricing does), not as floats: an exact half fen of a binary product could land
just below .5 and be rounded down."""

from __future__ import annotations

from decimal import Decimal

import polars as pl

from yibao.engines.measure import SimulationParams, simulate

from .conftest import make_cases


def _standard(amount: str) -> pl.DataFrame:
    return pl.DataFrame(
        {"drg": ["AA19"], "hospital_level": ["3"], "payment_standard": [Decimal(amount)]},
        schema_overrides={"payment_standard": pl.Decimal(18, 2)},
    )


def test_fund_estimate_actual_ratio_rounds_half_up() -> None:
    """Normal case (cost 8,627.00 = 2.0 × standard 4,313.50, not > 3×): paid the
    standard.  Fund estimate = 4,313.50 × 4,619.71 ÷ 8,627.00 = 4,619.71 ÷ 2 =
    2,309.855 exactly → 四舍五入 2,309.86.  The float product is 230985.49999999997
    fen, rounded to 2,309.85."""
    cases = make_cases({"total_cost": "8627.00", "fund_payment": "4619.71"})
    out = simulate(cases, _standard("4313.50")).cases.row(0, named=True)
    assert (out["payment_class"], out["drg_payment"]) == ("normal", Decimal("4313.50"))
    assert out["fund_estimate"] == Decimal("2309.86")


def test_fund_estimate_fixed_share_rounds_half_up() -> None:
    """fund_share="fixed" with the default 0.7: 7,000.05 × 0.7 = 4,900.035 exactly →
    4,900.04; the float 700005 × 0.7 = 490003.49999999994 fen gives 4,900.03."""
    cases = make_cases({"total_cost": "7000.05", "fund_payment": "0"})
    params = SimulationParams(fund_share="fixed")
    out = simulate(cases, _standard("7000.05"), params).cases.row(0, named=True)
    assert out["drg_payment"] == Decimal("7000.05")
    assert out["fund_estimate"] == Decimal("4900.04")


def test_payment_ratio_rounds_half_up() -> None:
    """Minor, same float step as the fixed ``cost_ratio``: the summaries'
    ``payment_ratio`` = payment ÷ cost is rounded as a float by Polars.  Normal case,
    cost 10,000.00, standard 10,002.50: 10,002.50 ÷ 10,000.00 = 1.00025 → 四舍五入
    1.0003; the float 1.00025 (just below on binary) is shown as 1.0002."""
    cases = make_cases({"total_cost": "10000.00", "fund_payment": "7000"})
    totals = simulate(cases, _standard("10002.50")).totals.row(0, named=True)
    assert totals["drg_payment"] == Decimal("10002.50")
    assert Decimal(str(totals["payment_ratio"])) == Decimal("1.0003")
