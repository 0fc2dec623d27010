"""A decided amount spread over a finding's fee lines (ADR 0041): the shares sum to
the decision and no line gives more than it claims."""

from __future__ import annotations

from decimal import Decimal

from hypothesis import given
from hypothesis import strategies as st

from yibao.supervision.findings.feelines import Take, shares

D = Decimal


def test_a_small_last_line_does_not_swallow_the_remainder() -> None:
    # review found: 100.00 + 100.00 + 0.01 claimed, 200.00 upheld → 199.99 was deducted
    claims = {"R1": D("100.00"), "R2": D("100.00"), "R3": D("0.01")}
    out = shares(D("200.00"), claims, D("200.01"))
    assert sum(out.values()) == D("200.00") and all(out[k] <= claims[k] for k in claims)
    many = {f"R{i}": D("100.00") for i in range(50)} | {"X": D("0.01")}
    out = shares(D("5000.00"), many, D("5000.01"))
    assert sum(out.values()) == D("5000.00") and out["X"] <= D("0.01")


def test_a_shortfall_without_an_earlier_finding_says_why() -> None:
    words = Take(D("10.00"), claimed=D("10.00")).words()
    assert "违规金额合计 10.00 元" in words and "疑点" not in words
    assert "疑点 7 扣款 3.00 元" in Take(D("1"), earlier={7: D("3.00")}).words()


cents = st.integers(min_value=1, max_value=10_000_000).map(lambda n: D(n) / 100)


@given(st.lists(cents, min_size=1, max_size=12), st.floats(min_value=0, max_value=1))
def test_shares_sum_to_the_decision_within_the_claims(claims: list[Decimal], part: float) -> None:
    claimed = {f"R{i}": c for i, c in enumerate(claims)}
    total = sum(claims, D(0))
    amount = (total * D(str(part))).quantize(D("0.01"), rounding="ROUND_DOWN")
    out = shares(amount, claimed, total)
    assert sum(out.values(), D(0)) == amount
    assert all(D(0) <= out[k] <= claimed[k] for k in claimed)
    assert all(v == v.quantize(D("0.01")) for v in out.values())
