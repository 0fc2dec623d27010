"""What the statement and clearing endpoints share: an answer's decimals as strings
(amounts in the API are strings of yuan)."""

from __future__ import annotations

from decimal import Decimal
from typing import Any


def jsonable(value: Any) -> Any:
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, dict):
        return {k: jsonable(v) for k, v in value.items()}
    if isinstance(value, list):
        return [jsonable(v) for v in value]
    return value
