"""Year-end clearing — the high-case cap's tie-break (ADR 0043)."""

from __future__ import annotations

import polars as pl

from yibao.engines.caseframe import MONEY
from yibao.engines.measure import SimulationParams, parse_params, simulate
from yibao.engines.settlement import ClearingParams, year_end_clearing

from .conftest import D

#: two high cases of one 三级 hospital with the same excess over their standard
#: (30,000.00): "a1" 40,000.01 on 10,000.01 (exact ratio 3.9999970…), "b1" 40,000.00 on
#: 10,000.00 (exact ratio 4); both ratios are stored as 4.0000 (four places).
ROWS = [
    ("a1", "1.0001", "40000.01", "10000.01"),
    ("b1", "1.0000", "40000.00", "10000.00"),
]


def _year() -> pl.DataFrame:
    money = ("total_cost", "payment_standard", "drg_payment", "items_part")
    return pl.DataFrame(
        {
            "setl_id": [r[0] for r in ROWS],
            "hospital_code": ["H1", "H1"],
            "hospital_level": ["3", "3"],
            "payment_class": ["high", "high"],
            "payment_basis": ["items", "items"],
            "relative_weight": [D(r[1]) for r in ROWS],
            "total_cost": [D(r[2]) for r in ROWS],
            "payment_standard": [D(r[3]) for r in ROWS],
            "drg_payment": [D(r[2]) for r in ROWS],
            "items_part": [D(r[2]) for r in ROWS],
            "fund_amount": [D("30000.00")] * 2,
            "patient_other": [D("10000.00")] * 2,
            "cost_ratio": [D("4.0000")] * 2,
        }
    ).with_columns(
        pl.col("relative_weight").cast(pl.Decimal(18, 4)),
        pl.col("cost_ratio").cast(pl.Decimal(18, 4)),
        *(pl.col(c).cast(MONEY) for c in (*money, "fund_amount", "patient_other")),
    )


def test_cap_tie_on_excess_is_broken_by_the_exact_ratio() -> None:
    """ADR 0043: rank by cost − standard, "ties by the higher exact cost ratio, then by
    settlement id", in the simulation and the clearing alike.  Cap 0.5 of n = 2 → ⌊1⌋ =
    1 case stays high.  Excess tie (30,000.00 each); exact ratios 4 (b1) > 3.999997
    (a1) → b1 stays item-paid, a1 becomes high_capped — which is what the simulation
    does.  The clearing sorts on the stored 4-place ``cost_ratio`` (4.0000 = 4.0000)
    and falls through to the settlement id, so it keeps a1 and caps b1."""
    rules = parse_params(SimulationParams, {"rules": {"high_share_cap": "0.5"}})
    cases = pl.DataFrame(
        {
            "setl_id": ["a1", "b1"],
            "hospital_code": ["H1", "H1"],
            "hospital_level": ["3", "3"],
            "status": ["ok", "ok"],
            "drg": ["AA19", "BB19"],
            "total_cost": [D("40000.01"), D("40000.00")],
        },
        schema_overrides={"total_cost": MONEY},
    )
    standards = pl.DataFrame(
        {
            "drg": ["AA19", "BB19"],
            "hospital_level": ["3", "3"],
            "payment_standard": [D("10000.01"), D("10000.00")],
        },
        schema_overrides={"payment_standard": MONEY},
    )
    sim = simulate(cases, standards, rules).cases
    simulated = dict(zip(sim["setl_id"], sim["payment_class"], strict=True))
    assert simulated == {"a1": "high_capped", "b1": "high"}

    result = year_end_clearing(
        _year(), D("100000"), [], {"H1": 100}, ClearingParams(high_share_cap=D("0.5"))
    )
    cleared = dict(zip(result.cases["setl_id"], result.cases["payment_class"], strict=True))
    assert cleared == simulated
