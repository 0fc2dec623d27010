from __future__ import annotations

from decimal import Decimal

from yibao.accounts.roles import Permission, Role, has_permission
from yibao.kit.bounds import in_int4, is_tame
from yibao.kit.money import fen_to_yuan, format_yuan, to_money
from yibao.kit.paging import MAX_PAGE, Page, clamp_page, page_number
from yibao.regions.models import region_prefix


def test_money_rounds_half_up_to_the_fen() -> None:
    assert to_money("1.005") == Decimal("1.01")
    assert to_money(Decimal("2.344")) == Decimal("2.34")
    assert fen_to_yuan(12345) == Decimal("123.45")
    assert format_yuan(Decimal("1234567.8")) == "1,234,567.80"
    assert format_yuan(None) == "—"


def test_region_prefix() -> None:
    assert region_prefix("990000") == "99"
    assert region_prefix("990100") == "9901"
    assert region_prefix("990102") == "990102"


def test_paging() -> None:
    assert clamp_page(None, None) == (1, 50)
    assert clamp_page(0, 10_000) == (1, 500)
    page = Page(items=[1, 2], total=101, page=2, size=50)
    assert page.pages == 3 and page.has_prev and page.has_next


def test_page_number_from_a_query_string() -> None:
    assert page_number(None) == 1 and page_number("") == 1 and page_number("x") == 1
    assert page_number("7") == 7 and page_number(" 7 ") == 7 and page_number("0") == 1
    assert page_number("²") == 1  # a digit to str.isdigit, not to int
    assert page_number("9" * 20) == MAX_PAGE
    assert page_number("9" * 5000) == MAX_PAGE  # int() refuses more than 4,300 digits


def test_bounds_of_typed_numbers() -> None:
    assert in_int4(2**31 - 1) and in_int4(-(2**31)) and not in_int4(2**31)
    assert is_tame(Decimal("-123456789.12")) and is_tame(Decimal("1e-999999999"))
    assert is_tame(Decimal("0E+999999999")) and is_tame(Decimal("999999999999999999.9"))
    for wild in ("1e999999999", "-1e18", "NaN", "Infinity", "-Infinity"):
        assert not is_tame(Decimal(wild)), wild


def test_role_permissions() -> None:
    assert has_permission(Role.BUREAU_REVIEWER, Permission.VIEW_CASES)
    assert not has_permission(Role.RULE_ADMIN, Permission.VIEW_CASES)
    assert not has_permission(Role.HOSPITAL_USER, Permission.VIEW_HOSPITALS)
    assert has_permission(Role.BUREAU_ADMIN, Permission.MANAGE_USERS)
    assert all(r.label for r in Role)
