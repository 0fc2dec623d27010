"""决策分析 figures in fixed places on the page, in the PDF and in Excel (ADR 0037 §6):
money with fen and thousands separators, shares as per cent, average length of stay
to 2 decimals, CMI and the indices to 4; the Excel cells are numbers in those formats
(a share keeps its fraction, 0.3263, shown as 32.63%).  The expected figures are
summed from the cases here (SQLite, or PostgreSQL with YIBAO_TEST_DATABASE_URL)."""

from __future__ import annotations

import io
import re
from collections import defaultdict
from decimal import ROUND_HALF_UP, Decimal

import openpyxl
import pytest
from pypdf import PdfReader
from sqlalchemy import select

from tests.builders.demo import settled_region
from tests.e2e.test_maps import _as
from yibao.cases.models import Case

HTML = {"accept": "text/html"}
YEAR = 2025
#: the Excel number format of each kind of column
FORMATS = {
    "int": "#,##0",
    "money": "#,##0.00",
    "pct": "0.00%",
    "index": "0.0000",
    "days": "0.00",
    "dec": "#,##0.00",
}
MONEY = re.compile(r"^-?\d{1,3}(,\d{3})*\.\d{2}$")
INDEX = re.compile(r"^\d+\.\d{4}$|^—$")


@pytest.fixture()
def world(client, db, tmp_path):  # type: ignore[no-untyped-def]
    settled_region(db, years=[2024, YEAR], var_dir=tmp_path)
    return _as(client, "analyst")


def _half_up(value: Decimal, places: str) -> Decimal:
    return value.quantize(Decimal(places), ROUND_HALF_UP)


def _per_hospital(db) -> dict[str, dict[str, Decimal]]:  # type: ignore[no-untyped-def]
    """The year's cases summed per hospital, and the figures the report derives."""
    acc: dict[str, dict[str, Decimal]] = defaultdict(lambda: defaultdict(Decimal))
    for c in db.scalars(select(Case)):
        if c.discharge_date.year == YEAR:
            a = acc[c.hospital_code]
            a["cases"] += 1
            a["los"] += c.los_days
            a["cost"] += c.total_cost
            a["fund"] += c.fund_payment
            a["drugs"] += c.fee_western_medicine + c.fee_herbal_pieces
            a["drugs"] += c.fee_chinese_patent_medicine
    for a in acc.values():
        a["avg_los"] = _half_up(a["los"] / a["cases"], "0.01")
        a["avg_cost"] = _half_up(a["cost"] / a["cases"], "0.01")
        a["drug_share"] = _half_up(a["drugs"] / a["cost"], "0.0001")
    return acc


def test_institutions_page_and_pdf_print_fixed_places(world, db) -> None:  # type: ignore[no-untyped-def]
    want = _per_hospital(db)
    page = world.get("/analysis/institutions", params={"year": YEAR}, headers=HTML).text
    rows = re.findall(r"<tr>(<td.*?)</tr>", page)
    assert len(rows) == len(want)
    for row in rows:
        cells = dict(re.findall(r'data-col="(\w+)">([^<]*)</td>', row))
        w = want[cells["hospital_code"]]
        assert cells["avg_los"] == f"{w['avg_los']:.2f}"
        assert cells["total_cost"] == f"{w['cost']:,.2f}"
        assert cells["avg_cost"] == f"{w['avg_cost']:,.2f}"
        assert cells["drug_share"] == f"{w['drug_share'] * 100:.2f}%"
        for key in ("fund_payment", "vola_amt", "finding_amt", "deducted"):
            assert MONEY.match(cells[key]), (key, cells[key])
    assert any(f"{w['avg_los']:.2f}".endswith("0") for w in want.values())  # a padded one

    pdf = world.get("/api/analysis/reports/institutions", params={"year": YEAR, "format": "pdf"})
    text = "".join(p.extract_text() for p in PdfReader(io.BytesIO(pdf.content)).pages)
    words = set(text.split())
    for w in want.values():
        assert f"{w['avg_los']:.2f}" in words and f"{w['cost']:,.2f}" in words
        assert f"{w['drug_share'] * 100:.2f}%" in words


def test_drg_page_prints_indices_to_four_places(world) -> None:  # type: ignore[no-untyped-def]
    page = world.get("/analysis/drg", params={"year": YEAR}, headers=HTML).text
    for key in ("cmi", "cost_index", "time_index"):
        cells = re.findall(rf'data-col="{key}">([^<]*)</td>', page)
        assert cells and all(INDEX.match(c) for c in cells), (key, cells)
    pdf = world.get("/api/analysis/reports/drg", params={"year": YEAR, "format": "pdf"})
    text = "".join(p.extract_text() for p in PdfReader(io.BytesIO(pdf.content)).pages)
    figures = re.findall(r"\b\d+\.\d+\b", text)
    assert figures and all(len(f.split(".")[1]) in (2, 4) for f in figures), figures


def _sheets(client, name: str):  # type: ignore[no-untyped-def]
    answer = client.get(f"/api/analysis/reports/{name}", params={"year": YEAR, "format": "xlsx"})
    assert answer.status_code == 200
    return openpyxl.load_workbook(io.BytesIO(answer.content)).worksheets


def test_every_excel_export_writes_numbers_in_their_formats(world, db) -> None:  # type: ignore[no-untyped-def]
    for name in ("institutions", "trend", "drg", "dip", "usage", "fund"):
        body = world.get(f"/api/analysis/reports/{name}", params={"year": YEAR}).json()
        kinds = {c["label"]: c["kind"] for c in body["columns"]}
        kinds |= {"数量": "dec", "金额": "money", "使用医院数": "int"}  # usage's item sheet
        for sheet in _sheets(world, name):
            header = [c.value for c in sheet[1]]
            for column, label in enumerate(header, start=1):
                kind = kinds[label]
                for (cell,) in sheet.iter_rows(min_row=2, min_col=column, max_col=column):
                    if kind == "text" or cell.value is None:
                        continue
                    assert cell.data_type == "n", (name, label, cell.value)
                    assert isinstance(cell.value, int | float), (name, label, cell.value)
                    assert cell.number_format == FORMATS[kind], (name, label, cell.number_format)

    want = _per_hospital(db)
    sheet = _sheets(world, "institutions")[0]
    header = [c.value for c in sheet[1]]
    assert header[4:9] == ["医疗总费用", "基金支付", "例均费用", "平均住院日", "药占比"]
    for row in sheet.iter_rows(min_row=2):
        got = dict(zip(header, row, strict=True))
        w = want[got["医院编码"].value]
        assert got["医疗总费用"].value == pytest.approx(float(w["cost"]))
        assert got["平均住院日"].value == pytest.approx(float(w["avg_los"]))
        assert got["药占比"].value == pytest.approx(float(w["drug_share"]))  # 0.3263, not 32.63
        assert got["药占比"].number_format == "0.00%" and got["疑点率"].number_format == "0.00%"
        for label in (
            "医疗总费用",
            "基金支付",
            "例均费用",
            "实时疑点金额",
            "事后疑点金额",
            "审核扣款",
        ):
            assert got[label].number_format == "#,##0.00", label
