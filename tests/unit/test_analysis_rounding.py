"""Decision-analysis figures round half up (四舍五入), as every other figure of the
product does, not to the even neighbour Python's Decimal uses by default."""

from __future__ import annotations

from decimal import Decimal

from yibao.analysis.fund import budget_line
from yibao.analysis.reports import _ratio


def test_report_ratios_round_half_up() -> None:
    # 1 of 32 cases = 0.03125 → 0.0313 (half even would give 0.0312)
    assert _ratio(1, 32) == Decimal("0.0313")
    # average cost 200.01 ÷ 2 = 100.005 → 100.01 (half even: 100.00)
    assert _ratio(Decimal("200.01"), 2, "0.01") == Decimal("100.01")
    assert _ratio(Decimal("200.05"), 2, "0.01") == Decimal("100.03")
    assert _ratio(5, 0) is None


def test_budget_line_rounds_half_up_once() -> None:
    # 1,000,000.02 × 3 ÷ 12 = 250,000.005 → 250,000.01 (half even: 250,000.00)
    assert budget_line(Decimal("1000000.02"), 3) == Decimal("250000.01")
    assert budget_line(Decimal("1200.00"), 12) == Decimal("1200.00")
    # 100.00 × 1 ÷ 12 = 8.3333… → 8.33; × 7 = 58.3333… → 58.33
    assert (budget_line(Decimal("100"), 1), budget_line(Decimal("100"), 7)) == (
        Decimal("8.33"),
        Decimal("58.33"),
    )


def test_budget_line_of_a_late_start_year_covers_its_span() -> None:
    # paid under the system from July: 1,200 spread over July..December, 200 a month
    assert budget_line(Decimal("1200"), 6, first=7) is None
    assert budget_line(Decimal("1200"), 7, first=7) == Decimal("200.00")
    assert budget_line(Decimal("1200"), 12, first=7) == Decimal("1200.00")
