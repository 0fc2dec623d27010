"""Reading a plan workbook (:mod:`~yibao.engines.grouper.workbook`) back into a plan.

:func:`read_workbook` turns the sheets into ``plan.json`` content and table rows,
collecting every problem with its sheet, row and reason (:class:`WorkbookError`);
:func:`build_plan_folder` writes a plan folder from it and loads and compiles it, so a
plan that reads but does not hold together (a DRG under an unknown ADRG, a condition
naming a missing code list …) is refused too, again by sheet and row.  Nothing is
written outside the folder the caller gives.
"""

from __future__ import annotations

import hashlib
import io
import json
import re
import unicodedata
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from python_calamine import CalamineWorkbook

from yibao.engines.grouper.compiler import compile_plan
from yibao.engines.grouper.condtext import ConditionTextError, parse_condition_text
from yibao.engines.grouper.errors import PlanError
from yibao.engines.grouper.plan import Plan, load_plan
from yibao.engines.grouper.registry import content_checksum
from yibao.engines.grouper.tables import TABLE_COLUMNS
from yibao.engines.grouper.workbook import (
    ADRG,
    DRG,
    HEADERS,
    LISTS,
    MDC,
    NEXT_ADRG_WORD,
    SETTINGS,
    SPLIT_WORDS,
    TABLE_SHEETS,
    TAGS,
    TRAUMA,
)
from yibao.kit import jsonerrors

MAX_ISSUES = 200
MAX_BYTES = 64 * 1024 * 1024
_SPLIT_OF = (
    {v: k for k, v in SPLIT_WORDS.items()}
    | {k: k for k in SPLIT_WORDS}
    | {"无": "always", "伴MCC": "mcc", "伴CC": "cc", "条件": "condition"}
    | dict.fromkeys(("有CC或MCC", "伴MCC或CC", "伴CC或MCC"), "cc_or_mcc")
)
#: columns whose numbers may be read as integers (all other cells must be text)
_INT_COLUMNS = {"排除表", "QY位置"}


@dataclass(frozen=True)
class Issue:
    """One problem of a workbook: sheet, 1-based row (None: the whole sheet), reason."""

    sheet: str
    row: int | None
    message: str

    def __str__(self) -> str:
        at = f"第 {self.row} 行" if self.row else ""
        return f"工作表“{self.sheet}”{at}：{self.message}"


class WorkbookError(ValueError):
    """The workbook cannot become a plan; ``issues`` say where and why."""

    def __init__(self, issues: list[Issue]) -> None:
        self.issues = issues
        more = f"（另有 {len(issues) - 5} 处）" if len(issues) > 5 else ""
        super().__init__("；".join(str(i) for i in issues[:5]) + more)


@dataclass
class PlanContent:
    """What a workbook holds: ``plan.json`` without table checksums, and the tables."""

    raw: dict[str, Any]
    tables: dict[str, list[list[str]]]
    #: JSON path prefix (``adrgs.BB1``) → (sheet, row), to place load errors
    places: dict[str, tuple[str, int | None]] = field(default_factory=dict)


class _Reader:
    def __init__(self, data: bytes) -> None:
        self.issues: list[Issue] = []
        self.places: dict[str, tuple[str, int | None]] = {}
        if len(data) > MAX_BYTES:
            raise WorkbookError([Issue("工作簿", None, "文件超过 64 MB")])
        try:
            self.book = CalamineWorkbook.from_filelike(io.BytesIO(data))
        except Exception as exc:  # calamine raises its own error types for any bad file
            raise WorkbookError(
                [Issue("工作簿", None, f"不是可读取的 Excel（.xlsx）文件：{exc}")]
            ) from None

    def add(self, sheet: str, row: int | None, message: str) -> None:
        if len(self.issues) < MAX_ISSUES:
            self.issues.append(Issue(sheet, row, message))

    def rows(self, sheet: str) -> list[tuple[int, list[Any]]]:
        """(row number, cells) of the data rows; checks the header row."""
        if sheet not in self.book.sheet_names:
            self.add(sheet, None, "缺少该工作表")
            return []
        data = self.book.get_sheet_by_name(sheet).to_python(skip_empty_area=False)
        want = list(HEADERS[sheet])
        head = [str(c).strip() for c in (data[0] if data else [])][: len(want)]
        if head != want:
            self.add(sheet, 1, f"表头应为 {'、'.join(want)}")
            return []
        width = len(want)
        out = []
        for n, cells in enumerate(data[1:], start=2):
            cells = (list(cells) + [""] * width)[:width]
            if any(c not in ("", None) for c in cells):
                out.append((n, cells))
        return out

    def text(self, sheet: str, n: int, col: int, value: Any) -> str | None:
        """The cell as text; numbers only in integer columns; None if refused."""
        name = HEADERS[sheet][col]
        if value is None:
            return ""
        if isinstance(value, bool) and name == "QY启用":
            return "是" if value else "否"
        if isinstance(value, str):
            if "\t" in value or "\n" in value or "\r" in value:
                self.add(sheet, n, f"“{name}”不能含制表符或换行")
                return None
            return value
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            if name in _INT_COLUMNS and float(value).is_integer():
                return str(int(value))
            self.add(
                sheet,
                n,
                f"“{name}”应为文本，单元格却是数字 {value}（Excel 可能已去掉前导或末尾的 0，"
                "请把该列设为文本后重新填写）",
            )
            return None
        self.add(sheet, n, f"“{name}”应为文本（收到 {type(value).__name__}）")
        return None

    def cells(self, sheet: str, n: int, cells: list[Any]) -> list[str] | None:
        out = [self.text(sheet, n, i, v) for i, v in enumerate(cells)]
        return None if any(v is None for v in out) else [v or "" for v in out]

    def condition(self, sheet: str, n: int, column: str, text: str) -> dict[str, Any] | None:
        try:
            return parse_condition_text(text)
        except ConditionTextError as exc:
            self.add(sheet, n, f"“{column}”无法读取：{exc}")
            return None

    def json_cell(self, sheet: str, n: int, column: str, text: str) -> Any:
        try:
            return json.loads(text)
        except json.JSONDecodeError as exc:
            self.add(sheet, n, f"“{column}”不是有效的 JSON（{jsonerrors.reason(exc)}）")
            return None

    def extra(self, sheet: str, n: int, text: str) -> dict[str, Any]:
        if not text.strip():
            return {}
        value = self.json_cell(sheet, n, "其他属性", text)
        if value is not None and not isinstance(value, dict):
            self.add(sheet, n, "“其他属性”应为 JSON 对象")
            return {}
        return value or {}

    def code(self, sheet: str, n: int, column: str, value: str) -> str:
        code = value.strip()
        if not code or re.search(r"\s", code):
            self.add(sheet, n, f"“{column}”不能为空或含空格（收到“{value}”）")
        return code


def read_workbook(data: bytes) -> PlanContent:
    """The plan content of a workbook; :class:`WorkbookError` lists every problem."""
    rd = _Reader(data)
    raw: dict[str, Any] = {}
    _settings(rd, raw)
    drgs = _drgs(rd)
    adrgs = _adrgs(rd, drgs)
    _mdcs(rd, raw, adrgs)
    raw["adrgs"], raw["drgs"] = adrgs, drgs
    _lists(rd, raw)
    tables = {name: _table(rd, name) for name in TABLE_COLUMNS}
    if rd.issues:
        raise WorkbookError(rd.issues)
    raw["plan"].update(mdc_count=len(raw["mdcs"]), adrg_count=len(adrgs), drg_count=len(drgs))
    return PlanContent(raw, tables, rd.places)


def _settings(rd: _Reader, raw: dict[str, Any]) -> None:
    raw["plan"] = {"id": "", "title": ""}
    files: dict[str, Any] = {}
    for n, cells in rd.rows(SETTINGS):
        row = rd.cells(SETTINGS, n, cells)
        if row is None:
            continue
        key, _label, value = (c.strip() for c in row)
        rd.places[key] = (SETTINGS, n)
        if key in ("plan.id", "plan.title"):
            raw["plan"][key[5:]] = value
        elif key and value:
            parsed = rd.json_cell(SETTINGS, n, "值", value)
            if key == "table_files" and isinstance(parsed, dict):
                files = parsed
            elif parsed is not None:
                raw[key] = parsed
        elif key:
            rd.add(SETTINGS, n, f"项目“{key}”缺少值")
    raw["tables"] = {
        name: {
            "file": str(files.get(name, {}).get("file") or f"{name}.tsv"),
            "columns": list(cols),
            **({"source": files[name]["source"]} if "source" in files.get(name, {}) else {}),
        }
        for name, cols in TABLE_COLUMNS.items()
    }
    if not raw["plan"]["id"]:
        rd.add(SETTINGS, None, "缺少项目 plan.id（方案编号）")


def _unique(rd: _Reader, sheet: str, n: int, code: str, seen: dict[str, Any]) -> bool:
    if code in seen:
        rd.add(sheet, n, f"{sheet} {code} 重复")
        return False
    return bool(code)


def _split_of(text: str) -> str | None:
    """The split kind of a 细分方式 cell (also full-width or lower-case MCC / CC)."""
    word = unicodedata.normalize("NFKC", text).strip()
    word = re.sub("(?i)(?<![m])cc", "CC", re.sub("(?i)mcc", "MCC", word))
    return _SPLIT_OF.get(word) or _SPLIT_OF.get(word.lower())


def _drgs(rd: _Reader) -> dict[str, dict[str, Any]]:
    out: dict[str, dict[str, Any]] = {}
    for n, cells in rd.rows(DRG):
        row = rd.cells(DRG, n, cells)
        if row is None:
            continue
        code = rd.code(DRG, n, "DRG", row[0])
        if not _unique(rd, DRG, n, code, out):
            continue
        rd.places[f"drgs.{code}"] = (DRG, n)
        split = _split_of(row[3])
        if split is None:
            rd.add(DRG, n, f"细分方式应为 {'、'.join(SPLIT_WORDS.values())} 之一")
            continue
        spec: dict[str, Any] = {
            **rd.extra(DRG, n, row[5]),
            "adrg": rd.code(DRG, n, "ADRG", row[1]),
            "split": split,
            "name": row[2],
        }
        if split == "condition":
            spec["condition"] = rd.condition(DRG, n, "细分条件", row[4])
        elif row[4].strip():
            rd.add(DRG, n, f"细分方式为“{row[3].strip()}”时“细分条件”应留空")
        out[code] = spec
    return out


def _adrgs(rd: _Reader, drgs: dict[str, dict[str, Any]]) -> dict[str, dict[str, Any]]:
    out: dict[str, dict[str, Any]] = {}
    for n, cells in rd.rows(ADRG):
        row = rd.cells(ADRG, n, cells)
        if row is None:
            continue
        code = rd.code(ADRG, n, "ADRG", row[0])
        if not _unique(rd, ADRG, n, code, out):
            continue
        rd.places[f"adrgs.{code}"] = (ADRG, n)
        spec: dict[str, Any] = {
            **rd.extra(ADRG, n, row[4]),
            "mdc": rd.code(ADRG, n, "MDC", row[1]),
            "condition": rd.condition(ADRG, n, "入组条件", row[2]),
            "drgs": [d for d, s in drgs.items() if s["adrg"] == code],
        }
        word = row[3].strip()
        if word == NEXT_ADRG_WORD:
            spec["if_no_drg"] = "next_adrg"
        elif word:
            rd.add(ADRG, n, f"“无细分组时”应留空或填“{NEXT_ADRG_WORD}”")
        out[code] = spec
    for code, spec in drgs.items():
        if spec["adrg"] not in out:
            sheet, at = rd.places[f"drgs.{code}"]
            rd.add(sheet, at, f"DRG {code} 所属的 ADRG {spec['adrg']} 不在 ADRG 表中")
    return out


def _mdcs(rd: _Reader, raw: dict[str, Any], adrgs: dict[str, dict[str, Any]]) -> None:
    mdcs: dict[str, dict[str, Any]] = {}
    for n, cells in rd.rows(MDC):
        row = rd.cells(MDC, n, cells)
        if row is None:
            continue
        letter = rd.code(MDC, n, "MDC", row[0])
        if not _unique(rd, MDC, n, letter, mdcs):
            continue
        rd.places[f"mdcs.{letter}"] = (MDC, n)
        spec: dict[str, Any] = {
            **rd.extra(MDC, n, row[6]),
            "entry": rd.condition(MDC, n, "入组条件", row[1]),
            "adrgs": [a for a, s in adrgs.items() if s["mdc"] == letter],
        }
        enabled, position, cond, drg = (c.strip() for c in row[2:6])
        qy: dict[str, Any] = {}
        if enabled:
            if enabled not in ("是", "否"):
                rd.add(MDC, n, "“QY启用”应为“是”或“否”")
            qy["enabled"] = enabled == "是"
        if position:
            if not position.isdigit():
                rd.add(MDC, n, "“QY位置”应为非负整数")
            qy["position"] = int(position) if position.isdigit() else 0
        if cond:
            qy["condition"] = rd.condition(MDC, n, "QY条件", cond)
        if drg:
            qy["drg"] = drg
        if qy:
            spec["qy"] = qy
        mdcs[letter] = spec
    for code, spec in adrgs.items():
        if spec["mdc"] not in mdcs:
            sheet, at = rd.places[f"adrgs.{code}"]
            rd.add(sheet, at, f"ADRG {code} 所属的 MDC {spec['mdc']} 不在 MDC 表中")
    raw["mdc_order"] = list(mdcs)
    raw["mdcs"] = mdcs
    rd.places["mdc_order"] = (MDC, None)


def _lists(rd: _Reader, raw: dict[str, Any]) -> None:
    lists: dict[str, list[str]] = {}
    for n, cells in rd.rows(LISTS):
        row = rd.cells(LISTS, n, cells)
        if row is None:
            continue
        name = rd.code(LISTS, n, "列表名", row[0])
        rd.places.setdefault(f"code_lists.{name}", (LISTS, n))
        codes = lists.setdefault(name, [])
        if row[1].strip():
            codes.append(rd.code(LISTS, n, "编码", row[1]))
    tags: dict[str, list[list[str]]] = {}
    for n, cells in rd.rows(TAGS):
        row = rd.cells(TAGS, n, cells)
        if row is not None:
            name = rd.code(TAGS, n, "表名", row[0])
            rd.places.setdefault(f"proc_tag_tables.{name}", (TAGS, n))
            tags.setdefault(name, []).append(
                [rd.code(TAGS, n, "编码", row[1]), rd.code(TAGS, n, "标签", row[2])]
            )
    sites: dict[str, list[dict[str, str]]] = {}
    for n, cells in rd.rows(TRAUMA):
        row = rd.cells(TRAUMA, n, cells)
        if row is not None:
            name = rd.code(TRAUMA, n, "表名", row[0])
            rd.places.setdefault(f"trauma_sites.{name}", (TRAUMA, n))
            site = {"list": rd.code(TRAUMA, n, "编码列表", row[2])}
            sites.setdefault(name, []).append({"site": row[1], **site} if row[1] else site)
    raw["code_lists"], raw["proc_tag_tables"], raw["trauma_sites"] = lists, tags, sites


def _table(rd: _Reader, name: str) -> list[list[str]]:
    sheet, headers = TABLE_SHEETS[name]
    rd.places[f"tables.{name}"] = (sheet, None)
    out = []
    for n, cells in rd.rows(sheet):
        row = rd.cells(sheet, n, cells)
        if row is None:
            continue
        # kept verbatim (the published tables hold codes such as " B06.801+J17.1*")
        if not row[0].strip():
            rd.add(sheet, n, f"“{headers[0]}”不能为空")
        out.append(row)
    return out


def tsv_bytes(columns: tuple[str, ...], rows: list[list[str]]) -> bytes:
    """A plan table in the plan format: header, LF line ends, TAB separators."""
    lines = ["\t".join(columns), *("\t".join(r) for r in rows)]
    return ("\n".join(lines) + "\n").encode("utf-8")


def build_plan_folder(
    content: PlanContent, folder: Path, plan_id: str, title: str, meta: dict[str, Any]
) -> tuple[Plan, str]:
    """Write ``content`` as the plan ``plan_id`` into the new folder ``folder``, then
    load and compile it: ``(plan, content checksum)``.  A plan that does not load is
    a :class:`WorkbookError` placed at its sheet and row (the folder is left for the
    caller to remove)."""
    raw = json.loads(json.dumps(content.raw))
    raw["plan"].update(id=plan_id, title=title)
    folder.mkdir(parents=True)
    for name, columns in TABLE_COLUMNS.items():
        spec = raw["tables"][name]
        data = tsv_bytes(columns, content.tables[name])
        (folder / spec["file"]).write_bytes(data)
        spec.update(rows=len(content.tables[name]), sha256=hashlib.sha256(data).hexdigest())
    text = json.dumps(raw, ensure_ascii=False, indent=1)
    (folder / "plan.json").write_text(text + "\n", encoding="utf-8")
    (folder / "meta.json").write_text(
        json.dumps({"id": plan_id, "title": title, **meta}, ensure_ascii=False, indent=2) + "\n",
        encoding="utf-8",
    )
    try:
        plan = load_plan(folder)
        compile_plan(plan)
    except PlanError as exc:
        raise WorkbookError([_place(content, exc.where, exc.message_zh)]) from None
    except ValueError as exc:
        raise WorkbookError([Issue("工作簿", None, f"方案无法编译：{exc}")]) from None
    return plan, content_checksum(raw)


def _place(content: PlanContent, where: str, message: str) -> Issue:
    parts = where.split(".")
    for size in range(len(parts), 0, -1):
        key = ".".join(parts[:size])
        if key in content.places:
            sheet, row = content.places[key]
            return Issue(sheet, row, message)
    return Issue(SETTINGS, None, message)
