"""Exports a bureau sends are Chinese (issue 10.9, in part): statement and clearing
workbooks and the measurement Excel files have Chinese headers, Chinese words for
classes, bases, levels and yes/no, and money to the fen — read back from the files."""

from __future__ import annotations

import io
import re
from decimal import Decimal

import openpyxl

from tests.e2e.test_settlement_review import _as
from tests.e2e.test_settlement_statements import _confirm_month_a, world  # noqa: F401

HAN = re.compile(r"[\u4e00-\u9fff]")
ALLOWED_LATIN = {"DRG", "CMI", "MDC", "ADRG"}


def _sheets(content: bytes) -> dict[str, list[list[object]]]:
    book = openpyxl.load_workbook(io.BytesIO(content))
    return {ws.title: [[c.value for c in row] for row in ws.iter_rows()] for ws in book}


def _headers_are_chinese(rows: list[list[object]]) -> None:
    header = [str(h) for h in rows[0]]
    assert all(HAN.search(h) or h in ALLOWED_LATIN for h in header), header


def test_statement_and_clearing_workbooks_read_in_chinese(world):  # type: ignore[no-untyped-def]  # noqa: F811
    client, codes = world["client"], world["codes"]
    _confirm_month_a(world)
    _as(client, "reviewer")
    h1 = codes["hosp01"]
    r = client.get(
        f"/api/settlement/periods/{world['month_a']}/statements/{h1}", params={"format": "xlsx"}
    )
    sheets = _sheets(r.content)
    summary, cases = sheets["汇总"], sheets["病例明细"]
    for rows in (summary, cases):
        _headers_are_chinese(rows)
    header = cases[0]
    classes = {row[header.index("支付类别")] for row in cases[1:]}
    assert classes and all(HAN.search(str(c)) for c in classes), classes
    assert {row[header.index("是否审核调整")] for row in cases[1:]} <= {"是", "否"}
    assert {row[header.index("医院等级")] for row in cases[1:]} <= {"一级", "二级", "三级"}
    assert any(row[header.index("是否审核调整")] == "是" for row in cases[1:])
    for row in cases[1:]:
        paid = row[header.index("确认支付（元）")]
        assert isinstance(paid, (int, float)) and Decimal(str(paid)) == Decimal(str(paid)).quantize(
            Decimal("0.01")
        )
    totals = dict(zip(summary[0], summary[1], strict=True))
    assert totals["医疗机构编码"] == h1 and "审核调增（元）" in totals

    scores = {h1: 90, codes["hosp02"]: 85}
    body = {"budget": "2000000", "method": "rate", "assessment_scores": scores}
    r = client.post(
        f"/api/settlement/years/{world['month_a'][:4]}/clearing",
        params={"format": "xlsx"},
        json=body,
    )
    assert r.status_code == 200, r.text
    for rows in _sheets(r.content).values():
        _headers_are_chinese(rows)


def test_statement_money_cells_show_two_decimals(world):  # type: ignore[no-untyped-def]  # noqa: F811
    """A money column (its header ends in （元）) is a number formatted to the fen —
    #,##0.00, so 0 reads 0.00 and 1,979.9 reads 1,979.90 — not Excel's General."""
    client, codes = world["client"], world["codes"]
    _confirm_month_a(world)
    _as(client, "reviewer")
    r = client.get(
        f"/api/settlement/periods/{world['month_a']}/statements/{codes['hosp01']}",
        params={"format": "xlsx"},
    )
    book = openpyxl.load_workbook(io.BytesIO(r.content))
    checked = 0
    for sheet in (book["汇总"], book["病例明细"]):
        header = [c.value for c in sheet[1]]
        for i, name in enumerate(header):
            if not str(name).endswith("（元）"):
                continue
            for cell in [row[i] for row in sheet.iter_rows(min_row=2)]:
                if cell.value is None:
                    continue
                assert cell.data_type == "n", (name, cell.value)
                assert cell.number_format == "#,##0.00", (sheet.title, name, cell.number_format)
                checked += 1
    assert checked > 10
