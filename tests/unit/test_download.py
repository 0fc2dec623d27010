"""Files answered as downloads: one helper, an ASCII name every client can read and the
Chinese name browsers show (RFC 5987 ``filename*``)."""

from __future__ import annotations

from urllib.parse import unquote

from yibao.api.openapi import CSV, XLSX, download


def _disposition_names(value: str) -> tuple[str, str | None]:
    parts = dict(p.strip().split("=", 1) for p in value.split(";")[1:])
    plain = parts["filename"].strip('"')
    utf8 = parts.get("filename*")
    return plain, unquote(utf8.removeprefix("UTF-8''")) if utf8 else None


def test_chinese_title_travels_as_filename_star_beside_an_ascii_name() -> None:
    r = download(b"x", XLSX, "findings.xlsx", "疑点清单.xlsx")
    value = r.headers["content-disposition"]
    value.encode("latin-1")  # a header must be latin-1: the Chinese name is percent-encoded
    assert value.startswith("attachment;")
    assert _disposition_names(value) == ("findings.xlsx", "疑点清单.xlsx")
    assert r.media_type == XLSX and r.body == b"x"


def test_without_a_title_only_the_ascii_name_and_csv_is_utf8() -> None:
    r = download(b"a,b\n", CSV, "t.csv", headers={"x-yibao-rows": "1"})
    assert _disposition_names(r.headers["content-disposition"]) == ("t.csv", None)
    assert r.headers["content-type"] == "text/csv; charset=utf-8"
    assert r.headers["x-yibao-rows"] == "1"
