"""Pagination of list queries."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Generic, TypeVar

T = TypeVar("T")


@dataclass(frozen=True)
class Page(Generic[T]):
    items: list[T]
    total: int
    page: int
    size: int

    @property
    def pages(self) -> int:
        return max(1, -(-self.total // self.size))

    @property
    def has_prev(self) -> bool:
        return self.page > 1

    @property
    def has_next(self) -> bool:
        return self.page < self.pages


#: pages beyond this are empty anyway; it keeps OFFSET far inside 64 bits
MAX_PAGE = 1_000_000
#: rows on one page at most
MAX_SIZE = 500


def page_number(raw: str | None) -> int:
    """A page number typed into a query string: ASCII digits only (``"²"`` is a digit
    to ``str.isdigit`` but not to ``int``), 1 without any, at most :data:`MAX_PAGE`
    however many digits (``int`` refuses more than 4,300)."""
    text = (raw or "").strip()
    if not (text.isascii() and text.isdigit()):
        return 1
    if len(text) > len(str(MAX_PAGE)):
        return MAX_PAGE
    return min(MAX_PAGE, max(1, int(text)))


def clamp_page(page: int | None, size: int | None, default_size: int = 50) -> tuple[int, int]:
    """Sanitise page/size from a query string (1 ≤ page ≤ 1,000,000, 1 ≤ size ≤ 500)."""
    p = min(MAX_PAGE, max(1, page or 1))
    s = min(MAX_SIZE, max(1, size or default_size))
    return p, s
