"""Resident ID numbers: check digit (GB 11643-1999), validation, masking."""

from __future__ import annotations

from datetime import date

import pytest
from hypothesis import given
from hypothesis import strategies as st

from yibao.engines.insured import certno_problem, check_char, make_certno, mask_certno, sex_of


def test_known_check_digits() -> None:
    # the worked example of the standard and a number ending in X
    assert check_char("11010519491231002") == "X"
    assert check_char("44052418800101001") == "4"
    assert certno_problem("11010519491231002X") is None
    assert certno_problem("110105194912310021") == "身份证号校验位不正确"


@pytest.mark.parametrize(
    ("value", "words"),
    [
        ("11010519491231002", "18 位"),
        ("11010519491231002x", "18 位"),
        ("110105194913310025", "出生日期 19491331 不是有效日期"),
    ],
)
def test_bad_numbers(value: str, words: str) -> None:
    assert words in (certno_problem(value) or "")


@given(
    st.dates(min_value=date(1900, 1, 1), max_value=date(2030, 12, 31)),
    st.integers(1, 999),
    st.sampled_from(["990102", "990202", "980102"]),
)
def test_made_numbers_are_valid_and_carry_the_sex(birth: date, seq: int, address: str) -> None:
    certno = make_certno(address, birth, seq)
    assert certno_problem(certno) is None
    assert sex_of(certno) == ("1" if seq % 2 else "2")
    # one wrong digit anywhere is caught by the check digit
    i = seq % 17
    wrong = certno[:i] + str((int(certno[i]) + 1) % 10) + certno[i + 1 :]
    assert certno_problem(wrong) is not None


def test_masking_hides_birth_date_and_sequence() -> None:
    assert mask_certno("11010519491231002X") == "110105********002X"
