"""The PDF statement names the bureau, the period and the hospital and carries the
signature and seal block of both sides (issue 10.9, in part) — read back from the
page's content stream."""

from __future__ import annotations

import io

import pytest
from pypdf import PdfReader

from tests.e2e.test_settlement_review import _as
from tests.e2e.test_settlement_statements import _confirm_month_a, world  # noqa: F401
from yibao.settlement.statements.pdf import FONT_CANDIDATES


def _text(pdf: bytes) -> str:
    """The page's text as a PDF reader extracts it (through the fonts' ToUnicode maps)."""
    return "".join(page.extract_text() for page in PdfReader(io.BytesIO(pdf)).pages)


def test_pdf_statement_names_bureau_and_has_a_seal_block(world):  # type: ignore[no-untyped-def]  # noqa: F811
    client, codes = world["client"], world["codes"]
    _confirm_month_a(world)
    _as(client, "reviewer")
    r = client.get(
        f"/api/settlement/periods/{world['month_a']}/statements/{codes['hosp01']}",
        params={"format": "pdf"},
    )
    assert r.status_code == 200 and r.content.startswith(b"%PDF")
    page = _text(r.content)
    for text in (
        "医疗保障局",
        "经办机构",
        "结算期间",
        "医保经办机构（盖章）",
        "医疗机构（盖章）",
        "复核人",
    ):
        assert text in page, text
    assert "演示" in page and world["month_a"] in page


def test_pdf_statement_embeds_its_chinese_font(world):  # type: ignore[no-untyped-def]  # noqa: F811
    """The glyphs travel with the file (a subset of a TrueType CJK font), so the
    statement prints the same on a computer without Chinese fonts."""
    if not any(p.is_file() for p in FONT_CANDIDATES):
        pytest.skip("no CJK TrueType font on this machine (.ci/run installs fonts-wqy-microhei)")
    client, codes = world["client"], world["codes"]
    _confirm_month_a(world)
    _as(client, "reviewer")
    r = client.get(
        f"/api/settlement/periods/{world['month_a']}/statements/{codes['hosp01']}",
        params={"format": "pdf"},
    )
    fonts = set()
    for page in PdfReader(io.BytesIO(r.content)).pages:
        for font in page["/Resources"]["/Font"].values():
            font = font.get_object()
            descriptor = font.get("/FontDescriptor")
            embedded = descriptor is not None and "/FontFile2" in descriptor.get_object()
            fonts.add((str(font["/BaseFont"]), embedded))
    # every font but the 14 standard ones every reader has (reportlab's default Helvetica)
    standard = ("/Helvetica", "/Times", "/Courier", "/Symbol", "/ZapfDingbats")
    own = {(name, embedded) for name, embedded in fonts if not name.startswith(standard)}
    assert own and all(embedded for _name, embedded in own), fonts


def test_only_the_bureau_tries_other_parameters_and_a_trial_is_no_statement(world):  # type: ignore[no-untyped-def]  # noqa: F811
    """A hospital cannot print its statement with a 0 % deposit (an official-looking PDF
    with a higher net payable); the bureau's trial says 试算 and has no seal block."""
    client, codes = world["client"], world["codes"]
    _confirm_month_a(world)
    url = f"/api/settlement/periods/{world['month_a']}/statements/{codes['hosp01']}"
    _as(client, "hosp01")
    for params in ({"deposit_rate": "0", "format": "pdf"}, {"prepay_share": "1"}):
        r = client.get(url, params=params)
        assert r.status_code == 403 and "医疗机构不能调整结算单参数" in r.text, r.text
    r = client.get(
        f"/api/settlement/periods/{world['month_a']}/statements", params={"advances": '{"x": 1}'}
    )
    assert r.status_code == 403
    assert client.get(url, params={"format": "pdf"}).status_code == 200  # its own: fine
    _as(client, "reviewer")
    trial = _text(client.get(url, params={"deposit_rate": "0", "format": "pdf"}).content)
    assert "试算" in trial and "非正式结算单" in trial and "盖章）" not in trial
    real = _text(client.get(url, params={"format": "pdf"}).content)
    assert "试算" not in real and "确认支付金额" in real and "审核调整前" in real
