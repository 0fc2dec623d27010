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


def test_ttl_cache_computes_once_per_key_and_expires() -> None:
    import threading
    import time

    from yibao.kit.cache import TTLCache

    cache: TTLCache[int] = TTLCache(max_entries=2)
    calls: list[str] = []

    def slow(key: str) -> int:
        calls.append(key)
        time.sleep(0.05)
        return len(calls)

    threads = [
        threading.Thread(target=cache.get, args=("a", 60, lambda: slow("a"))) for _ in range(8)
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert calls == ["a"]  # eight at once, computed once
    assert cache.get("a", 60, lambda: slow("a")) == 1
    time.sleep(0.02)
    assert cache.get("a", 0.01, lambda: slow("a")) == 2  # older than 10 ms: computed again
    assert cache.get("b", 0, lambda: slow("b")) == 3  # ttl 0: never cached
    assert cache.get("b", 0, lambda: slow("b")) == 4
    cache.get("c", 60, lambda: 7)
    cache.get("d", 60, lambda: 8)
    assert cache.get("a", 60, lambda: -1) == -1  # at most two keys kept: the oldest went


def test_ratio_text_never_rounds_onto_a_threshold() -> None:
    from yibao.kit.money import ratio_text

    assert ratio_text("30000.40", "10000.00") == "3.00004"  # just above 3×: not "3.0000"
    assert ratio_text("29999.60", "10000.00") == "2.99996"
    assert ratio_text("30000.00", "10000.00") == "3.0000"  # exactly on it
    assert ratio_text("25000.01", "10000.00") == "2.500001"
    assert ratio_text("12345.67", "10000.00") == "1.2346"
    assert ratio_text("1.00", "3.00") == "0.3333"


def test_table_errors_name_no_parser_internals() -> None:
    import pytest

    from yibao.kit.errors import ValidationFailed
    from yibao.kit.tables import TableLimits, read_csv, read_xlsx

    limits = TableLimits(max_rows=100, max_columns=50, max_unzipped_bytes=10_000_000)
    with pytest.raises(ValidationFailed) as err:
        read_xlsx(b"PK\x03\x04 not really a workbook", "a.xlsx", limits)
    assert "zip" not in err.value.message.lower() and "Excel" in err.value.message
    with pytest.raises(ValidationFailed) as err:
        read_csv(b"a,b\n1,2\n3,4,5\n", "a.csv", limits)
    message = err.value.message
    assert "a.csv" in message and "列数多于表头" in message
    assert not any(w in message.lower() for w in ("polars", "schema", "error"))
