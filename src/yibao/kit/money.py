"""Money is ``Decimal`` yuan, quantised to the fen (0.01) at defined points."""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal
from fractions import Fraction

FEN = Decimal("0.01")


def to_money(value: Decimal | int | str) -> Decimal:
    """Quantise to 0.01 yuan, rounding half up (四舍五入)."""
    return Decimal(value).quantize(FEN, rounding=ROUND_HALF_UP)


def fen_to_yuan(fen: int) -> Decimal:
    """Integer fen → Decimal yuan."""
    return (Decimal(fen) / 100).quantize(FEN)


def format_yuan(value: Decimal | None) -> str:
    """``12345.6`` → ``"12,345.60"``; ``None`` → ``"—"``."""
    if value is None:
        return "—"
    return f"{to_money(value):,.2f}"


def ratio_text(cost: Decimal | int | str, standard: Decimal | int | str) -> str:
    """cost ÷ standard for people: 4 decimals, and more (up to 10) when 4 would round a
    ratio that is not a round number onto one — a case 0.00004 above a 3× threshold
    reads 3.00004, never 3.0000 (thresholds are round numbers: 3, 2.5, 0.4)."""
    exact = Fraction(Decimal(str(cost))) / Fraction(Decimal(str(standard)))
    for places in range(4, 11):
        shown = _round_half_up(exact, places)
        if shown == exact or shown != shown.quantize(Decimal("0.01")):
            return f"{shown:.{places}f}" if places == 4 else f"{shown.normalize():f}"
    return f"{_round_half_up(exact, 10):f}"


def _round_half_up(value: Fraction, places: int) -> Decimal:
    scaled = value * 10**places
    whole = (scaled.numerator * 2 + scaled.denominator) // (scaled.denominator * 2)
    return Decimal(whole).scaleb(-places)
