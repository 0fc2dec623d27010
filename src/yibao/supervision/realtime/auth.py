"""Who may read the stored real-time audits: bureau reviewers (``review_findings``)
and rule administrators (``view_rules``) in their region — how the rules warn — and
hospital users who answer findings (``answer_findings``), their own hospital's only
(the session's data scope hides the others).  Asking 3101–3103 is the HIS client's
``use_his_api``; reading the record of all requests is not."""

from __future__ import annotations

from yibao.accounts.models import User
from yibao.accounts.roles import Permission, Role, has_permission
from yibao.kit.errors import Forbidden

READERS = (Permission.REVIEW_FINDINGS, Permission.VIEW_RULES, Permission.ANSWER_FINDINGS)


def records_viewer(user: User) -> User:
    """``user`` if it may read the stored real-time audits, else 403 in Chinese."""
    if any(has_permission(user.role, p) for p in READERS):
        return user
    raise Forbidden(
        f"无权查看事前事中审核记录：当前角色（{Role(user.role).label}）没有疑点审核、"
        "规则查看或疑点答复权限"
    )
