"""Lenient readers for the text values of a settlement list.

Every reader returns ``None`` for a missing *or* unreadable value; the QC format
rule reports the unreadable ones, so the other rules can simply skip ``None``.
Datetimes come back *naive* in business time (Asia/Shanghai): a value without an
offset is taken as business time, one with an offset is converted.
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from typing import Final

from yibao.kit.timeutil import BUSINESS_TZ

_DT_FORMATS: Final = ("%Y-%m-%d %H:%M:%S", "%Y-%m-%d %H:%M", "%Y-%m-%d", "%Y%m%d%H%M%S", "%Y%m%d")
#: characters that separate several newborn weights (multiple births)
WEIGHT_SEPARATORS: Final[tuple[str, ...]] = (",", "，", "、")


def to_decimal(text: str | None) -> Decimal | None:
    """``"12.50"`` → ``Decimal("12.50")``; blanks, NaN, infinities and garbage → ``None``."""
    if text is None:
        return None
    try:
        value = Decimal(text)
    except (InvalidOperation, ValueError):
        return None
    return value if value.is_finite() else None


def to_int(text: str | None) -> int | None:
    """A whole number (``"5"``, ``"5.0"``); fractions and garbage → ``None``."""
    if text is None:
        return None
    if text.isdigit():
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
    if text is None:
        return None
    try:
        value: datetime | None = datetime.fromisoformat(text)
    except ValueError:
        value = _slow_datetime(text)
    if value is None:
        return None
    if value.tzinfo is not None:
        return value.astimezone(BUSINESS_TZ).replace(tzinfo=None)
    return value


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
    if text is None:
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
    if text is None:
        return None
    parts = text.split(separator)
    if len(parts) != 3 or not all(p.strip().isdigit() for p in parts):
        return None
    days, hours, minutes = (int(p) for p in parts)
    return days, hours, minutes


def decimal_places(value: Decimal) -> int:
    """Number of decimals written in ``value`` (``Decimal("1.50")`` → 2)."""
    exponent = value.as_tuple().exponent
    return max(0, -exponent) if isinstance(exponent, int) else 0


def show(value: object) -> str:
    """A value quoted for a Chinese message: ``'X99.999'`` (no escapes)."""
    text = str(value)
    if len(text) > 60:
        text = text[:57] + "…"
    return f"'{text}'"


def fmt_dt(value: datetime | date) -> str:
    """``2024-01-05 08:30:00`` / ``2024-01-05`` for messages."""
    if isinstance(value, datetime):
        return value.strftime("%Y-%m-%d %H:%M:%S")
    return value.isoformat()
