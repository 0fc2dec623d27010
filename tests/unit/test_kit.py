from __future__ import annotations

from decimal import Decimal

from yibao.accounts.roles import Permission, Role, has_permission
from yibao.kit.money import fen_to_yuan, format_yuan, to_money
from yibao.kit.paging import Page, clamp_page
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


def test_role_permissions() -> None:
    assert has_permission(Role.BUREAU_REVIEWER, Permission.VIEW_CASES)
    assert not has_permission(Role.RULE_ADMIN, Permission.VIEW_CASES)
    assert not has_permission(Role.HOSPITAL_USER, Permission.VIEW_HOSPITALS)
    assert has_permission(Role.BUREAU_ADMIN, Permission.MANAGE_USERS)
    assert all(r.label for r in Role)
