"""DRG post-audit detectors: hand-computed cases found in review.

Each test states the hand computation; the product is not changed here."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from tests.unit.audit.test_detectors import case, only, run, visits


def test_one_outpatient_visit_is_not_cost_shifting_money_of_two_stays() -> None:
    """Two stays of P1 at H1: S1 2024-03-01 .. 03-05, S2 2024-03-12 .. 03-15.  One
    outpatient visit at H1 on 03-08 of 600.00 元 lies 3 days after S1's discharge and
    4 days before S2's admission, so it is in both windows (7 days after / 7 days
    before).  600.00 元 of outpatient money was spent; DRG-SHIFT reports 600.00 on S1
    *and* 600.00 on S2 — 1,200.00 元 claimed for 600.00 spent.  Detector findings are
    not capped per line (ADR 0041 "Not capped": "their amounts measure different
    money"), so upholding both deducts the same 600.00 twice.

    Hand: Σ vola_amt of DRG-SHIFT must not exceed the 600.00 actually spent (one
    finding carrying it, or the visit split between the stays)."""
    rows = [
        case("S1", adm=date(2024, 3, 1), los=4),
        case("S2", adm=date(2024, 3, 12), los=3, mdc="MDCG", adrg="GB1", drg="GB15"),
    ]
    out = visits([("P1", "H1", date(2024, 3, 8), "600.00")])
    found = only(run(rows, out), "DRG-SHIFT")
    assert found, "the visit is cost shifting for at least one of the stays"
    total = sum((f["vola_amt"] for f in found), Decimal(0))
    assert total <= Decimal("600.00"), [(f["mdtrt_id"], f["vola_amt"]) for f in found]
