"""What the statement and clearing endpoints share: an answer's decimals as strings
(amounts in the API are strings of yuan) and a file answered as a download."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from fastapi.responses import Response


def jsonable(value: Any) -> Any:
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, dict):
        return {k: jsonable(v) for k, v in value.items()}
    if isinstance(value, list):
        return [jsonable(v) for v in value]
    return value


def download(content: bytes, media_type: str, filename: str) -> Response:
    return Response(
        content,
        media_type=media_type,
        headers={"content-disposition": f'attachment; filename="{filename}"'},
    )
