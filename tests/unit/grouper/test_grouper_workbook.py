"""The plan workbook (issue 16 item 4): readable conditions round trip, an unchanged
export re-imports with the identical checksum, an edited workbook (a new age split, a
moved code, a rename) groups hand-made cases as edited, and malformed workbooks are
refused with sheet, row and reason while nothing is written."""

from __future__ import annotations

import io
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import xlsxwriter
from python_calamine import CalamineWorkbook

from tests.unit.grouper.conftest import PLANS_DIR
from yibao.engines.grouper import compile_plan, group_one
from yibao.engines.grouper.condtext import (
    ConditionTextError,
    format_condition,
    parse_condition_text,
)
from yibao.engines.grouper.registry import plan_checksum
from yibao.engines.grouper.workbook import export_workbook
from yibao.engines.grouper.workbook_read import (
    WorkbookError,
    build_plan_folder,
    read_workbook,
)

Sheets = dict[str, list[list[Any]]]
_exports: dict[str, bytes] = {}


def _export(plan_id: str) -> bytes:
    if plan_id not in _exports:
        _exports[plan_id] = export_workbook(PLANS_DIR / plan_id)
    return _exports[plan_id]


def _sheets(data: bytes) -> Sheets:
    book = CalamineWorkbook.from_filelike(io.BytesIO(data))
    return {
        name: [list(r) for r in book.get_sheet_by_name(name).to_python(skip_empty_area=False)]
        for name in book.sheet_names
    }


def _save(sheets: Sheets) -> bytes:
    """Write the sheets back as a user's Excel would (strings stay text, numbers numbers)."""
    out = io.BytesIO()
    book = xlsxwriter.Workbook(out, {"constant_memory": True, "in_memory": True})
    for name, rows in sheets.items():
        ws = book.add_worksheet(name)
        for r, row in enumerate(rows):
            for c, value in enumerate(row):
                if isinstance(value, bool):
                    ws.write_boolean(r, c, value)
                elif isinstance(value, str) and value:
                    ws.write_string(r, c, value)
                elif isinstance(value, (int, float)) and not isinstance(value, bool):
                    ws.write_number(r, c, value)
    book.close()
    return out.getvalue()


_parsed: dict[str, Sheets] = {}
#: big sheets a malformed-workbook test may cut short (read errors stop before loading)
_LONG = ("诊断编码表", "手术操作编码表", "诊断编码映射", "手术操作编码映射", "CC与MCC", "CC排除")


def _edited(
    edit: Callable[[Sheets], None], plan_id: str = "chs-drg-1.1", *, short: bool = False
) -> bytes:
    if plan_id not in _parsed:
        _parsed[plan_id] = _sheets(_export(plan_id))
    sheets = {name: [list(r) for r in rows] for name, rows in _parsed[plan_id].items()}
    if short:
        sheets.update({name: sheets[name][:50] for name in _LONG if name in sheets})
    edit(sheets)
    return _save(sheets)


def _issues(data: bytes, tmp_path: Path) -> list[tuple[str, int | None, str]]:
    with pytest.raises(WorkbookError) as err:
        build_plan_folder(read_workbook(data), tmp_path / "p", "bad-1", "bad", {})
    return [(i.sheet, i.row, i.message) for i in err.value.issues]


def test_every_condition_of_every_plan_reads_back_as_written() -> None:
    count = 0
    for plan_json in sorted(PLANS_DIR.glob("*/plan.json")):
        raw = json.loads(plan_json.read_text(encoding="utf-8"))
        conds = [m["entry"] for m in raw["mdcs"].values()]
        conds += [a["condition"] for a in raw["adrgs"].values()]
        conds += [d["condition"] for d in raw["drgs"].values() if "condition" in d]
        for cond in conds:
            assert parse_condition_text(format_condition(cond)) == cond, plan_json
            count += 1
    assert count > 9_000


def test_condition_text_reads_what_people_type() -> None:
    assert parse_condition_text("年龄岁数>=65，<=120 且 （有有效MCC 或 有有效CC）") == {
        "op": "all",
        "args": [
            {"op": "field_range", "field": "age_years", "ge": 65, "le": 120},
            {"op": "any", "args": [{"op": "has_mcc"}, {"op": "has_cc"}]},
        ],
    }
    assert parse_condition_text("重症监护小时数 > 96") == {
        "op": "field_range",
        "field": "icu_hours",
        "gt": 96,
    }
    assert parse_condition_text(
        "a 或 b 且 c".replace("a", "有手术操作")
        .replace("b", "性别为女")
        .replace("c", "科室为 ICU、CCU")
    ) == {
        "op": "any",
        "args": [
            {"op": "has_procedure"},
            {
                "op": "all",
                "args": [
                    {"op": "sex_is", "value": 2},
                    {"op": "field_in", "field": "dept", "values": ["ICU", "CCU"]},
                ],
            },
        ],
    }
    assert parse_condition_text("（年龄岁数＞＝６５）且　并非（有手术操作）") == {
        "op": "all",
        "args": [
            {"op": "field_range", "field": "age_years", "ge": 65},
            {"op": "not", "arg": {"op": "has_procedure"}},
        ],
    }
    for bad, words in (
        ("年龄岁数 大于 6", "范围"),
        ("主要诊断属于 A B", "编码表名"),
        ("(有有效MCC 且 有有效CC", "右括号"),
        ("有有效MCC 有有效CC", "无法识别"),
        ("", "为空"),
    ):
        with pytest.raises(ConditionTextError, match=words):
            parse_condition_text(bad)


@pytest.mark.parametrize("plan_id", ["chs-drg-1.1", "beijing-2022", "zhejiang-2022"])
def test_unchanged_round_trip_keeps_the_checksum(plan_id: str, tmp_path: Path) -> None:
    content = read_workbook(_export(plan_id))
    plan, checksum = build_plan_folder(content, tmp_path / "x", "round-trip", "往返", {})
    assert checksum == plan_checksum(PLANS_DIR / plan_id / "plan.json")
    assert plan_checksum(tmp_path / "x" / "plan.json") == checksum
    assert (
        len(plan.drgs)
        == json.loads((PLANS_DIR / plan_id / "plan.json").read_text())["plan"]["drg_count"]
    )


def _edit_headache(sheets: Sheets) -> None:
    """BV3 (头痛) gets an age split BV31 (≥ 65 years) before BV39, BV39 is renamed, and
    G43.000 moves from BV3's list to BX2's."""
    drg = sheets["DRG"]
    at = next(i for i, r in enumerate(drg) if r[0] == "BV39")
    drg[at][2] = "头痛，年龄小于65岁"
    drg.insert(at, ["BV31", "BV3", "头痛，年龄65岁及以上", "按条件", "年龄岁数 ≥ 65", ""])
    lists = sheets["编码列表"]
    row = next(i for i, r in enumerate(lists) if r[0] == "BV3.dx" and r[1] == "G43.000")
    moved = lists.pop(row)
    moved[0] = "BX2.dx"
    lists.insert(next(i for i, r in enumerate(lists) if r[0] == "BX2.dx"), moved)


def test_edited_workbook_groups_hand_made_cases_as_edited(tmp_path: Path) -> None:
    base = compile_plan(read_and_build(_export("chs-drg-1.1"), tmp_path / "base"))
    plan = compile_plan(read_and_build(_edited(_edit_headache), tmp_path / "edit"))
    cases = [
        ({"sex": 2, "age_years": 70, "diagnoses": "G43.100"}, "BV39", "BV31"),
        ({"sex": 1, "age_years": 65, "diagnoses": "G43.100"}, "BV39", "BV31"),
        ({"sex": 2, "age_years": 64, "diagnoses": "G43.100"}, "BV39", "BV39"),
        ({"sex": 1, "age_years": 40, "diagnoses": "G43.000"}, "BV39", "BX29"),
        ({"sex": 1, "age_years": 80, "diagnoses": "G43.000"}, "BV39", "BX29"),
    ]
    for case, before, after in cases:
        assert group_one(base, case).drg == before, case
        result = group_one(plan, case)
        assert (result.status, result.drg) == ("ok", after), case
    assert group_one(plan, cases[2][0]).drg_name == "头痛，年龄小于65岁"
    assert group_one(plan, cases[0][0]).drg_name == "头痛，年龄65岁及以上"


def read_and_build(data: bytes, folder: Path) -> Any:
    plan, _ = build_plan_folder(read_workbook(data), folder, "edited-1", "edited", {})
    return plan


def _drop_sheet(sheets: Sheets) -> None:
    del sheets["CC排除"]


def _bad_header(sheets: Sheets) -> None:
    sheets["ADRG"][0][2] = "条件"


def _numeric_code(sheets: Sheets) -> None:
    sheets["编码列表"][5][1] = 96.04


def _bad_condition(sheets: Sheets) -> None:
    sheets["ADRG"][3][2] = "主要诊断属于 AD1.dx 并且 年龄 大"


def _bad_split(sheets: Sheets) -> None:
    sheets["DRG"][4][3] = "按年龄"


def _orphan_drg(sheets: Sheets) -> None:
    sheets["DRG"].append(["QQ99", "QQ9", "不存在的组", "不细分", "", ""])


def _missing_list(sheets: Sheets) -> None:
    row = next(r for r in sheets["ADRG"] if r[0] == "BV3")
    row[2] = "主要诊断属于 BV3.nothing"


@pytest.mark.parametrize(
    ("edit", "sheet", "row", "words"),
    [
        (_drop_sheet, "CC排除", None, "缺少该工作表"),
        (_bad_header, "ADRG", 1, "表头应为"),
        (_numeric_code, "编码列表", 6, "应为文本"),
        (_bad_condition, "ADRG", 4, "无法读取"),
        (_bad_split, "DRG", 5, "细分方式应为"),
        (_orphan_drg, "DRG", None, "不在 ADRG 表中"),
        (_missing_list, "ADRG", None, "BV3.nothing"),
    ],
)
def test_malformed_workbooks_are_refused_by_sheet_and_row(
    edit: Callable[[Sheets], None], sheet: str, row: int | None, words: str, tmp_path: Path
) -> None:
    issues = _issues(_edited(edit, short=edit is not _missing_list), tmp_path)
    hit = [i for i in issues if i[0] == sheet and words in i[2]]
    assert hit, issues
    if row is not None:
        assert hit[0][1] == row, issues
    else:
        assert hit[0][1] is None or hit[0][1] > 1, issues
    assert not (tmp_path / "p").exists() or _missing_list is edit


def test_sloppy_cells_that_read_unambiguously(tmp_path: Path) -> None:
    def sloppy(sheets: Sheets) -> None:
        row = next(r for r in sheets["DRG"] if r[0] == "ES21")
        row[3] = "伴ＭＣＣ"  # full-width, another usual wording
        sheets["MDC"][1][2] = False  # a boolean cell for QY启用
        row = next(r for r in sheets["ADRG"] if r[0] == "BV3")
        row[2] = "（主要诊断属于　BV3.dx）"

    content = read_workbook(_edited(sloppy))
    assert content.raw["drgs"]["ES21"]["split"] == "mcc"
    assert content.raw["mdcs"][content.raw["mdc_order"][0]]["qy"]["enabled"] is False
    assert content.raw["adrgs"]["BV3"]["condition"] == {"op": "principal_dx_in", "list": "BV3.dx"}


def test_not_a_workbook(tmp_path: Path) -> None:
    issues = _issues(b"PK\x03\x04 not really", tmp_path)
    assert issues[0][0] == "工作簿" and "Excel" in issues[0][2]
