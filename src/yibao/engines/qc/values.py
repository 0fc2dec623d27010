"""Lenient readers for the text values of a settlement list.

Every reader returns ``None`` for a missing *or* unreadable value; the QC format
rule reports the unreadable ones, so the other rules can simply skip ``None``.
Datetimes come back *naive* in business time (Asia/Shanghai): a value without an
offset is taken as business time, one with an offset is converted.

The readers are safe on hostile text: a value longer than :data:`MAX_READ_CHARS`
or a number of more than :data:`MAX_READ_CHARS` integer digits is unreadable
(``None``) without being parsed, so no rule does big-number maths or slow parsing
(no spec value is that long; the length rule reports such values).  Values shown
in messages or kept in findings go through :func:`show` / :func:`safe_value`,
which escape control characters and lone surrogates and cut long text.
"""

from __future__ import annotations

import re
from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from typing import Final

from yibao.kit.timeutil import BUSINESS_TZ

_DT_FORMATS: Final = ("%Y-%m-%d %H:%M:%S", "%Y-%m-%d %H:%M", "%Y-%m-%d", "%Y%m%d%H%M%S", "%Y%m%d")
#: characters that separate several newborn weights (multiple births)
WEIGHT_SEPARATORS: Final[tuple[str, ...]] = (",", "，", "、")
#: longest text the readers parse, and most integer digits of a readable number
MAX_READ_CHARS: Final = 100
#: most characters of a finding's ``value`` (the ``qc_findings.value`` column)
MAX_VALUE_CHARS: Final = 200
#: characters a message value is cut to
MAX_SHOWN_CHARS: Final = 60
#: C0 and C1 control characters (incl. DEL) and lone surrogates (not encodable as UTF-8)
UNSAFE_CHARS: Final = re.compile(r"[\x00-\x1f\x7f-\x9f\ud800-\udfff]")
_ASCII_INT: Final = re.compile("[0-9]{1,9}")


def to_decimal(text: str | None) -> Decimal | None:
    """``"12.50"`` → ``Decimal("12.50")``; blanks, NaN, infinities and garbage → ``None``."""
    if text is None or len(text) > MAX_READ_CHARS:
        return None
    try:
        value = Decimal(text)
    except (InvalidOperation, ValueError):
        return None
    if not value.is_finite() or value.adjusted() >= MAX_READ_CHARS:
        return None  # NaN, infinities, and numbers like 1e999999999 (no int() of those)
    return value


def to_int(text: str | None) -> int | None:
    """A whole number (``"5"``, ``"5.0"``); fractions and garbage → ``None``."""
    if text is None:
        return None
    if text.isascii() and text.isdigit() and len(text) <= MAX_READ_CHARS:
        return int(text)
    value = to_decimal(text)
    if value is None or value != value.to_integral_value():
        return None
    return int(value)


def to_datetime(text: str | None) -> datetime | None:
    """ISO-like date-time text → *naive* datetime in business time, else ``None``.

    Accepts ``2024-01-05 08:30:00``, ``2024-01-05T08:30``, ``2024/1/5 8:30``,
    ``20240105083000`` and a bare date (midnight).  A value with an explicit offset
    is converted to business time (Asia/Shanghai) and the offset dropped, so all
    values of a list compare directly; :func:`aware` attaches the zone.
    """
    if text is None or len(text) > MAX_READ_CHARS:
        return None
    try:
        value: datetime | None = datetime.fromisoformat(text)
    except ValueError:
        value = _slow_datetime(text)
    if value is None:
        return None
    if value.tzinfo is not None:
        try:
            return value.astimezone(BUSINESS_TZ).replace(tzinfo=None)
        except OverflowError:  # 0001-01-01T00:00+14:00 is before year 1 in Shanghai
            return None
    return value


_MIDNIGHT: Final = re.compile(r"[0-9/-]{6,10}[ T]00:00(:00(\.0+)?)?")


def is_bare_date(text: str | None) -> bool:
    """A date-time field written as a date only (``2024-03-08``, ``2024/3/8``,
    ``20240308``), or with a time of exactly midnight (``2024-03-08 00:00:00``: how a
    HIS that keeps only the date exports it, and how an Excel date cell reads): it
    stands for the whole day, not for its midnight."""
    if text is None:
        return False
    if len(text) <= 10 and ":" not in text:
        return True
    return len(text) <= 30 and _MIDNIGHT.fullmatch(text) is not None


def aware(value: datetime) -> datetime:
    """A naive business-time datetime made timezone-aware (Asia/Shanghai)."""
    return value.replace(tzinfo=BUSINESS_TZ)


def _slow_datetime(text: str) -> datetime | None:
    norm = text.replace("/", "-").replace("T", " ")
    for fmt in _DT_FORMATS:
        try:
            return datetime.strptime(norm, fmt)
        except ValueError:
            continue
    return None


def to_date(text: str | None) -> date | None:
    """A date, or the business-time date of a date-time; ``None`` when unreadable."""
    if text is None:
        return None
    if len(text) == 10:
        try:
            return date.fromisoformat(text)
        except ValueError:
            pass
    value = to_datetime(text)
    return None if value is None else value.date()


def to_weights(text: str | None) -> list[Decimal] | None:
    """``"3250"`` or ``"2100,2250"`` → grams; ``None`` if any part is not a number."""
    if text is None or len(text) > MAX_READ_CHARS:
        return None
    parts = [text]
    for sep in WEIGHT_SEPARATORS:
        if sep in text:
            parts = [p for chunk in parts for p in chunk.split(sep)]
    out: list[Decimal] = []
    for part in parts:
        value = to_decimal(part.strip())
        if value is None:
            return None
        out.append(value)
    return out


def to_duration(text: str | None, separator: str = "/") -> tuple[int, int, int] | None:
    """``"1/13/24"`` → ``(1, 13, 24)`` (days, hours, minutes); any other shape → ``None``."""
    if text is None or len(text) > MAX_READ_CHARS:
        return None
    parts = [p.strip() for p in text.split(separator)]
    if len(parts) != 3 or not all(_ASCII_INT.fullmatch(p) for p in parts):
        return None
    days, hours, minutes = (int(p) for p in parts)
    return days, hours, minutes


def decimal_places(value: Decimal) -> int:
    """Number of decimals written in ``value`` (``Decimal("1.50")`` → 2)."""
    exponent = value.as_tuple().exponent
    return max(0, -exponent) if isinstance(exponent, int) else 0


def escape(text: str) -> str:
    r"""``text`` with control characters and lone surrogates written as escapes.

    C0/C1 controls become ``\xNN`` (NUL → ``\x00``), lone surrogates ``\uDXXX``, so
    the result is printable, encodable as UTF-8 and storable in any text column.

    >>> escape("a\x00b\udc80")
    'a\\x00b\\udc80'
    """
    if UNSAFE_CHARS.search(text) is None:
        return text
    return UNSAFE_CHARS.sub(_escape_char, text)


def _escape_char(match: re.Match[str]) -> str:
    code = ord(match.group())
    return f"\\x{code:02x}" if code <= 0xFF else f"\\u{code:04x}"


def safe_value(value: object, limit: int = MAX_VALUE_CHARS) -> str | None:
    """``value`` as text that is safe to store and show: escaped (:func:`escape`), at
    most ``limit`` characters; a longer value is cut, with ``…`` and its real length.

    >>> safe_value("S" * 100_000, 30)
    'SSSSSSSSSSSSSSS…（共 100000 个字符）'
    """
    if value is None:
        return None
    text = value if type(value) is str else str(value)
    head = escape(text[: limit + 1])  # escaping only lengthens: enough to fill ``limit``
    if len(text) <= limit and len(head) <= limit:
        return head
    tail = f"…（共 {len(text)} 个字符）"
    return head[: max(limit - len(tail), 0)] + tail


def show(value: object) -> str:
    """A value quoted for a Chinese message: ``'X99.999'``, escaped, at most 60 characters."""
    text = value if type(value) is str else str(value)
    head = escape(text[: MAX_SHOWN_CHARS + 1])
    if len(head) > MAX_SHOWN_CHARS:
        head = head[: MAX_SHOWN_CHARS - 3] + "…"
    return f"'{head}'"


def fmt_dt(value: datetime | date) -> str:
    """``2024-01-05 08:30:00`` / ``2024-01-05`` for messages."""
    if isinstance(value, datetime):
        return value.strftime("%Y-%m-%d %H:%M:%S")
    return value.isoformat()
