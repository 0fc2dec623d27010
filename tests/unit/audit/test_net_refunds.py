"""Refund lines taken into the charges they name before auditing (ADR 0045)."""

from __future__ import annotations

from decimal import Decimal as D

from yibao.engines.audit.claims import net_refunds


def test_refunds_are_taken_off_the_charge_they_name_in_their_own_visit() -> None:
    lines = [
        (1, "L1", None, D(5), D("10.00")),  # charge: 3 taken back in two refunds
        (1, "R1", "L1", D(-1), D("-2.00")),
        (1, "R2", "L1", D(-2), D("-4.00")),
        (1, "L2", None, D(1), D("7.50")),  # refunded in full: nothing kept
        (1, "R3", "L2", D(-1), D("-7.50")),
        (2, "L1", None, D(4), D("8.00")),  # another visit's L1: untouched
        (2, "R9", "L7", D(-1), D("-2.00")),  # names no charge here: left as it is
        (1, "L3", "L1", D(2), D("4.00")),  # a charge (positive) naming one: no refund
    ]
    assert net_refunds(lines) == [
        (D(2), D("4.00")),
        None,
        None,
        (D(0), D("0.00")),
        None,
        (D(4), D("8.00")),
        (D(-1), D("-2.00")),
        (D(2), D("4.00")),
    ]


def test_nothing_to_net() -> None:
    assert net_refunds([]) == []
    assert net_refunds([("v", "L1", "", D(1), D(1))]) == [(D(1), D(1))]
