"""The DRG payment rules of issue 14 item 7 in settlement pricing (ADR 0031): the same
classification as the simulation, with the thresholds and explanation of each case."""

from __future__ import annotations

from decimal import Decimal

import pytest

from yibao.engines.measure import SimulationParams, parse_params
from yibao.engines.settlement import PricingParams, SettlementError, price_batch

from .conftest import D, case, frame, standards

LOCAL = {"fund_formula": "local", "items_fund": "actual"}


def _params(**rules: object) -> PricingParams:
    cls = parse_params(SimulationParams, {"rules": rules})
    return PricingParams(classification=cls, **LOCAL)  # type: ignore[arg-type]


def _price(params: PricingParams, *cases: object) -> dict[str, dict[str, object]]:
    table = standards(("AA19", "3", "4000", "0.4"), ("BB19", "3", "20000", "2"))
    out = price_batch(frame(*cases), table, None, params)  # type: ignore[arg-type]
    return {r["setl_id"]: r for r in out.iter_rows(named=True)}


def test_rw_band_thresholds_in_pricing() -> None:
    bands = [{"max_rw": "1", "high": "2.5"}, {"max_rw": None, "high": "1.5", "low": "0.5"}]
    p = _price(
        _params(rw_bands=bands),
        case(setl_id="a", total_cost=10_000, account_payment=0, cash_payment=3000),
        case(setl_id="b", drg="BB19", total_cost=31_000, account_payment=0, cash_payment=3000),
        case(setl_id="c", drg="BB19", total_cost=9_999, account_payment=0, cash_payment=3000),
    )
    # AA19 (RW 0.4): 2.5 × 4,000 = 10,000 → exactly at the bound: normal
    assert (p["a"]["payment_class"], p["a"]["high_threshold"]) == ("normal", D("10000.00"))
    assert "高倍率 2.5 倍" in str(p["a"]["explanation"])
    # BB19 (RW 2): 1.5 × 20,000 = 30,000 < 31,000 → high, by items
    assert (p["b"]["payment_class"], p["b"]["drg_payment"]) == ("high", D("31000.00"))
    assert p["b"]["high_threshold"] == D("30000.00")
    # BB19 low bound 0.5 × 20,000 = 10,000 > 9,999 → low
    assert (p["c"]["payment_class"], p["c"]["low_threshold"]) == ("low", D("10000.00"))


def test_long_stay_per_diem_and_qy_share_in_pricing() -> None:
    params = _params(
        long_stay_days=60, per_diem={"3": "320.50", "2": "250", "1": "200"}, qy_fraction="0.85"
    )
    p = _price(
        params,
        case(setl_id="l", los_days=75, total_cost=30_000, fund_payment=21_000),
        case(setl_id="q", status="ambiguous_qy", drg="AQY", total_cost="1000.01"),
        case(setl_id="n", los_days=60, total_cost=4_000, account_payment=0, cash_payment=1000),
    )
    # 75 × 320.50 = 24,037.50; the fund scaled like an item-paid case: 21,000 × 24,037.50 / 30,000
    assert (p["l"]["payment_class"], p["l"]["payment_basis"]) == ("long_stay", "per_diem")
    assert p["l"]["drg_payment"] == D("24037.50")
    assert p["l"]["fund_amount"] == D("16826.25")
    assert "住院 75 天，超过 60 天，按床日付费 24037.50 元" in str(p["l"]["explanation"])
    assert "LONG_STAY" in p["l"]["reason_codes"] and "PAY_PER_DIEM" in p["l"]["reason_codes"]
    # QY: 1,000.01 × 0.85 = 850.0085 → 850.01 (half up)
    assert (p["q"]["payment_class"], p["q"]["drg_payment"]) == ("qy", D("850.01"))
    assert p["n"]["payment_class"] == "normal"
    # the settlement's own QY share wins when set
    own = PricingParams(classification=params.classification, qy_fraction=Decimal("0.5"), **LOCAL)  # type: ignore[arg-type]
    q = _price(own, case(setl_id="q", status="ambiguous_qy", drg="AQY", total_cost="1000.01"))
    assert q["q"]["drg_payment"] == D("500.01")


def test_high_share_cap_at_year_end_clearing() -> None:
    """H1 has 5 cases: 2 normal and 3 high (cost ratios 3.5, 4.0, 3.2); a 40 % cap keeps
    ⌊0.4 × 5⌋ = 2 high, the lowest ratio (3.2) is re-paid by weight."""
    import polars as pl

    from yibao.engines.caseframe import MONEY
    from yibao.engines.settlement import ClearingParams, monthly_statement, year_end_clearing

    rows = [
        ("n1", "normal", "standard", "1.0", "10000", "0", "1.0000"),
        ("n2", "normal", "standard", "1.0", "10000", "0", "0.9000"),
        ("h1", "high", "items", "1.0", "35000", "35000", "3.5000"),
        ("h2", "high", "items", "1.0", "40000", "40000", "4.0000"),
        ("h3", "high", "items", "1.0", "32000", "32000", "3.2000"),
    ]
    year = pl.DataFrame(
        {
            "setl_id": [r[0] for r in rows],
            "hospital_code": ["H1"] * 5,
            "hospital_level": ["3"] * 5,
            "payment_class": [r[1] for r in rows],
            "payment_basis": [r[2] for r in rows],
            "relative_weight": [D(r[3]) for r in rows],
            "total_cost": [D(r[4]) for r in rows],
            "payment_standard": [D("10000")] * 5,
            "drg_payment": [D(r[4]) for r in rows],
            "items_part": [D(r[5]) for r in rows],
            "fund_amount": [D(r[4]) * D("0.7") for r in rows],
            "patient_other": [D(r[4]) * D("0.3") for r in rows],
            "cost_ratio": [D(r[6]) for r in rows],
        }
    ).with_columns(
        pl.col("relative_weight").cast(pl.Decimal(18, 4)),
        pl.col("cost_ratio").cast(pl.Decimal(18, 4)),
        *(
            pl.col(c).cast(MONEY)
            for c in (
                "total_cost",
                "payment_standard",
                "drg_payment",
                "items_part",
                "fund_amount",
                "patient_other",
            )
        ),
    )
    month = monthly_statement(year, period="2025-01")
    params = ClearingParams(high_share_cap=D("0.4"))
    r = year_end_clearing(year, D("105000"), [month], {"H1": 100}, params)
    classes = dict(zip(r.cases["setl_id"], r.cases["payment_class"], strict=True))
    assert classes == {
        "h1": "high", "h2": "high", "h3": "high_capped", "n1": "normal", "n2": "normal",
    }  # fmt: skip
    # fixed 35,000 + 40,000; weights 3 (n1, n2, h3) → rate (105,000 − 75,000) ÷ 3 = 10,000
    assert (r.fixed_total, r.final_value) == (D("75000.00"), D("10000.0000"))
    final = dict(zip(r.cases["setl_id"], r.cases["final_payment"], strict=True))
    assert final["h3"] == D("10000.00") and final["h2"] == D("40000.00")
    # without the cap all three high cases are item-paid (107,000 > the budget)
    with pytest.raises(SettlementError, match=r"107000\.00"):
        year_end_clearing(year, D("105000"), [month], {"H1": 100}, ClearingParams())


def test_high_share_cap_at_clearing_ranks_by_excess_over_the_standard() -> None:
    """domain.md §1.5 (ADR 0043): of two high cases with a cap of one, the one whose
    cost exceeds its standard by more stays item-paid, whatever the ratios: A costs
    9,000 on a 2,000 standard (ratio 4.5, excess 7,000), B 36,000 on 10,000 (3.6,
    26,000).  B stays; A is paid by weight."""
    import polars as pl

    from yibao.engines.caseframe import MONEY
    from yibao.engines.settlement import ClearingParams, monthly_statement, year_end_clearing

    rows = [  # id, class, basis, rw, cost, standard, items part, ratio
        ("a", "high", "items", "0.2", "9000", "2000", "9000", "4.5000"),
        ("b", "high", "items", "1.0", "36000", "10000", "36000", "3.6000"),
        *(
            (f"n{i}", "normal", "standard", "1.0", "10000", "10000", "0", "1.0000")
            for i in range(8)
        ),
    ]
    year = pl.DataFrame(
        {
            "setl_id": [r[0] for r in rows],
            "hospital_code": ["H1"] * len(rows),
            "hospital_level": ["3"] * len(rows),
            "payment_class": [r[1] for r in rows],
            "payment_basis": [r[2] for r in rows],
            "relative_weight": [D(r[3]) for r in rows],
            "total_cost": [D(r[4]) for r in rows],
            "payment_standard": [D(r[5]) for r in rows],
            "drg_payment": [D(r[4]) for r in rows],
            "items_part": [D(r[6]) for r in rows],
            "fund_amount": [D(r[4]) * D("0.7") for r in rows],
            "patient_other": [D(r[4]) * D("0.3") for r in rows],
            "cost_ratio": [D(r[7]) for r in rows],
        }
    ).with_columns(
        pl.col("relative_weight").cast(pl.Decimal(18, 4)),
        pl.col("cost_ratio").cast(pl.Decimal(18, 4)),
        *(
            pl.col(c).cast(MONEY)
            for c in (
                "total_cost",
                "payment_standard",
                "drg_payment",
                "items_part",
                "fund_amount",
                "patient_other",
            )
        ),
    )
    month = monthly_statement(year, period="2025-01")
    params = ClearingParams(high_share_cap=D("0.1"))  # ⌊0.1 × 10⌋ = 1 stays high
    r = year_end_clearing(year, D("200000"), [month], {"H1": 100}, params)
    classes = dict(zip(r.cases["setl_id"], r.cases["payment_class"], strict=True))
    assert (classes["a"], classes["b"]) == ("high_capped", "high")
