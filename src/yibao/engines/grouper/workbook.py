"""A grouping plan as an Excel workbook a bureau can read and edit (issue 16 item 4).

:func:`export_workbook` writes every part of a plan folder into sheets: the settings
(方案), the MDC / ADRG / DRG structure with conditions in readable Chinese
(:mod:`~yibao.engines.grouper.condtext`), the code lists one code per row, the
procedure tag and trauma-site tables, and the seven TSV tables (dictionaries, code
maps, OR procedures, CC/MCC and exclusions).  The order of rows is the order of the
plan: MDCs in walk order, an MDC's ADRGs and an ADRG's DRGs in the order tried.
:mod:`~yibao.engines.grouper.workbook_read` reads it back into a plan folder; an
unchanged workbook gives the same :func:`~yibao.engines.grouper.registry.content_checksum`.
"""

from __future__ import annotations

import io
import json
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

import xlsxwriter

from yibao.engines.grouper.condtext import format_condition
from yibao.engines.grouper.tables import TABLE_COLUMNS

#: sheet names
README, SETTINGS, MDC, ADRG, DRG, LISTS, TAGS, TRAUMA = (
    "说明",
    "方案",
    "MDC",
    "ADRG",
    "DRG",
    "编码列表",
    "手术标签表",
    "创伤部位表",
)
#: TSV table → (sheet, Chinese column headers in the table's column order)
TABLE_SHEETS: dict[str, tuple[str, tuple[str, ...]]] = {
    "diagnoses": ("诊断编码表", ("编码", "名称")),
    "procedures": ("手术操作编码表", ("编码", "名称")),
    "dx_map": ("诊断编码映射", ("输入编码", "分组编码")),
    "proc_map": ("手术操作编码映射", ("输入编码", "分组编码")),
    "or_procedures": ("手术室手术", ("编码", "名称")),
    "cc_mcc": ("CC与MCC", ("编码", "级别", "排除表")),
    "cc_exclusion": ("CC排除", ("主要诊断编码", "排除表")),
}
HEADERS: dict[str, tuple[str, ...]] = {
    SETTINGS: ("项目", "说明", "值"),
    MDC: ("MDC", "入组条件", "QY启用", "QY位置", "QY条件", "QY编码", "其他属性"),
    ADRG: ("ADRG", "MDC", "入组条件", "无细分组时", "其他属性"),
    DRG: ("DRG", "ADRG", "名称", "细分方式", "细分条件", "其他属性"),
    LISTS: ("列表名", "编码", "名称（参考，导入时忽略）"),
    TAGS: ("表名", "编码", "标签"),
    TRAUMA: ("表名", "部位", "编码列表"),
    **dict(TABLE_SHEETS.values()),
}
#: DRG ``split`` → the workbook's words
SPLIT_WORDS = {
    "always": "不细分",
    "mcc": "有MCC",
    "cc_or_mcc": "有MCC或CC",
    "cc": "有CC",
    "condition": "按条件",
}
NEXT_ADRG_WORD = "转下一ADRG"
#: keys of plan.json written to sheets of their own (everything else goes to 方案)
STRUCTURE_KEYS = (
    "plan",
    "tables",
    "mdc_order",
    "mdcs",
    "adrgs",
    "drgs",
    "code_lists",
    "proc_tag_tables",
    "trauma_sites",
)
SETTING_LABELS = {
    "plan.id": "方案编号",
    "plan.title": "方案名称",
    "format": "方案格式",
    "format_version": "格式版本",
    "source": "来源",
    "input": "输入约定（编码分隔符、性别取值、新生儿日龄）",
    "input_checks": "输入校验",
    "statuses": "分组状态",
    "result_codes": "结果代码",
    "no_group_retry": "无法入组时按单个手术操作重试",
    "table_files": "数据表文件与来源",
}
_README = (
    "本工作簿是一个 DRG 分组方案的全部内容，可修改后在“本地分组方案”页面导入为新的草稿方案。",
    "各表的行序即分组顺序：MDC 表的行序为 MDC 判断顺序；ADRG 表中同一 MDC 的行序为 ADRG 判断顺序；"
    "DRG 表中同一 ADRG 的行序为细分组判断顺序。",
    "条件写法：主要诊断属于 列表名；任一诊断属于 / 其他诊断属于；"
    "主要手术操作属于 / 任一手术操作属于 / 其他手术操作属于；"
    "主要手术操作为手术室手术；有手术室手术；无手术室手术；有手术操作；有有效MCC；"
    "有有效CC；性别为男/女；年龄等于0岁；日龄不超过28天；新生儿出生体重 ≥ 1500、< 2500；"
    "年龄岁数 / 日龄天数 / 出生体重克数 / 住院天数 / 重症监护小时数 ≥ 1、≤ 6；"
    "科室为 ICU、CCU；离院方式为 2、5；手术标签表 表名 中有标签 标签；"
    "创伤部位表 表名 中至少 2 处；无条件；永不成立。",
    "用“且”“或”连接条件（“且”优先），用括号分组，“并非(…)”表示否定。",
    "细分方式：不细分、有MCC、有MCC或CC、有CC、按条件（写在“细分条件”列）。",
    "无细分组时：留空 = 以 ADRG 编码为结果；“转下一ADRG” = 继续判断下一个 ADRG。",
    "编码一律按文本填写（如 96.0400），不要让 Excel 转成数字。“其他属性”列为 JSON，通常无需修改。",
    "编码列表中，某列表只有一行且编码为空表示空列表。",
)


def _json(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))


def _extra(spec: dict[str, Any], known: Iterable[str]) -> str:
    rest = {k: v for k, v in spec.items() if k not in known}
    return _json(rest) if rest else ""


def settings_rows(raw: dict[str, Any]) -> list[tuple[str, str, str]]:
    """The 方案 sheet: plan id and title, then every other setting as JSON."""
    rows = [
        ("plan.id", SETTING_LABELS["plan.id"], raw["plan"]["id"]),
        ("plan.title", SETTING_LABELS["plan.title"], raw["plan"].get("title", "")),
    ]
    for key, value in raw.items():
        if key in STRUCTURE_KEYS:
            continue
        rows.append((key, SETTING_LABELS.get(key, key), _json(value)))
    files = {
        name: {k: v for k, v in spec.items() if k in ("file", "source")}
        for name, spec in raw["tables"].items()
    }
    rows.append(("table_files", SETTING_LABELS["table_files"], _json(files)))
    return rows


def mdc_rows(raw: dict[str, Any]) -> list[tuple[str, ...]]:
    out = []
    for letter in raw["mdc_order"]:
        spec = raw["mdcs"][letter]
        qy = spec.get("qy")
        qy_cells: tuple[str, ...] = ("", "", "", "")
        if qy is not None:
            qy_cells = (
                ("是" if qy["enabled"] else "否") if "enabled" in qy else "",
                str(qy["position"]) if "position" in qy else "",
                format_condition(qy["condition"]) if "condition" in qy else "",
                qy.get("drg", ""),
            )
        extra = _extra(spec, ("entry", "adrgs", "qy"))
        if qy is not None and set(qy) - {"enabled", "position", "condition", "drg"}:
            raise ValueError(f"MDC {letter} 的 QY 含有无法导出的属性")
        if qy is not None and not any(qy_cells):
            extra = _json({**json.loads(extra or "{}"), "qy": qy})
        out.append((letter, format_condition(spec["entry"]), *qy_cells, extra))
    return out


def structure_order(raw: dict[str, Any]) -> tuple[list[str], list[str]]:
    """ADRG codes and DRG codes in walk order (listed ones first, then any unlisted)."""
    adrgs = [a for letter in raw["mdc_order"] for a in raw["mdcs"][letter]["adrgs"]]
    adrgs += [a for a in raw["adrgs"] if a not in set(adrgs)]
    drgs = [d for a in adrgs for d in raw["adrgs"][a]["drgs"]]
    drgs += [d for d in raw["drgs"] if d not in set(drgs)]
    return adrgs, drgs


def adrg_rows(raw: dict[str, Any], order: Sequence[str]) -> list[tuple[str, ...]]:
    out: list[tuple[str, ...]] = []
    for code in order:
        spec = raw["adrgs"][code]
        no_drg = spec.get("if_no_drg")
        word = NEXT_ADRG_WORD if no_drg == "next_adrg" else (no_drg or "")
        extra = _extra(spec, ("mdc", "condition", "drgs", "if_no_drg"))
        out.append((code, spec["mdc"], format_condition(spec["condition"]), word, extra))
    return out


def drg_rows(raw: dict[str, Any], order: Sequence[str]) -> list[tuple[str, ...]]:
    out: list[tuple[str, ...]] = []
    for code in order:
        spec = raw["drgs"][code]
        cond = format_condition(spec["condition"]) if "condition" in spec else ""
        split = SPLIT_WORDS.get(spec["split"], spec["split"])
        extra = _extra(spec, ("adrg", "name", "split", "condition"))
        out.append((code, spec["adrg"], spec.get("name", ""), split, cond, extra))
    return out


def list_rows(raw: dict[str, Any], names: dict[str, str]) -> Iterable[tuple[str, str, str]]:
    for name, codes in raw["code_lists"].items():
        if not codes:
            yield (name, "", "")
        for code in codes:
            yield (name, code, names.get(code, ""))


def _tsv_rows(path: Path) -> list[list[str]]:
    lines = path.read_text(encoding="utf-8").split("\n")
    if lines and lines[-1] == "":
        lines.pop()
    return [line.split("\t") for line in lines[1:]]


# long: one sheet after another in the plan's order, streamed (constant memory)
def export_workbook(folder: Path) -> bytes:
    """The plan folder ``folder`` (a loadable plan) as an ``.xlsx`` workbook."""
    raw = json.loads((folder / "plan.json").read_text(encoding="utf-8"))
    tables = {name: _tsv_rows(folder / raw["tables"][name]["file"]) for name in TABLE_COLUMNS}
    names = {r[0]: r[1] for r in tables["diagnoses"]} | {r[0]: r[1] for r in tables["procedures"]}
    adrg_order, drg_order = structure_order(raw)
    buffer = io.BytesIO()
    book = xlsxwriter.Workbook(buffer, {"constant_memory": True, "in_memory": True})
    head = book.add_format({"bold": True, "bg_color": "#DDEBF7", "border": 1})
    wrap = book.add_format({"text_wrap": True, "valign": "top"})

    def sheet(name: str, rows: Iterable[Sequence[str]], widths: Sequence[int]) -> None:
        ws = book.add_worksheet(name)
        headers = HEADERS[name]
        for col, width in enumerate(widths):
            ws.set_column(col, col, width)
        for col, text in enumerate(headers):
            ws.write_string(0, col, text, head)
        ws.freeze_panes(1, 0)
        n = 0
        for n, row in enumerate(rows, start=1):
            for col, value in enumerate(row):
                if value != "":
                    ws.write_string(n, col, value)
        ws.autofilter(0, 0, max(n, 1), len(headers) - 1)

    ws = book.add_worksheet(README)
    ws.set_column(0, 0, 120, wrap)
    ws.write_string(0, 0, f"分组方案 {raw['plan']['id']}：{raw['plan'].get('title', '')}", head)
    for i, text in enumerate(_README, start=1):
        ws.write_string(i, 0, text, wrap)
    sheet(SETTINGS, settings_rows(raw), (18, 36, 100))
    sheet(MDC, mdc_rows(raw), (6, 80, 8, 8, 30, 10, 20))
    sheet(ADRG, adrg_rows(raw, adrg_order), (8, 6, 100, 12, 20))
    sheet(DRG, drg_rows(raw, drg_order), (8, 8, 40, 12, 80, 20))
    sheet(LISTS, list_rows(raw, names), (18, 14, 50))
    tags = (
        (n, code, tag) for n, pairs in raw.get("proc_tag_tables", {}).items() for code, tag in pairs
    )
    sheet(TAGS, tags, (10, 14, 10))
    sites = (
        (n, s.get("site", ""), s["list"])
        for n, ss in raw.get("trauma_sites", {}).items()
        for s in ss
    )
    sheet(TRAUMA, sites, (10, 20, 18))
    for name, (title, cols) in TABLE_SHEETS.items():
        sheet(title, tables[name], (14,) + (50,) * (len(cols) - 1))
    book.close()
    return buffer.getvalue()
