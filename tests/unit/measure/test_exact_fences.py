"""Trim fences decide exactly (issue 10.4): a case on a fence is kept, one fen outside
is trimmed, for every method — checked against an independent implementation in
fractions of whole fen, and with cases built on, just inside and just outside each
fence (costs whose float arithmetic does not land on the fence)."""

from __future__ import annotations

import math
import random
from decimal import Decimal
from fractions import Fraction

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from yibao.engines.measure import TrimParams, trim_outliers

from .conftest import make_cases


def _quantile(costs: list[int], p: Fraction) -> Fraction:
    """Linear (type 7) quantile of whole-fen costs, exactly."""
    xs = sorted(costs)
    h = (len(xs) - 1) * p
    i = math.floor(h)
    j = min(i + 1, len(xs) - 1)
    return xs[i] + (h - i) * (xs[j] - xs[i])


def _oracle(costs: list[int], params: TrimParams) -> list[str | None]:
    """Each case's side (``low`` / ``high`` / None), computed independently."""
    if len(costs) < params.min_cases or params.method == "none":
        return [None] * len(costs)
    if params.method == "iqr":
        q1, q3 = _quantile(costs, Fraction(1, 4)), _quantile(costs, Fraction(3, 4))
        low = q1 - Fraction(params.iqr_lower_k) * (q3 - q1)
        high = q3 + Fraction(params.iqr_upper_k) * (q3 - q1)
    else:
        low = _quantile(costs, Fraction(params.lower_percentile) / 100)
        high = _quantile(costs, Fraction(params.upper_percentile) / 100)
    return ["low" if c < low else "high" if c > high else None for c in costs]


def _sides(costs: list[int], params: TrimParams) -> list[str | None]:
    """trim_outliers' decision for each case (costs in fen, one DRG × year)."""
    cases = make_cases(*({"total_cost": Decimal(c) / 100} for c in costs))
    _, trimmed, _ = trim_outliers(cases, params)
    side = dict(zip(trimmed["setl_id"], trimmed["trim_side"], strict=True))
    return [side.get(f"S{i:04d}") for i in range(1, len(costs) + 1)]


IQR_KS = [("0.5", "1.5"), ("0.7", "1.3"), ("1", "3"), ("0.25", "0.35")]


@pytest.mark.parametrize(("kl", "ku"), IQR_KS)
def test_iqr_on_inside_and_outside_each_fence(kl: str, ku: str) -> None:
    # n = 41: Q1 and Q3 are the 11th and 31st costs whatever the extreme case is, so a
    # probe placed as the minimum (maximum) does not move its own fence; the other
    # costs are multiples of 20 fen, so both fences fall on whole fen
    rng = random.Random(f"{kl}/{ku}")
    params = TrimParams(method="iqr", iqr_lower_k=Decimal(kl), iqr_upper_k=Decimal(ku))
    for _ in range(40):
        others = sorted(rng.randrange(5_000, 9_000) * 20 for _ in range(40))
        q1, q3 = Fraction(others[9]), Fraction(others[29])  # with the probe as minimum
        low = q1 - Fraction(Decimal(kl)) * (q3 - q1)
        assert low.denominator == 1
        for probe, side in ((low, None), (low + 1, None), (low - 1, "low")):
            if not 0 < probe <= others[0]:
                continue
            costs = [int(probe), *others]
            assert _sides(costs, params)[0] == side, (others, probe)
            assert _oracle(costs, params)[0] == side
        q1, q3 = Fraction(others[10]), Fraction(others[30])  # with the probe as maximum
        high = q3 + Fraction(Decimal(ku)) * (q3 - q1)
        for probe, side in ((high, None), (high - 1, None), (high + 1, "high")):
            if probe < others[-1]:
                continue
            costs = [*others, int(probe)]
            assert _sides(costs, params)[-1] == side, (others, probe)


@pytest.mark.parametrize(("lo", "hi"), [("2.5", "97.5"), ("5", "95"), ("10", "90")])
def test_percentile_on_inside_and_outside_each_fence(lo: str, hi: str) -> None:
    # n − 1 a multiple of 40: the percentiles fall on order statistics
    rng = random.Random(lo)
    params = TrimParams(
        method="percentile", lower_percentile=Decimal(lo), upper_percentile=Decimal(hi)
    )
    n = 81
    for _ in range(30):
        costs = sorted(rng.randrange(100_000, 900_000) for _ in range(n))
        k_lo = int((n - 1) * Fraction(Decimal(lo)) / 100)
        k_hi = int((n - 1) * Fraction(Decimal(hi)) / 100)
        fence_lo, fence_hi = costs[k_lo], costs[k_hi]
        sides = _sides(costs, params)
        assert sides == _oracle(costs, params)
        # on the fence kept; the costs below / above it (strictly) trimmed
        assert all(s is None for c, s in zip(costs, sides, strict=True) if c == fence_lo)
        assert all(s == "low" for c, s in zip(costs, sides, strict=True) if c < fence_lo)
        assert all(s == "high" for c, s in zip(costs, sides, strict=True) if c > fence_hi)


def test_float_arithmetic_no_longer_trims_cases_on_the_fence() -> None:
    # Q1 = 1,234.20, Q3 = 1,235.00 → lower = Q1 − 0.5·0.80 = 1,233.80 exactly; in float
    # yuan the fence is 1233.8000000000002 and a case of 1,233.80 used to be trimmed
    assert 1234.2 - 0.5 * (1235.0 - 1234.2) > 1233.8
    others = [123_420] * 10 + [123_440] * 10 + [123_500] * 20  # 40 costs
    costs = [123_380, *others]  # the probe is the minimum, on the lower fence
    assert _oracle(costs, TrimParams())[0] is None
    assert _sides(costs, TrimParams())[0] is None
    assert _sides([123_379, *others], TrimParams())[0] == "low"


@settings(max_examples=150, deadline=None)
@given(
    costs=st.lists(st.integers(min_value=1, max_value=40_000_000), min_size=10, max_size=60),
    method=st.sampled_from(["iqr", "percentile"]),
    k=st.sampled_from(["0", "0.5", "1.5", "0.3", "2.25"]),
)
def test_same_decisions_as_exact_arithmetic(costs: list[int], method: str, k: str) -> None:
    # many ties: half the costs are repeats of a few values, so cases sit on quantiles
    costs = costs + costs[: len(costs) // 2]
    params = TrimParams(
        method=method,  # type: ignore[arg-type]
        iqr_lower_k=Decimal(k),
        iqr_upper_k=Decimal(k),
        min_cases=5,
    )
    assert _sides(costs, params) == _oracle(costs, params)


def test_log_sd_keeps_equal_costs_and_trims_far_ones() -> None:
    # all equal: sd = 0, both fences equal the cost (in log space) → everything kept
    costs = [123_456] * 12
    params = TrimParams(method="log_sd", sd_k=Decimal(3), min_cases=5)
    assert _sides(costs, params) == [None] * 12
    # one far case among equal ones
    costs = [100_000] * 11 + [10_000_000]
    assert _sides(costs, TrimParams(method="log_sd", sd_k=Decimal(1), min_cases=5))[-1] == "high"
