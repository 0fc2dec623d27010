"""Shared helpers of the settlement pages: permissions, form fields, error display and
the one-line message shown after a redirect."""

from __future__ import annotations

from fastapi import Depends, Request

from yibao.accounts.models import User
from yibao.accounts.roles import Permission, has_permission
from yibao.api.deps import CurrentUser, check_csrf, require
from yibao.kit.errors import Forbidden

REVIEW = require(Permission.REVIEW_SETTLEMENT)
VIEW = require(Permission.VIEW_CASES)
SUBMIT = require(Permission.SUBMIT_LISTS)
CSRF = [Depends(check_csrf)]
STATUS_BADGES = {
    "applied": "info",
    "pending": "info",
    "approved": "success",
    "upheld": "success",
    "rejected": "danger",
    "open": "secondary",
    "closed": "success",
    "running": "primary",
    "done": "success",
}


def _special_user(user: CurrentUser) -> User:
    """Hospital users (apply, appeal) and reviewers (decide) use the special-case page."""
    if not (
        has_permission(user.role, Permission.SUBMIT_LISTS)
        or has_permission(user.role, Permission.REVIEW_SETTLEMENT)
    ):
        raise Forbidden(
            "当前角色不能处理特例单议或申诉（需要 submit_lists 或 review_settlement 权限）"
        )
    return user


SPECIAL_USER = Depends(_special_user)


def with_query(request: Request, path: str) -> str:
    """``path`` with the request's query string (the filters of the page)."""
    query = request.url.query
    return f"{path}?{query}" if query else path
