"""Money is ``Decimal`` yuan, quantised to the fen (0.01) at defined points."""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal

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
