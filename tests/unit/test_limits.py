"""The JSON text checks of :mod:`yibao.api.limits`: NUL and lone surrogates, exactly."""

from __future__ import annotations

import json

import pytest

from yibao.api.limits import NUL_JSON, SURROGATE_JSON, json_escape_problem, parse_json
from yibao.kit.errors import ValidationFailed


@pytest.mark.parametrize(
    ("value", "problem"),
    [
        ("plain 文本", None),
        ("\U0001f600 a pair", None),
        ("\U00020000 CJK extension B", None),
        ("\\ud800 an escaped backslash, then text", None),
        ("\\\\\U0001f600 backslashes, then a pair", None),
        ("\ud800", SURROGATE_JSON),
        ("a\udc00", SURROGATE_JSON),
        ("\udc00\ud800", SURROGATE_JSON),  # a pair the wrong way round
        ("\ud800x\udc00", SURROGATE_JSON),
        ("\\\ud800", SURROGATE_JSON),  # a backslash, then a lone surrogate
        ("a\x00b", NUL_JSON),
        ("\\u0000 is text here", None),
    ],
)
def test_json_escape_problem(value: str, problem: str | None) -> None:
    text = json.dumps({"k": [value]})  # ensure_ascii: every non-ASCII character escaped
    assert json_escape_problem(text) == problem
    if problem is None:
        assert parse_json(text.encode()) == {"k": [value]}
    else:
        with pytest.raises(ValidationFailed) as caught:
            parse_json(text.encode())
        assert caught.value.message == problem


def test_parse_json_refuses_deep_nesting_and_bad_text() -> None:
    for raw in (b"[" * 50_000 + b"]" * 50_000, b"{", b"\xff", b'{"a": NaN'):
        with pytest.raises(ValidationFailed):
            parse_json(raw)
