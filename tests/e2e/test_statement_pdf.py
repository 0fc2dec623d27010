"""The PDF statement names the bureau, the period and the hospital and carries the
signature and seal block of both sides (issue 10.9, in part) — read back from the
page's content stream."""

from __future__ import annotations

import base64
import re
import zlib

from tests.e2e.test_settlement_review import _as
from tests.e2e.test_settlement_statements import _confirm_month_a, world  # noqa: F401

_ESCAPES = {b"n": b"\n", b"r": b"\r", b"t": b"\t", b"b": b"\b", b"f": b"\f"}


def _unescape(m: re.Match[bytes]) -> bytes:
    code = m.group(1)
    if code[:1].isdigit():
        return bytes([int(code, 8) & 0xFF])
    return _ESCAPES.get(code, code)


def _page_text(pdf: bytes) -> bytes:
    """The decoded content streams (ASCII85 + Flate, as ReportLab writes them), with
    the escapes of their literal strings resolved."""
    out = b""
    for raw in re.findall(rb"stream\r?\n(.*?)endstream", pdf, re.S):
        try:
            out += zlib.decompress(base64.a85decode(raw.strip().removesuffix(b"~>")))
        except (ValueError, zlib.error):
            continue
    return re.sub(rb"\\([0-7]{1,3}|.)", _unescape, out, flags=re.S)


def _in_page(text: str, page: bytes) -> bool:
    """Chinese text in a CID-font page is its UCS-2 (big-endian) code units."""
    return text.encode("utf-16-be") in page


def test_pdf_statement_names_bureau_and_has_a_seal_block(world):  # type: ignore[no-untyped-def]  # noqa: F811
    client, codes = world["client"], world["codes"]
    _confirm_month_a(world)
    _as(client, "reviewer")
    r = client.get(
        f"/api/settlement/periods/{world['month_a']}/statements/{codes['hosp01']}",
        params={"format": "pdf"},
    )
    assert r.status_code == 200 and r.content.startswith(b"%PDF")
    page = _page_text(r.content)
    assert page, "no content stream decoded"
    for text in (
        "医疗保障局",
        "经办机构",
        "结算期间",
        "医保经办机构（盖章）",
        "医疗机构（盖章）",
        "复核人",
    ):
        assert _in_page(text, page), text
