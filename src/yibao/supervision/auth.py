"""Who may see and change the supervision knowledge and rules: rule administrators
(``MANAGE_RULES``) of a region maintain its versions (``service`` checks the region);
bureau roles with ``VIEW_RULES`` read them."""

from __future__ import annotations

from yibao.accounts.models import User


def home_region(user: User) -> str | None:
    """The region whose versions a user reads (its own; hospitals have no access)."""
    return user.region_code
