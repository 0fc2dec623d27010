"""Catalogue entries as a worksheet (the bureau maintains the catalogue in Excel).

One row per entry, Chinese headers (:data:`COLUMNS`).  Cells are read as text; every
problem of every row is collected and reported naming the row and the column, and
nothing is imported unless the whole sheet is fine.  The export writes the same
layout, so an exported sheet imports back unchanged; a second sheet holds the
version's own data and the rules of each column.
"""

from __future__ import annotations

import io
import json
from collections.abc import Iterable, Sequence
from decimal import Decimal, InvalidOperation
from typing import Any

import polars as pl

from yibao.engines.catalogue import (
    CLASS_A,
    CLASS_B,
    CLASS_C,
    CLASSES,
    CODE_RULE,
    FEE_TYPES,
    KINDS,
    CatalogueError,
    CatalogueItem,
    dump_restrictions,
    parse_restrictions,
)
from yibao.kit.bounds import MONEY_MAX
from yibao.kit.errors import ValidationFailed
from yibao.kit.exports import write_xlsx

#: field → Chinese header, in sheet order
COLUMNS: dict[str, str] = {
    "code": "医保编码",
    "name": "名称",
    "kind": "目录类别",
    "fee_type": "收费项目类别",
    "chrgitm_lv": "甲乙类",
    "selfpay_prop": "先自付比例",
    "cap_lv1": "一级医院限价（元）",
    "cap_lv2": "二级医院限价（元）",
    "cap_lv3": "三级医院限价（元）",
    "unit": "计价单位",
    "spec": "规格",
    "limit_text": "限定支付范围",
    "restrictions": "使用限制（JSON）",
}
HEADERS = {v: k for k, v in COLUMNS.items()}
REQUIRED = ("code", "name", "kind", "fee_type", "chrgitm_lv")
HELP: dict[str, str] = {
    "code": "国家医保编码，1–50 位字母或数字（可含 . _ -），同一版本内不能重复",
    "name": "通用名或项目名称，最长 200 字",
    "kind": "西药、中成药、中药饮片、医疗服务项目、医用耗材",
    "fee_type": "01–14 或其名称，如 09、西药费、09 西药费",
    "chrgitm_lv": "甲类、乙类、丙类（也可写 甲、乙、丙 或 01、02、03）",
    "selfpay_prop": "乙类必填（可为 0），如 0.10 或 10%；甲类不填或 0，丙类不填或 1",
    "cap_lv1": "单价上限，不填表示不限价",
    "cap_lv2": "单价上限，不填表示不限价",
    "cap_lv3": "单价上限，不填表示不限价",
    "unit": "如 片、支、次、个，最长 20 字",
    "spec": "规格或型号，最长 100 字",
    "limit_text": "目录原文的限定支付范围，最长 500 字",
    "restrictions": '审核用的限制条件，JSON，如 [{"kind": "sex", "sex": "2"}]',
}
MAX_PROBLEMS = 20
_KIND_WORDS = {v: k for k, v in KINDS.items()} | {k: k for k in KINDS}
_CLASS_WORDS = (
    {v: k for k, v in CLASSES.items()}
    | {v[0]: k for k, v in CLASSES.items()}
    | {k: k for k in CLASSES}
    | {k[1]: k for k in CLASSES}
)
_FEE_WORDS = {v: k for k, v in FEE_TYPES.items()} | {k: k for k in FEE_TYPES}
_LIMITS = {"name": 200, "unit": 20, "spec": 100, "limit_text": 500}


class _Row:
    """One sheet row being read: its number and the problems found so far."""

    def __init__(self, number: int, cells: dict[str, Any]) -> None:
        self.number = number
        self.cells = cells
        self.problems: list[str] = []

    def text(self, name: str) -> str:
        value = self.cells.get(name)
        return "" if value is None else str(value).strip()

    def bad(self, name: str, words: str) -> None:
        self.problems.append(f"第 {self.number} 行“{COLUMNS[name]}”：{words}")


# ------------------------------------------------------------------------- import


def read_entries(frame: pl.DataFrame, filename: str) -> list[CatalogueItem]:
    """Entries of an uploaded sheet (all cells text), or one :class:`ValidationFailed`
    listing the first problems by row and column (and how many there are)."""
    missing = [COLUMNS[c] for c in REQUIRED if COLUMNS[c] not in frame.columns]
    unknown = [c for c in frame.columns if c not in HEADERS]
    if missing or unknown:
        parts = []
        if missing:
            parts.append(f"缺少列 {'、'.join(missing)}")
        if unknown:
            parts.append(f"不认识的列 {'、'.join(unknown)}")
        raise ValidationFailed(
            f"{filename}：{'；'.join(parts)}（表头须与导出的目录文件一致）", field="file"
        )
    rows = frame.rename({c: HEADERS[c] for c in frame.columns}).to_dicts()
    items: list[CatalogueItem] = []
    problems: list[str] = []
    first_row: dict[str, int] = {}
    for number, cells in enumerate(rows, start=2):  # row 1 is the header
        if not any((v or "").strip() for v in cells.values()):
            continue
        row = _Row(number, cells)
        item = _entry(row)
        code = row.text("code")
        if code and code in first_row:
            row.bad("code", f"{code} 与第 {first_row[code]} 行重复")
        elif code:
            first_row[code] = number
        problems.extend(row.problems)
        if item is not None and not row.problems:
            items.append(item)
    if not first_row and not problems:
        raise ValidationFailed(f"{filename}：没有数据行", field="file")
    if problems:
        shown = "；".join(problems[:MAX_PROBLEMS])
        more = f"（另有 {len(problems) - MAX_PROBLEMS} 处未列出）" if len(problems) > 20 else ""
        raise ValidationFailed(
            f"{filename}：{len(problems)} 处错误，未导入任何目录条目：{shown}{more}",
            field="file",
        )
    return items


def _entry(row: _Row) -> CatalogueItem | None:
    for name in REQUIRED:
        if not row.text(name):
            row.bad(name, "不能为空")
    code = row.text("code")
    if code and not CODE_RULE.match(code):
        row.bad("code", f"须为 1–50 位字母或数字（可含 . _ -）（收到 {code!r}）")
    for name, limit in _LIMITS.items():
        if len(row.text(name)) > limit:
            row.bad(name, f"最长 {limit} 字（收到 {len(row.text(name))} 字）")
    kind = _KIND_WORDS.get(row.text("kind"))
    if row.text("kind") and kind is None:
        row.bad("kind", f"须为 {'、'.join(KINDS.values())} 之一（收到 {row.text('kind')!r}）")
    fee_type = _fee_type(row.text("fee_type"))
    if row.text("fee_type") and fee_type is None:
        row.bad(
            "fee_type", f"须为 01–14 或其名称，如 09 或 西药费（收到 {row.text('fee_type')!r}）"
        )
    lv = _CLASS_WORDS.get(row.text("chrgitm_lv"))
    if row.text("chrgitm_lv") and lv is None:
        row.bad("chrgitm_lv", f"须为 甲类、乙类 或 丙类（收到 {row.text('chrgitm_lv')!r}）")
    prop = _selfpay(row, lv)
    caps = {}
    for level in ("1", "2", "3"):
        cap = _money(row, f"cap_lv{level}")
        if cap is not None:
            caps[level] = cap
    restrictions: tuple[Any, ...] = ()
    raw = row.text("restrictions")
    if raw:
        try:
            restrictions = parse_restrictions(json.loads(raw))
        except json.JSONDecodeError:
            row.bad("restrictions", "不是有效的 JSON")
        except ValueError as exc:
            row.bad("restrictions", str(exc))
    if row.problems or kind is None or fee_type is None or lv is None or prop is None:
        return None
    try:
        return CatalogueItem(
            code=code,
            name=row.text("name"),
            kind=kind,
            fee_type=fee_type,
            chrgitm_lv=lv,
            selfpay_prop=prop,
            caps=caps,
            unit=row.text("unit"),
            spec=row.text("spec"),
            limit_text=row.text("limit_text"),
            restrictions=restrictions,
        )
    except CatalogueError as exc:  # a rule the column checks above did not name
        row.problems.append(f"第 {row.number} 行：{exc.message}")
        return None


def _fee_type(text: str) -> str | None:
    head = text.split()[0] if text.split() else ""
    if head.isdigit() and len(head) <= 2:
        head = head.zfill(2)
    return _FEE_WORDS.get(head) or _FEE_WORDS.get(text)


def _number(row: _Row, name: str, *, percent: bool = False) -> Decimal | None:
    text = row.text(name).replace(",", "")
    if not text:
        return None
    scale = Decimal(1)
    if percent and text.endswith("%"):
        text, scale = text[:-1], Decimal(100)
    try:
        value = Decimal(text)
    except InvalidOperation:
        row.bad(name, f"须为数字（收到 {row.text(name)!r}）")
        return None
    if not value.is_finite():
        row.bad(name, f"须为数字（收到 {row.text(name)!r}）")
        return None
    if abs(value) > MONEY_MAX:
        row.bad(name, f"数值过大（收到 {row.text(name)[:30]!r}）")
        return None
    return value / scale


def _money(row: _Row, name: str) -> Decimal | None:
    value = _number(row, name)
    if value is None:
        return None
    if value < 0 or value != value.quantize(Decimal("0.01")):
        row.bad(name, f"须为不小于 0、最多 2 位小数的金额（收到 {row.text(name)!r}）")
        return None
    return value.quantize(Decimal("0.01"))


def _selfpay(row: _Row, lv: str | None) -> Decimal | None:
    value = _number(row, "selfpay_prop", percent=True)
    given = row.text("selfpay_prop")
    if lv == CLASS_A:
        if value not in (None, Decimal(0)):
            row.bad("selfpay_prop", f"甲类项目须不填或填 0（收到 {given!r}）")
        return Decimal(0)
    if lv == CLASS_C:
        if value not in (None, Decimal(1)):
            row.bad("selfpay_prop", f"丙类项目全部自付，须不填或填 1（收到 {given!r}）")
        return Decimal(1)
    if lv == CLASS_B:
        if value is None:
            if not given:
                row.bad("selfpay_prop", "乙类项目须填写先自付比例（可为 0）")
            return None
        if not (0 <= value < 1) or value != value.quantize(Decimal("0.0001")):
            row.bad("selfpay_prop", f"须在 0 到 1 之间（不含 1）且最多 4 位小数（收到 {given!r}）")
            return None
        return value
    return value


# ------------------------------------------------------------------------- export


def _plain(value: Decimal | None) -> str:
    if value is None:
        return ""
    text = f"{value.normalize():f}"
    return text


def entries_frame(items: Iterable[CatalogueItem]) -> pl.DataFrame:
    """The worksheet of ``items`` (Chinese headers; the import reads it back)."""
    rows = []
    for it in items:
        rules = dump_restrictions(it.restrictions)
        rows.append(
            {
                "code": it.code,
                "name": it.name,
                "kind": KINDS[it.kind],
                "fee_type": f"{it.fee_type} {FEE_TYPES[it.fee_type]}",
                "chrgitm_lv": CLASSES[it.chrgitm_lv],
                "selfpay_prop": "" if it.chrgitm_lv != CLASS_B else _plain(it.selfpay_prop),
                **{f"cap_lv{lv}": _money_text(it.cap(lv)) for lv in ("1", "2", "3")},
                "unit": it.unit,
                "spec": it.spec,
                "limit_text": it.limit_text,
                "restrictions": json.dumps(rules, ensure_ascii=False) if rules else "",
            }
        )
    frame = pl.DataFrame(rows, schema=dict.fromkeys(COLUMNS, pl.String), orient="row")
    return frame.rename(COLUMNS)


def _money_text(value: Decimal | None) -> str:
    return "" if value is None else f"{value:.2f}"


def workbook(items: Sequence[CatalogueItem], about: dict[str, str]) -> bytes:
    """The export: the entries (first sheet, what the import reads), then the
    version's data and the rules of each column."""
    info = pl.DataFrame(
        {"项目": list(about), "内容": list(about.values())},
        schema={"项目": pl.String, "内容": pl.String},
    )
    rules = pl.DataFrame(
        {"列": list(COLUMNS.values()), "填写规则": [HELP[c] for c in COLUMNS]},
        schema={"列": pl.String, "填写规则": pl.String},
    )
    buf = io.BytesIO()
    write_xlsx(
        {"目录条目": entries_frame(items), "版本信息": info, "填写说明": rules},
        buf,
        autofit=True,
    )
    return buf.getvalue()
