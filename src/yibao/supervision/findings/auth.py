"""Who may see and act on findings: bureau reviewers and rule administrators
(``review_findings``) in their region; hospital users (``answer_findings``) their own
hospital's findings only (the data scope of the session hides the others)."""

from __future__ import annotations

from typing import Any

from fastapi import Depends

from yibao.accounts.models import User
from yibao.accounts.roles import Permission, Role, has_permission
from yibao.api.deps import CurrentUser, require
from yibao.kit.errors import Forbidden

REVIEW = require(Permission.REVIEW_FINDINGS)
ANSWER = require(Permission.ANSWER_FINDINGS)


async def _viewer(user: CurrentUser) -> User:
    if has_permission(user.role, Permission.REVIEW_FINDINGS) or has_permission(
        user.role, Permission.ANSWER_FINDINGS
    ):
        return user
    raise Forbidden(
        f"无权查看智能审核疑点：当前角色（{Role(user.role).label}）没有疑点审核或答复权限"
    )


VIEW: Any = Depends(_viewer)
