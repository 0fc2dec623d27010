"""Decision-analysis figures as printed on the pages and in the PDFs: fixed places per
column kind — CMI and indices 4, days 2, money 2 with thousands separators, shares as
per cent with 2 — so that a column lines up ("8.50" under "9.18", not "8.5")."""

from __future__ import annotations

from decimal import Decimal

import pytest

from yibao.analysis.exports import shown


@pytest.mark.parametrize(
    ("value", "kind", "printed"),
    [
        (Decimal("8.5"), "days", "8.50"),
        (Decimal("7"), "days", "7.00"),
        (Decimal("9.18"), "days", "9.18"),
        (Decimal("0.772"), "index", "0.7720"),
        (Decimal("0.85"), "index", "0.8500"),
        (Decimal("1.0654"), "index", "1.0654"),
        (Decimal("1"), "index", "1.0000"),
        (Decimal("4804371.9"), "money", "4,804,371.90"),
        (Decimal("0"), "money", "0.00"),
        (Decimal("-1234.5"), "money", "-1,234.50"),
        (Decimal("0.3263"), "pct", "32.63%"),
        (Decimal("1"), "pct", "100.00%"),
        (Decimal("12345.6"), "dec", "12,345.60"),
        (1234567, "int", "1,234,567"),
        (None, "money", "—"),
        ("演示市第一人民医院", "text", "演示市第一人民医院"),
    ],
)
def test_fixed_places_per_kind(value: object, kind: str, printed: str) -> None:
    assert shown(value, kind) == printed


def test_rounds_half_up() -> None:
    # 四舍五入 as every other figure: 0.00005 → 0.0001, 2.125 → 2.13 (half even: 2.12)
    assert shown(Decimal("0.00005"), "index") == "0.0001"
    assert shown(Decimal("2.125"), "days") == "2.13"
    assert shown(Decimal("0.03125"), "pct") == "3.13%"


def test_list_detail_shows_the_fund_ratio_as_per_cent() -> None:
    from yibao.web.pages.settlement.lists import _percent_text

    assert _percent_text("0.8200") == "82%" and _percent_text(0.825) == "82.5%"
    assert _percent_text("n/a") == "n/a"
