"""Identifiers a spreadsheet mangled are never stored as if they were right (review of
2026-12-07): an 18-digit settlement id typed into an Excel number cell, a CSV that
Excel saved with ``2.02611E+17``, a person number in E-notation, blanks inside a
settlement id.  Refused (or held) with the row, the field and the fix named."""

from __future__ import annotations

import copy
import io

import openpyxl
import polars as pl

from tests.e2e.test_settlement_intake import world  # noqa: F401  (fixture)
from yibao.engines.qc import lists_to_flat


def _rows(lists: list[dict]) -> list[dict]:
    return list(pl.DataFrame(lists_to_flat(lists)).iter_rows(named=True))


def _xlsx(flat: list[dict], numbers: dict[str, int]) -> bytes:
    book = openpyxl.Workbook()
    sheet = book.active
    names = list(flat[0])
    sheet.append(names)
    for row in flat:
        sheet.append([numbers[n] if n in numbers else row[n] for n in names])
    buf = io.BytesIO()
    book.save(buf)
    return buf.getvalue()


def test_long_number_cell_refuses_the_file_naming_row_and_column(world):  # type: ignore[no-untyped-def]  # noqa: F811
    client, lists, _other = world
    flat = _rows(lists[:2])
    body = _xlsx(flat, {"setl_id": 202611030000000123})
    r = client.post("/api/settlement/lists/upload", files={"file": ("lists.xlsx", body)})
    assert r.status_code == 422, r.text
    message = r.json()["error"]["message"]
    assert "第 2 行" in message and "setl_id" in message and "15 位有效数字" in message
    assert "文本" in message
    # nothing stored
    assert client.get("/api/settlement/lists", params={"size": 5}).json()["total"] == 0


def test_scientific_ids_and_blanks_in_a_csv(world):  # type: ignore[no-untyped-def]  # noqa: F811
    client, lists, _other = world
    flat = _rows(lists[:4])
    flat[0]["setl_id"] = "2.02611E+17"  # a CSV Excel saved: the id's digits are lost
    flat[1]["setl_id"] = "FW\u300000000004"  # an ideographic space inside
    flat[2]["psn_no"] = "9.90102E+19"  # the person's number lost: held, not refused
    buf = io.BytesIO()
    pl.DataFrame(flat).write_csv(buf)
    r = client.post("/api/settlement/lists/upload", files={"file": ("lists.csv", buf.getvalue())})
    assert r.status_code == 200, r.text
    out = r.json()["lists"]
    assert out[0]["state"] == "refused" and "科学计数法" in out[0]["findings"][0]["message"]
    assert out[1]["state"] == "refused" and "U+3000" in out[1]["findings"][0]["message"]
    assert out[2]["state"] == "qc_failed"
    (held,) = [f for f in out[2]["findings"] if f["field"] == "setlinfo.psn_no"]
    assert held["severity"] == "blocking" and "科学计数法" in held["message"]
    assert out[3]["state"] == "priced"
    # an id that only looks like a number with an E is an id
    ok = copy.deepcopy(lists[5])
    ok["setlinfo"]["setl_id"] = "S2026E0001"
    again = client.post("/api/settlement/lists", json=ok).json()["lists"][0]
    assert again["state"] == "priced", again


def test_headers_of_hospitals_own_exports_are_read(world):  # type: ignore[no-untyped-def]  # noqa: F811
    """入院日期 / 出院日期 / 医疗总费用 / 年龄 / 西药费（元）: the common headers of a
    hospital's own export read as the template's columns (they were ignored and the
    lists held as 未填写)."""
    client, lists, _other = world
    rows = _rows(lists[:3])
    renamed = {
        "adm_time": "入院日期",
        "dscg_time": "出院日期",
        "medfee_sumamt": "医疗总费用",
        "age": "年龄",
        "fee_western_medicine": "西药费（元）",
    }
    frame = pl.DataFrame(rows).rename({k: v for k, v in renamed.items() if k in rows[0]})
    buf = io.BytesIO()
    frame.write_csv(buf)
    r = client.post("/api/settlement/lists/upload", files={"file": ("his.csv", buf.getvalue())})
    assert r.status_code == 200, r.text
    assert r.json()["by_state"] == {"priced": 3}, r.json()
    assert r.json()["notes"] == []
