"""How JSON columns are written: orjson, not the standard library.

Every journal row (request and response of each gateway message), settlement
(``setlinfo`` / ``setldetail``) and audit row carries JSON; serialising it with
``json.dumps`` cost about a twentieth of a real-time settlement's CPU.  orjson writes
UTF-8 as it is (Chinese text is not written as ``\\u`` escapes: smaller rows, and a search
of the journal's text finds a name as typed) and compact.  Keys that are not text (an
int) are written as text, as ``json`` did.  Text is read back by ``json``
(:func:`loads`).
"""

from __future__ import annotations

import json
from typing import Any

import orjson

_OPTIONS = orjson.OPT_NON_STR_KEYS


def dumps(value: Any) -> str:
    """``value`` as JSON text (for SQLAlchemy's ``json_serializer``).  A whole number
    beyond 64 bits (a hostile HIS message is journaled as received) is written by
    ``json``, which orjson refuses."""
    try:
        return orjson.dumps(value, option=_OPTIONS).decode()
    except orjson.JSONEncodeError:
        return json.dumps(value, ensure_ascii=False)


def loads(text: str | bytes) -> Any:
    """JSON text read back: ``json`` (orjson would read a whole number beyond 64 bits
    as an inexact float; reading is the smaller cost)."""
    return json.loads(text)


#: keyword arguments of ``create_engine`` for JSON columns
ENGINE_JSON: dict[str, Any] = {"json_serializer": dumps, "json_deserializer": loads}
