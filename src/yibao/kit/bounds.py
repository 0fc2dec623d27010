"""Declared limits of request values, shared by the JSON API, the pages and the
request models of the domains.

Every number, date and amount a request carries is bounded where it is declared, so
FastAPI answers 422 with a Chinese line naming the field and the rule (see
:mod:`yibao.api.errors`), the OpenAPI document shows the limits, and nothing out of
range reaches the database or the calendar: a PostgreSQL ``integer`` holds 32 bits
(SQLite 64), Python's ``date`` ends at year 9999, ``Numeric(18, 2)`` holds 16 digits
before the point, and ``Decimal("1e999999999")`` is one digit that no computation
survives.

Each type works as a path parameter, a query parameter and a field of a request model
alike::

    def get_list(list_id: DbId, page: PageNo = 1, size: PageSize = 50) -> ...

    class BulkIn(BaseModel):
        ids: list[DbId] | None = None

Texts are bounded with ``Field(max_length=…)`` matching their column, at the field.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Annotated

from pydantic import Field

from yibao.kit.paging import MAX_PAGE, MAX_SIZE

#: the largest PostgreSQL ``integer`` (every id column)
INT4_MAX = 2_147_483_647
#: the years a request may name (discharge years, measurement years, dates)
YEAR_MIN, YEAR_MAX = 1900, 2100
#: the largest ``Numeric(18, 2)``: money in yuan
MONEY_MAX = Decimal("9999999999999999.99")

#: a row id (primary key): 1 … 2,147,483,647
DbId = Annotated[int, Field(ge=1, le=INT4_MAX, description="编号（1–2147483647）")]
#: a page number: 1 … 1,000,000 (pages beyond are empty anyway)
PageNo = Annotated[int, Field(ge=1, le=MAX_PAGE, description=f"页码（1–{MAX_PAGE}）")]
#: rows per page: 1 … 500
PageSize = Annotated[int, Field(ge=1, le=MAX_SIZE, description=f"每页条数（1–{MAX_SIZE}）")]
#: a calendar year: 1900 … 2100
Year = Annotated[int, Field(ge=YEAR_MIN, le=YEAR_MAX, description=f"年度（{YEAR_MIN}–{YEAR_MAX}）")]
#: a calendar date: 1900-01-01 … 2100-12-31
Day = Annotated[
    date,
    Field(
        ge=date(YEAR_MIN, 1, 1),
        le=date(YEAR_MAX, 12, 31),
        description=f"日期 YYYY-MM-DD（{YEAR_MIN}–{YEAR_MAX} 年）",
    ),
]
#: an amount of money in yuan, at most two decimals: 0 … 9,999,999,999,999,999.99
Money = Annotated[
    Decimal,
    Field(ge=0, le=MONEY_MAX, max_digits=18, decimal_places=2, description="金额（元）"),
]
#: a rate, a share, a score or a factor: finite, at most 12 digits before the point
#: and 8 after
Number = Annotated[Decimal, Field(max_digits=20, decimal_places=8, allow_inf_nan=False)]

#: numbers typed into a page's form stay below 10 ** NUMBER_DIGITS in magnitude
NUMBER_DIGITS = 18


def is_tame(value: Decimal) -> bool:
    """Finite and below 10^18 in magnitude: a number every computation of the platform
    takes (for the pages' forms, which parse their numbers by hand).  Decided from the
    exponent alone: ``abs(Decimal("1e999999999"))`` itself overflows."""
    return value.is_finite() and (value.is_zero() or value.adjusted() < NUMBER_DIGITS)


def in_int4(value: int) -> bool:
    """Within a PostgreSQL ``integer`` (for the pages' forms and queries)."""
    return -INT4_MAX - 1 <= value <= INT4_MAX
