"""kit.exports: workbooks write strings as strings, CSV text cannot start a formula."""

from __future__ import annotations

import io
from datetime import date
from decimal import Decimal
from pathlib import Path

import openpyxl
import polars as pl

from yibao.kit.exports import csv_safe, safe_workbook, write_xlsx

TEXT = ['=HYPERLINK("http://e.x","S")', "+1+1", "-2+3", "@SUM(A1)", "\t=1", "\r=1", "http://e.x"]
#: In a workbook a carriage return is stored as ``_x000D_`` (Excel shows it, openpyxl
#: does not decode it), so the Excel checks leave it out.
SHEET_TEXT = [t for t in TEXT if "\r" not in t]


def test_csv_safe_prefixes_formula_text_only() -> None:
    frame = pl.DataFrame(
        {
            "text": [*TEXT, "甲医院", "a=1", None],
            "number": [-1.5] * (len(TEXT) + 3),
            "code": pl.Series(["-1"] * (len(TEXT) + 3)).cast(pl.Categorical),
        }
    )
    out = csv_safe(frame)
    assert out["text"].to_list() == ["'" + t if t[0] in "=+-@\t\r" else t for t in TEXT] + [
        "甲医院",
        "a=1",
        None,
    ]
    assert (
        out["number"].dtype == pl.Float64 and out["number"].to_list() == frame["number"].to_list()
    )
    assert set(out["code"]) == {"'-1"}
    back = pl.read_csv(io.StringIO(out.write_csv()), infer_schema=False)
    assert back["text"][0] == "'" + TEXT[0] and back["number"][0] == "-1.5"


def test_csv_safe_neutralises_headers_and_leaves_clean_frames_alone() -> None:
    assert csv_safe(pl.DataFrame({"=cmd": ["x"], "ok": [1]})).columns == ["'=cmd", "ok"]
    both = pl.DataFrame({"=x": ["a"], "'=x": ["b"]})
    assert csv_safe(both).columns == ["''=x", "'=x"]
    clean = pl.DataFrame({"drg": ["QS25"], "when": [date(2025, 3, 1)], "rw": [Decimal("1.2")]})
    assert csv_safe(clean).equals(clean)


def test_write_xlsx_writes_text_as_text_in_every_sheet(tmp_path: Path) -> None:
    first = pl.DataFrame({"text": SHEET_TEXT, "amount": [Decimal("-2.50")] * len(SHEET_TEXT)})
    second = pl.DataFrame({"when": [date(2025, 3, 1)], "name": ["@SUM(A1)"]})
    target = tmp_path / "out.xlsx"
    write_xlsx({"一": first, "二": second}, target)
    book = openpyxl.load_workbook(target)
    assert book.sheetnames == ["一", "二"]
    cells = [c for sheet in book for row in sheet.iter_rows() for c in row]
    assert not [c.coordinate for c in cells if c.data_type == "f" or c.hyperlink]
    assert [c.value for c in book["一"]["A"][1:]] == SHEET_TEXT
    assert {c.data_type for c in book["一"]["B"][1:]} == {"n"}
    assert book["二"]["A2"].value.date() == date(2025, 3, 1)
    assert book["二"]["A2"].number_format == "yyyy-mm-dd;@"  # as polars formats dates


def test_write_xlsx_to_a_buffer_with_one_frame() -> None:
    buf = io.BytesIO()
    write_xlsx(pl.DataFrame({"x": ["=1+1"]}), buf, worksheet="表", autofit=True)
    sheet = openpyxl.load_workbook(io.BytesIO(buf.getvalue()))["表"]
    assert (sheet["A2"].value, sheet["A2"].data_type) == ("=1+1", "s")


def test_safe_workbook_options() -> None:
    buf = io.BytesIO()
    with safe_workbook(buf) as wb:
        ws = wb.add_worksheet()
        ws.write(0, 0, "=1+1")
        ws.write(0, 1, "https://e.x")
        ws.write(0, 2, "12")
    sheet = openpyxl.load_workbook(io.BytesIO(buf.getvalue())).active
    assert [(c.value, c.data_type, c.hyperlink) for c in sheet[1]] == [
        ("=1+1", "s", None),
        ("https://e.x", "s", None),
        ("12", "s", None),
    ]


def test_write_xlsx_formats_floats_and_the_columns_it_is_told() -> None:
    """A float column nobody described shows at least the fen (polars' own default is
    three decimals: 1,878,477.050); ``formats`` sets a column's format in every sheet."""
    money = pl.DataFrame({"基金支付": [1878477.05, 0.5], "药占比": [0.3263, 0.1], "n": [1, 2]})
    other = pl.DataFrame({"药占比": [0.25], "权重": [Decimal("1.2500")]})
    buf = io.BytesIO()
    write_xlsx({"一": money, "二": other}, buf, formats={"药占比": "0.00%", "absent": "0"})
    book = openpyxl.load_workbook(io.BytesIO(buf.getvalue()))
    first, second = book["一"], book["二"]
    assert first["A2"].number_format == "#,##0.00##" and first["A2"].value == 1878477.05
    assert first["B2"].number_format == "0.00%" and first["B2"].value == 0.3263
    assert second["A2"].number_format == "0.00%" and second["A2"].data_type == "n"
    assert second["B2"].number_format == "#,##0.0000"  # a decimal keeps its scale
