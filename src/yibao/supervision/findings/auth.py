"""Who may see and act on findings: bureau reviewers and rule administrators
(``review_findings``) in their region; hospital users (``answer_findings``) their own
hospital's published findings only (the data scope of the session hides the others).
The step-by-step checks are in :func:`yibao.supervision.findings.service.side_of`."""

from __future__ import annotations

from yibao.accounts.models import User
from yibao.accounts.roles import Permission, Role, has_permission
from yibao.kit.errors import Forbidden


def viewer(user: User) -> User:
    """``user`` if it may read findings, else 403 in Chinese."""
    if has_permission(user.role, Permission.REVIEW_FINDINGS) or has_permission(
        user.role, Permission.ANSWER_FINDINGS
    ):
        return user
    raise Forbidden(
        f"无权查看智能审核疑点：当前角色（{Role(user.role).label}）没有疑点审核或答复权限"
    )
