"""The password rule (accounts.passwords): at least 8 characters of 3 of 4 kinds, not
the username; thresholds from the settings.  No database."""

from __future__ import annotations

import pytest

from tests.builders import PASSWORD
from yibao.accounts.passwords import PasswordPolicy, character_classes, check_password
from yibao.config import Settings
from yibao.demo.seed import DEMO_PASSWORD
from yibao.kit.errors import ValidationFailed

DEFAULT = PasswordPolicy()

#: every password the demo and the tests set: each must keep the rule
KEPT = [DEMO_PASSWORD, PASSWORD, "Longpassw0rd", "Longenough1", "N3w-Passw0rd",
        "N3w-passw0rd!", "Far@2026x", "医保Demo2026"]  # fmt: skip


@pytest.mark.parametrize("password", KEPT)
def test_the_passwords_in_use_keep_the_rule(password: str) -> None:
    check_password(password, username="someone", policy=DEFAULT)


@pytest.mark.parametrize(
    ("password", "words"),
    [
        ("aaaaaaaa", "至少 3 类（现只有：小写字母）"),
        ("12345678", "现只有：数字"),
        ("password1", "现只有：小写字母、数字"),
        ("Ab1!", "密码至少8位"),
        ("A" * 150 + "a1!" + "b" * 50, "最长 200 位"),
        ("Hosp01.x", None),  # fine for another user
    ],
)
def test_weak_passwords_are_refused_naming_the_field(password: str, words: str | None) -> None:
    if words is None:
        check_password(password, username="admin", policy=DEFAULT)
        return
    with pytest.raises(ValidationFailed) as info:
        check_password(password, username="admin", policy=DEFAULT)
    assert info.value.field == "password" and info.value.http_status == 422
    assert "密码" in info.value.message and words in info.value.message, info.value.message


def test_the_username_is_not_a_password_in_any_case() -> None:
    with pytest.raises(ValidationFailed, match="不能与用户名相同"):
        check_password("Hosp01.x", username="hosp01.X", policy=DEFAULT)


def test_the_field_and_label_are_the_callers() -> None:
    with pytest.raises(ValidationFailed) as info:
        check_password("aaaaaaaa", username="u1", field="new", label="新密码", policy=DEFAULT)
    assert info.value.field == "new" and info.value.message.startswith("新密码须包含")


def test_thresholds_come_from_the_settings() -> None:
    strict = PasswordPolicy.from_settings(Settings(password_min_length=12, password_min_classes=4))
    assert strict == PasswordPolicy(min_length=12, min_classes=4)
    with pytest.raises(ValidationFailed, match="密码至少12位"):
        check_password(DEMO_PASSWORD, username="admin", policy=strict)
    with pytest.raises(ValidationFailed, match="至少 4 类"):
        check_password("Longpassw0rd", username="admin", policy=strict)
    check_password("Longpassw0rd!", username="admin", policy=strict)
    lax = PasswordPolicy(min_length=8, min_classes=1)
    check_password("aaaaaaaa", username="admin", policy=lax)
    assert PasswordPolicy.from_settings(Settings()) == DEFAULT
    with pytest.raises(ValueError):
        Settings(password_min_length=6)  # the floor: never below 8


def test_kinds_and_hint() -> None:
    assert character_classes("Ab1!") == ["小写字母", "大写字母", "数字", "符号"]
    assert character_classes("医保") == ["符号"]  # anything not a letter or digit
    assert DEFAULT.describe() == "至少 8 位，含大小写字母、数字、符号中的 3 类"
