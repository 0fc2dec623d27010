"""Reading what a browser sent, the same way on every page: form fields, integer
query parameters and page numbers, with Chinese errors that name the field."""

from __future__ import annotations

from fastapi import Request
from starlette.datastructures import FormData

from yibao.kit.bounds import INT4_MAX, in_int4
from yibao.kit.errors import ValidationFailed
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


def page_arg(request: Request, name: str = "page") -> int:
    """The page number of a listing (1 when absent or unreadable)."""
    return page_number(request.query_params.get(name))
