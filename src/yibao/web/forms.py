"""Reading what a browser sent and answering it, the same way on every page: form
fields, integer query parameters and page numbers (Chinese errors that name the field),
a failed action described for its form, and the one-line message shown after a
redirect."""

from __future__ import annotations

from datetime import date
from typing import Any

from fastapi import Request
from sqlalchemy.orm import Session
from starlette.datastructures import FormData

from yibao.kit.bounds import INT4_MAX, in_int4
from yibao.kit.errors import DomainError, ValidationFailed
from yibao.kit.paging import page_number


def text(form: FormData, name: str) -> str:
    """A form field, stripped ("" when absent or a file)."""
    value = form.get(name)
    return value.strip() if isinstance(value, str) else ""


def texts(form: FormData, name: str) -> list[str]:
    """Every non-blank value of a repeated form field, stripped."""
    return [v.strip() for v in form.getlist(name) if isinstance(v, str) and v.strip()]


def int_param(value: str | None, field: str) -> int | None:
    """An optional integer (a query parameter or form field) within 32 bits."""
    if not value:
        return None
    try:
        number = int(value)
    except ValueError:
        raise ValidationFailed(f"{field} 必须是整数: {value!r}", field=field) from None
    if not in_int4(number):
        raise ValidationFailed(
            f"{field} 必须是绝对值不超过 {INT4_MAX} 的整数: {value!r}", field=field
        )
    return number


def date_param(raw: str, field: str, label: str) -> date | None:
    """An optional ISO date (a query parameter or form field; empty → None), refused
    with the field's Chinese label."""
    if not raw:
        return None
    try:
        return date.fromisoformat(raw)
    except ValueError:
        raise ValidationFailed(
            f"{label}：格式应为 YYYY-MM-DD（收到 {raw[:20]!r}）", field=field
        ) from None


def page_arg(request: Request, name: str = "page") -> int:
    """The page number of a listing (1 when absent or unreadable)."""
    return page_number(request.query_params.get(name))


def failure(db: Session, exc: DomainError, **about: Any) -> dict[str, Any]:
    """Roll the request back (nothing half-written stays) and describe the error for
    the page: message, field, HTTP status and what it was about (list id, action …)."""
    db.rollback()
    return {"message": exc.message, "field": exc.field, "status": exc.http_status, **about}


def flash(request: Request, message: str) -> None:
    """A short message for the next page (after a redirect)."""
    request.session["flash"] = message[:300]


def take_flash(request: Request) -> str | None:
    """The message left for this page by :func:`flash`, once."""
    value = request.session.pop("flash", None)
    return value if isinstance(value, str) else None
