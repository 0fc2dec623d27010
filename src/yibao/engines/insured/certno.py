"""Resident ID numbers (居民身份证号码, GB 11643-1999) for the insured register.

An 18-character number: address code (6) + birth date ``yyyyMMdd`` (8) + sequence (3,
odd for men, even for women) + check digit (``0``–``9`` or ``X``), where the check
digit makes Σ wᵢ·aᵢ ≡ 1 (mod 11) with weights 2^(17−i) mod 11.  Synthetic numbers
use the demo's address codes (province 99 and 98 do not exist).

Shown to people who need not see them, a number keeps its first 6 and last 4
characters (``990102********1234``), as the gateway's journal does
(:func:`yibao.engines.exchange.answer.mask_id`).
"""

from __future__ import annotations

import re
from datetime import date
from typing import Final

from yibao.engines.exchange.answer import mask_id

WEIGHTS: Final[tuple[int, ...]] = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
CHECK_CHARS: Final = "10X98765432"
_SHAPE: Final = re.compile(r"^\d{17}[\dX]$")

__all__ = ["certno_problem", "check_char", "make_certno", "mask_certno", "sex_of"]


def check_char(first17: str) -> str:
    """The check character of the first 17 digits."""
    if len(first17) != 17 or not first17.isdigit():
        raise ValueError(f"身份证号前 17 位须为数字（收到 {first17!r}）")
    total = sum(int(d) * w for d, w in zip(first17, WEIGHTS, strict=True))
    return CHECK_CHARS[total % 11]


def certno_problem(certno: str) -> str | None:
    """What is wrong with an ID number, in Chinese; None when it is valid (shape,
    birth date and check digit).  A lower-case ``x`` is not accepted: callers
    upper-case what they read."""
    if not _SHAPE.match(certno):
        return "身份证号须为 18 位：17 位数字加 1 位数字或 X"
    try:
        date(int(certno[6:10]), int(certno[10:12]), int(certno[12:14]))
    except ValueError:
        return f"身份证号中的出生日期 {certno[6:14]} 不是有效日期"
    if check_char(certno[:17]) != certno[17]:
        return "身份证号校验位不正确"
    return None


def make_certno(address: str, birth: date, sequence: int) -> str:
    """The number of an address code, a birth date and a sequence (1–999; odd for
    a man, even for a woman), with its check character."""
    if len(address) != 6 or not address.isdigit() or not 1 <= sequence <= 999:
        raise ValueError("地址码须为 6 位数字，顺序码须在 1 到 999 之间")
    first17 = f"{address}{birth:%Y%m%d}{sequence:03d}"
    return first17 + check_char(first17)


def sex_of(certno: str) -> str:
    """``1`` (male) or ``2`` (female) from the sequence's parity."""
    return "1" if int(certno[16]) % 2 == 1 else "2"


def mask_certno(certno: str) -> str:
    """``990102********1234``: the birth date and sequence hidden."""
    return mask_id(certno)
