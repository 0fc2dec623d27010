"""A charge refunded unit by unit cancels to the fen: each refund line naming its
charge (init_feedetl_sn) mirrors the charge's split on the cumulative refund (ADR 0045)."""

from __future__ import annotations

from decimal import Decimal

from yibao.engines.catalogue import CatalogueItem, FeeLine, classify_fees
from yibao.engines.settlement.errors import SettlementError
from yibao.engines.settlement.realtime import _fees

D = Decimal


def test_a_charge_refunded_unit_by_unit_leaves_no_parts() -> None:
    """乙类 drug, 先自付 10 %, no cap; a 甲类 item of 100.00 on the same stay.

    Charge: 3 × 3.35 = 10.05 → 先自付 1.005 → 1.01, 范围内 9.04.
    Refunds (init_feedetl_sn = the charge), three lines of −1 × 3.35 = −3.35 →
    先自付 −0.335 → −0.34 each, 范围内 −3.01 each.
    Rounded line by line the drug would net 先自付 1.01 − 1.02 = −0.01 and 范围内
    +0.01 (the stay's 先自付 −0.01: settlement refuses "费用不能为负数").  Mirrored on
    the cumulative refund: 先自付 1.01 × (−1/3, −2/3, −1) = −0.34, −0.67, −1.01, so
    −0.34, −0.33, −0.34 per line, and the refunded drug leaves 0.00 in every part:
    100.00 = 0 + 0 + 0.00 + 100.00."""
    cat = {
        "B": CatalogueItem(
            code="B",
            name="演示乙药",
            kind="western",
            fee_type="09",
            chrgitm_lv="02",
            selfpay_prop=D("0.10"),
        ),
        "A": CatalogueItem(
            code="A",
            name="演示甲项",
            kind="service",
            fee_type="05",
            chrgitm_lv="01",
        ),
    }
    lines = [
        FeeLine("A", D(1), D("100.00"), D("100.00"), ref="1"),
        FeeLine("B", D(3), D("3.35"), D("10.05"), ref="2"),
        FeeLine("B", D(-1), D("3.35"), D("-3.35"), ref="3", init_ref="2"),
        FeeLine("B", D(-1), D("3.35"), D("-3.35"), ref="4", init_ref="2"),
        FeeLine("B", D(-1), D("3.35"), D("-3.35"), ref="5", init_ref="2"),
    ]
    t = classify_fees(lines, cat, "3").totals
    try:
        _fees(t)
        refused = ""
    except SettlementError as exc:
        refused = exc.message
    assert (t.medfee_sumamt, t.preselfpay_amt, t.inscp_scp_amt, refused) == (
        D("100.00"),
        D("0.00"),
        D("100.00"),
        "",
    )


def test_a_refund_beyond_its_charge_is_refused_and_partial_refunds_stay_exact() -> None:
    import pytest

    from yibao.engines.catalogue import CatalogueError

    cat = {
        "B": CatalogueItem(
            code="B",
            name="演示乙药",
            kind="western",
            fee_type="09",
            chrgitm_lv="02",
            selfpay_prop=D("0.10"),
        )
    }
    charge = FeeLine("B", D(3), D("3.35"), D("10.05"), ref="C")
    one = FeeLine("B", D(-1), D("3.35"), D("-3.35"), ref="R1", init_ref="C")
    split = classify_fees([charge, one], cat, "3").lines[1]
    assert (split.preselfpay_amt, split.inscp_scp_amt) == (D("-0.34"), D("-3.01"))
    assert split.chrgitm_lv == "02" and split.selfpay_prop == D("0.10")
    too_much = FeeLine("B", D(-4), D("3.35"), D("-13.40"), ref="R2", init_ref="C")
    with pytest.raises(CatalogueError, match=r"超过原费用明细 C 尚未退费的 10\.05"):
        classify_fees([charge, too_much], cat, "3")
