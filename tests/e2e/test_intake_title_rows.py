"""Sloppy list files as hospitals' own exports make them: a title and a blank line
above the header, blank rows between the lists.  The header is found, the lines above
it are named in a note, and every problem names the row the spreadsheet shows."""

from __future__ import annotations

import copy
import csv
import io

import openpyxl

from tests.e2e.test_settlement_review import _as, world  # noqa: F401  (fixture)
from yibao.engines.qc.flat import lists_to_flat

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
HTML = {"accept": "text/html"}


def _messages(world):  # type: ignore[no-untyped-def]  # noqa: F811
    out = []
    for i, m in enumerate(world["messages"][:3]):
        m = copy.deepcopy(m)
        m["setlinfo"]["setl_id"] = f"S2024998{i:06d}"
        out.append(m)
    out[2]["setlinfo"]["medfee_sumamt"] = "-5"  # QC033: a negative total is held
    return out


def _workbook(messages: list, above: list[list[str]], gap_after: int | None = None) -> bytes:  # type: ignore[type-arg]
    flat = lists_to_flat(messages)
    wb = openpyxl.Workbook()
    ws = wb.active
    for line in above:
        ws.append(line)
    ws.append(flat.columns)
    for i, row in enumerate(flat.iter_rows()):
        ws.append(list(row))
        if gap_after is not None and i == gap_after:
            ws.append([])  # a blank row between lists
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()


def test_excel_with_a_title_finds_its_header_and_names_rows(world):  # type: ignore[no-untyped-def]  # noqa: F811
    client = world["client"]
    _as(client, "hosp01")
    content = _workbook(_messages(world), [["2024年10月 住院结算清单（第一人民医院）"], []], 0)
    files = {"file": ("清单.xlsx", content, XLSX)}
    out = client.post("/api/settlement/lists/upload", files=files).json()
    assert out["received"] == 3, out
    assert any("第 1–2 行不是表头" in n and "表头在第 3 行" in n for n in out["notes"])
    rows = {o["setl_id"]: o["row"] for o in out["lists"]}
    # header on row 3, lists on rows 4 and 6 (a blank row 5 between them), then 7
    assert rows == {"S2024998000000": 4, "S2024998000001": 6, "S2024998000002": 7}
    held = next(o for o in out["lists"] if o["setl_id"] == "S2024998000002")
    assert held["state"] == "qc_failed"
    page = client.post(
        "/settlement/lists/upload",
        files=files,
        headers={**HTML, "x-csrf-token": client.headers["x-csrf-token"]},
    ).text
    assert "表头在第 3 行" in page and ">行号<" in page
    row = page.split('data-setl-id="S2024998000002"', 1)[1].split("</tr>", 1)[0]
    cell = row.split('data-testid="problem-row-number"', 1)[1].split("</td>", 1)[0]
    assert cell.strip(">").strip() == "7"


def test_csv_with_a_title_line_is_read_below_it(world):  # type: ignore[no-untyped-def]  # noqa: F811
    client = world["client"]
    _as(client, "hosp01")
    flat = lists_to_flat(_messages(world)[:2])
    body = io.StringIO()
    flat.write_csv(body)
    text = "第一人民医院结算清单导出,,,\n" + body.getvalue()
    files = {"file": ("清单.csv", text.encode("utf-8"), "text/csv")}
    out = client.post("/api/settlement/lists/upload", files=files).json()
    assert out["received"] == 2, out
    assert [o["row"] for o in out["lists"]] == [3, 4]
    assert any("第 1 行不是表头" in n for n in out["notes"])


def test_a_file_without_the_id_column_is_still_refused(world):  # type: ignore[no-untyped-def]  # noqa: F811
    client = world["client"]
    _as(client, "hosp01")
    flat = lists_to_flat(_messages(world)[:1]).drop("setl_id")
    body = io.StringIO()
    flat.write_csv(body)
    files = {"file": ("清单.csv", body.getvalue().encode("utf-8"), "text/csv")}
    r = client.post("/api/settlement/lists/upload", files=files)
    assert r.status_code == 422 and "缺少结算清单ID列" in r.text


def test_diagnoses_separated_by_dunhao_are_read(world):  # type: ignore[no-untyped-def]  # noqa: F811
    """诊断编码 typed as ``J18.900、I10.x00``: the list is read (and priced) as with ``|``."""
    client = world["client"]
    _as(client, "hosp01")
    messages = world["messages"][:2]  # new versions of the stays' own lists
    flat = lists_to_flat(messages)
    assert any("|" in (v or "") for v in flat["diag_codes"].to_list())  # several diagnoses
    sloppy = flat.with_columns(
        flat["diag_codes"].str.replace_all("|", "、", literal=True),
        flat["diag_names"].str.replace_all("|", "、", literal=True),
    )
    body = io.StringIO()
    sloppy.write_csv(body)
    files = {"file": ("清单.csv", body.getvalue().encode("utf-8"), "text/csv")}
    out = client.post("/api/settlement/lists/upload", files=files).json()
    assert any("已按“|”分隔读取" in n for n in out["notes"]), out["notes"]
    assert {o["state"] for o in out["lists"]} <= {"priced", "grouped"}, [
        o["findings"] for o in out["lists"]
    ]
    # the same group and payment as the lists sent as JSON
    again = client.post("/api/settlement/lists", json={"lists": messages}).json()["lists"]
    for by_file, by_json in zip(out["lists"], again, strict=True):
        assert (by_file["drg"], by_file["drg_payment"]) == (by_json["drg"], by_json["drg_payment"])
        assert not [f for f in by_file["findings"] if "diseinfo" in (f["field"] or "")]


def test_excel_unicode_text_and_semicolons_are_read(world):  # type: ignore[no-untyped-def]  # noqa: F811
    """Excel's “Unicode 文本” (UTF-16, TAB-separated, .txt) and a ;-separated CSV."""
    client = world["client"]
    _as(client, "hosp01")
    messages = world["messages"][:2]
    flat = lists_to_flat(messages)
    tsv = io.StringIO()
    flat.write_csv(tsv, separator="\t")
    files = {"file": ("清单.txt", tsv.getvalue().encode("utf-16"), "text/plain")}
    out = client.post("/api/settlement/lists/upload", files=files).json()
    assert out["received"] == 2 and {o["state"] for o in out["lists"]} == {"priced"}, out
    assert any("制表符" in n for n in out["notes"]) and any("UTF-16" in n for n in out["notes"])
    semi = io.StringIO()
    flat.write_csv(semi, separator=";")
    files = {"file": ("清单.csv", semi.getvalue().encode("gb18030"), "text/csv")}
    out = client.post("/api/settlement/lists/upload", files=files).json()
    assert out["received"] == 2 and {o["state"] for o in out["lists"]} == {"priced"}, out
    assert any("分号" in n for n in out["notes"])


def test_a_column_twice_is_merged_or_refused_naming_the_row(world):  # type: ignore[no-untyped-def]  # noqa: F811
    client = world["client"]
    _as(client, "hosp01")
    messages = world["messages"][:2]
    flat = lists_to_flat(messages)
    header = [*flat.columns, "医疗费总额"]
    rows = [[*r, None] for r in flat.iter_rows()]
    total = flat.columns.index("medfee_sumamt")
    rows[0][-1], rows[0][total] = rows[0][total], None  # the value in the second copy
    for ext in ("csv", "xlsx"):
        wb = openpyxl.Workbook()
        wb.active.append(header)
        for r in rows:
            wb.active.append(r)
        buf = io.BytesIO()
        if ext == "xlsx":
            wb.save(buf)
        else:
            text = io.StringIO()
            csv.writer(text).writerows([header, *rows])
            buf.write(text.getvalue().encode("utf-8"))
        files = {"file": (f"清单.{ext}", buf.getvalue(), XLSX)}
        out = client.post("/api/settlement/lists/upload", files=files).json()
        assert {o["state"] for o in out["lists"]} == {"priced"}, (ext, out)
        assert any("“医疗费总额”列出现 2 次，已合并" in n for n in out["notes"]), out["notes"]
        assert not any("_duplicated_" in n or "医疗费总额_2" in n for n in out["notes"])
    rows[1][-1] = "1.00"  # two different totals in one row
    text = io.StringIO()
    csv.writer(text).writerows([header, *rows])
    files = {"file": ("清单.csv", text.getvalue().encode("utf-8"), "text/csv")}
    r = client.post("/api/settlement/lists/upload", files=files)
    assert r.status_code == 422 and "第 3 行两列取值不同" in r.text, r.text
