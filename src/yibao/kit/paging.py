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


def clamp_page(page: int | None, size: int | None, default_size: int = 50) -> tuple[int, int]:
    """Sanitise page/size from a query string (1 ≤ page ≤ 1,000,000, 1 ≤ size ≤ 500)."""
    p = min(MAX_PAGE, max(1, page or 1))
    s = min(500, max(1, size or default_size))
    return p, s
