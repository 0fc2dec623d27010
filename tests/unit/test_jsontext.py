"""JSON columns' text (orjson, with the standard library for what orjson refuses)."""

from __future__ import annotations

import json

from yibao.db.jsontext import dumps, loads


def test_text_is_utf8_compact_and_reads_back() -> None:
    value = {"psn_name": "张三", "n": [1, 2.5, None, True], 3: "int key"}
    text = dumps(value)
    assert "张三" in text and "\\u" not in text
    assert loads(text) == {"psn_name": "张三", "n": [1, 2.5, None, True], "3": "int key"}
    # what the standard library wrote before reads the same
    assert loads(json.dumps({"a": "张三"})) == {"a": "张三"}


def test_a_number_beyond_64_bits_is_still_written() -> None:
    """A HIS message is journaled as received: a 30-digit whole number must not make
    the write (and so the answer) fail."""
    assert loads(dumps({"cnt": 10**30})) == {"cnt": 10**30}
