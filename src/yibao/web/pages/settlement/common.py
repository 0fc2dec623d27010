"""Shared helpers of the settlement pages: permissions, form fields, error display and
the one-line message shown after a redirect."""

from __future__ import annotations

from fastapi import Depends, Request

from yibao.accounts.roles import Permission
from yibao.api.deps import check_csrf, require, require_any

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


#: hospital users (apply, appeal) and reviewers (decide) use the special-case page
SPECIAL_USER = require_any(Permission.SUBMIT_LISTS, Permission.REVIEW_SETTLEMENT)


def with_query(request: Request, path: str) -> str:
    """``path`` with the request's query string (the filters of the page)."""
    query = request.url.query
    return f"{path}?{query}" if query else path
