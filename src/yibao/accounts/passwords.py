"""The password rule: one rule for every way a password is set — a new user (web page,
JSON API, command line), an administrator's reset and the user's own change.

A password has at least ``min_length`` characters (8 by default) of at least
``min_classes`` of four kinds (3 by default): lower-case letters, upper-case letters,
digits, and anything else (symbols, Chinese characters …), and is not the username
(in any case).  The thresholds are settings (``YIBAO_PASSWORD_MIN_LENGTH``,
``YIBAO_PASSWORD_MIN_CLASSES``).  Pure: no database.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from yibao.config import Settings, get_settings
from yibao.kit.errors import ValidationFailed

MAX_PASSWORD_LEN = 200

#: the four kinds of character, as the messages name them
CHARACTER_CLASSES: tuple[tuple[str, Callable[[str], bool]], ...] = (
    ("小写字母", str.islower),
    ("大写字母", str.isupper),
    ("数字", str.isdigit),
    ("符号", lambda ch: not (ch.islower() or ch.isupper() or ch.isdigit())),
)


@dataclass(frozen=True)
class PasswordPolicy:
    min_length: int = 8
    min_classes: int = 3

    @classmethod
    def from_settings(cls, settings: Settings | None = None) -> PasswordPolicy:
        s = settings or get_settings()
        return cls(min_length=s.password_min_length, min_classes=s.password_min_classes)

    def describe(self) -> str:
        """The rule in a few words, for form hints: 至少 8 位，含大小写字母、数字、符号中的 3 类."""
        kinds = "大小写字母、数字、符号"
        if self.min_classes <= 1:
            return f"至少 {self.min_length} 位"
        if self.min_classes >= len(CHARACTER_CLASSES):
            return f"至少 {self.min_length} 位，须含{kinds}"
        return f"至少 {self.min_length} 位，含{kinds}中的 {self.min_classes} 类"


def character_classes(password: str) -> list[str]:
    """The kinds of character ``password`` has, by name."""
    return [name for name, test in CHARACTER_CLASSES if any(test(ch) for ch in password)]


def check_password(
    password: str,
    *,
    username: str,
    field: str = "password",
    label: str = "密码",
    policy: PasswordPolicy | None = None,
) -> None:
    """Raise :class:`ValidationFailed` naming ``field`` (``label`` in the message) unless
    ``password`` keeps the rule.

    >>> check_password("Demo@2026", username="admin")  # passes: 4 kinds, 9 characters
    >>> check_password("aaaaaaaa", username="admin")  # doctest: +IGNORE_EXCEPTION_DETAIL
    Traceback (most recent call last):
    yibao.kit.errors.ValidationFailed: 密码须包含…至少 3 类（现只有：小写字母）
    """
    rule = policy or PasswordPolicy.from_settings()
    if len(password) < rule.min_length:
        raise ValidationFailed(
            f"{label}至少{rule.min_length}位（{rule.describe()}）"
            f" / password needs {rule.min_length}+ characters",
            field=field,
        )
    if len(password) > MAX_PASSWORD_LEN:
        raise ValidationFailed(
            f"{label}最长 {MAX_PASSWORD_LEN} 位 / password too long", field=field
        )
    kinds = character_classes(password)
    if len(kinds) < rule.min_classes:
        raise ValidationFailed(
            f"{label}须包含大写字母、小写字母、数字、符号中的至少 {rule.min_classes} 类"
            f"（现只有：{'、'.join(kinds)}）/ password needs {rule.min_classes} of:"
            " upper-case, lower-case, digits, symbols",
            field=field,
        )
    if username and password.lower() == username.lower():
        raise ValidationFailed(
            f"{label}不能与用户名相同 / password must differ from the username", field=field
        )
