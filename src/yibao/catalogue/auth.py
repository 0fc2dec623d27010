"""Who may see and change the catalogue: every bureau role and hospitals read it
(hospitals match their own item codes to it, permission ``VIEW_CATALOGUE``); a bureau
admin (``MANAGE_CATALOGUE``) maintains the versions of regions under its own
(``service.do_…`` check the region)."""

from __future__ import annotations

from yibao.accounts.models import User
from yibao.accounts.roles import Permission, has_permission


def home_region(user: User) -> str | None:
    """The region whose catalogues a user reads: its own, or its hospital's."""
    if user.region_code:
        return user.region_code
    return user.hospital.region_code if user.hospital else None


def sees_drafts(user: User) -> bool:
    """Drafts are the maintainers' work in progress: only they see them."""
    return has_permission(user.role, Permission.MANAGE_CATALOGUE)
