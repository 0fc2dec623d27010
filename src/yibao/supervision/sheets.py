"""Excel workbooks of the knowledge base and the rule base (Chinese sheet and column
names; the import reads the export back).  A workbook with any problem is refused
with its sheet, row and reason, and nothing is stored (the services replace a draft's
content only after every row reads)."""

from __future__ import annotations

import io
import json
from collections.abc import Iterator, Sequence
from datetime import date, datetime
from typing import Any

from openpyxl import load_workbook

from yibao.engines.audit import FAMILIES, RELATION_KINDS, RESULT_TYPES, SEVERITIES, STAGES, WINDOWS
from yibao.kit.errors import ValidationFailed
from yibao.kit.exports import safe_workbook
from yibao.kit.tables import TableLimits, check_xlsx

RESTRICTIONS = "项目限制"
RELATIONS = "项目关系"
RULES = "规则"
RESTRICTION_COLUMNS = ("医保编码", "项目名称", "使用限制（JSON）", "限制说明")
RELATION_COLUMNS = ("关系类型", "项目编码", "关联项目编码", "最少项数", "备注", "关系说明")
RULE_COLUMNS = (
    "规则编码",
    "版本",
    "规则名称",
    "规则族",
    "参数（JSON）",
    "审核阶段",
    "触发场景",
    "时间窗口",
    "结果类型",
    "严重程度",
    "启用",
    "生效日期",
    "失效日期",
)
_SEP = "、"


def _book(sheets: dict[str, tuple[Sequence[str], list[list[Any]]]]) -> bytes:
    buf = io.BytesIO()
    with safe_workbook(buf) as wb:
        bold = wb.add_format({"bold": True})
        for name, (columns, rows) in sheets.items():
            ws = wb.add_worksheet(name)
            ws.write_row(0, 0, columns, bold)
            for i, row in enumerate(rows, start=1):
                ws.write_row(i, 0, ["" if v is None else v for v in row])
            ws.set_column(0, len(columns) - 1, 18)
    return buf.getvalue()


# ------------------------------------------------------------------------ knowledge


def relation_row(kind: str, body: dict[str, Any], note: str, text: str) -> list[Any]:
    if kind == "exclusive":
        a, b, n = body["codes"][0], body["codes"][1], None
    elif kind == "inclusive":
        a, b, n = body["whole"], body["part"], None
    elif kind == "requires":
        a, b, n = body["item"], _SEP.join(body["any_of"]), None
    else:
        a, b, n = body["package"], _SEP.join(body["components"]), body.get("min_components", 2)
    return [RELATION_KINDS[kind], a, b, n, note, text]


def knowledge_workbook(
    restrictions: list[tuple[str, str, list[dict[str, Any]], str]],
    relations: list[list[Any]],
) -> bytes:
    """Restrictions (code, name, JSON, words) and relation rows as one workbook."""
    rows = [
        [code, name, json.dumps(rules, ensure_ascii=False), words]
        for code, name, rules, words in restrictions
    ]
    return _book(
        {RESTRICTIONS: (RESTRICTION_COLUMNS, rows), RELATIONS: (RELATION_COLUMNS, relations)}
    )


def _sheets(
    content: bytes, filename: str, limits: TableLimits
) -> dict[str, list[tuple[int, dict[str, str]]]]:
    """Each sheet's rows as (row number, {column: text}) below its header row."""
    check_xlsx(content, filename, limits)
    try:
        book = load_workbook(io.BytesIO(content), read_only=True, data_only=True)
    except Exception:
        raise ValidationFailed(
            f"无法读取 Excel 文件 {filename}：文件已损坏或不是 Excel 工作簿", field="file"
        ) from None
    out: dict[str, list[tuple[int, dict[str, str]]]] = {}
    try:
        for ws in book.worksheets:
            rows = ws.iter_rows(values_only=True)
            header = [str(h).strip() if h is not None else "" for h in next(rows, ()) or ()]
            found = []
            for n, values in enumerate(rows, start=2):
                if n > limits.max_rows:
                    raise ValidationFailed(
                        f"工作表“{ws.title}”超过 {limits.max_rows} 行", field="file"
                    )
                if values is None or all(v is None or str(v).strip() == "" for v in values):
                    continue
                found.append((n, {h: _text(v) for h, v in zip(header, values, strict=False) if h}))
            out[ws.title] = found
            out.setdefault(f"__header__{ws.title}", [(1, {h: h for h in header if h})])
    finally:
        book.close()
    return out


def _text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, datetime):
        return value.date().isoformat()
    if isinstance(value, date):
        return value.isoformat()
    return str(value).strip()


def _need(
    sheets: dict[str, Any], name: str, columns: Sequence[str], required: Sequence[str]
) -> list[tuple[int, dict[str, str]]]:
    if name not in sheets:
        raise ValidationFailed(f"工作簿缺少工作表“{name}”", field="file")
    header = sheets[f"__header__{name}"][0][1]
    missing = [c for c in required if c not in header]
    if missing:
        raise ValidationFailed(f"工作表“{name}”第 1 行：缺少列 {_SEP.join(missing)}", field="file")
    rows: list[tuple[int, dict[str, str]]] = sheets[name]
    return rows


def bad(sheet: str, row: int, reason: str) -> ValidationFailed:
    return ValidationFailed(f"工作表“{sheet}”第 {row} 行：{reason}", field="file")


def read_knowledge(
    content: bytes, filename: str, limits: TableLimits
) -> tuple[list[tuple[int, str, str, Any]], list[tuple[int, dict[str, Any], str]]]:
    """(row, code, name, restrictions JSON) and (row, relation data, note) of a workbook;
    the caller checks them with the engine and names the row."""
    sheets = _sheets(content, filename, limits)
    res_rows = _need(sheets, RESTRICTIONS, RESTRICTION_COLUMNS, RESTRICTION_COLUMNS[:3])
    rel_rows = _need(sheets, RELATIONS, RELATION_COLUMNS, RELATION_COLUMNS[:3])
    restrictions = []
    for n, row in res_rows:
        code = row.get("医保编码", "")
        if not code:
            raise bad(RESTRICTIONS, n, "医保编码不能为空")
        raw = row.get("使用限制（JSON）", "") or "[]"
        try:
            data = json.loads(raw)
        except ValueError:
            raise bad(RESTRICTIONS, n, "使用限制（JSON）不是有效的 JSON") from None
        restrictions.append((n, code, row.get("项目名称", ""), data))
    kinds = {v: k for k, v in RELATION_KINDS.items()} | {k: k for k in RELATION_KINDS}
    relations = []
    for n, row in rel_rows:
        kind = kinds.get(row.get("关系类型", ""))
        if kind is None:
            raise bad(RELATIONS, n, f"关系类型须为 {_SEP.join(RELATION_KINDS.values())} 之一")
        a, b = row.get("项目编码", ""), row.get("关联项目编码", "")
        others = [
            c.strip() for c in b.replace(",", _SEP).replace("，", _SEP).split(_SEP) if c.strip()
        ]
        body: dict[str, Any] = {"kind": kind}
        if kind == "exclusive":
            body["codes"] = [a, b]
        elif kind == "inclusive":
            body |= {"whole": a, "part": b}
        elif kind == "requires":
            body |= {"item": a, "any_of": others}
        else:
            body |= {"package": a, "components": others}
            least = row.get("最少项数", "")
            if least:
                if not least.isdigit():
                    raise bad(RELATIONS, n, "最少项数须为整数")
                body["min_components"] = int(least)
        relations.append((n, body, row.get("备注", "")[:200]))
    return restrictions, relations


# ---------------------------------------------------------------------------- rules


def rule_row(data: dict[str, Any]) -> list[Any]:
    return [
        data["rule_id"],
        data["version"],
        data["name"],
        FAMILIES[data["family"]].name,
        json.dumps(data["params"] or {}, ensure_ascii=False, sort_keys=True),
        _SEP.join(STAGES[s] for s in data["stages"]),
        _SEP.join(str(n) for n in data["trig_scen"]),
        WINDOWS[data["window"]],
        RESULT_TYPES[data["result_type"]],
        SEVERITIES[data["sev_deg"]],
        "是" if data["enabled"] else "否",
        data["valid_from"].isoformat() if data["valid_from"] else "",
        data["valid_to"].isoformat() if data["valid_to"] else "",
    ]


def rules_workbook(rules: list[dict[str, Any]]) -> bytes:
    return _book({RULES: (RULE_COLUMNS, [rule_row(r) for r in rules])})


def _coded(mapping: dict[Any, str], value: str, sheet: str, n: int, column: str) -> Any:
    for code, label in mapping.items():
        if value in (str(code), label):
            return code
    raise bad(sheet, n, f"{column}“{value}”须为 {_SEP.join(mapping.values())} 之一")


def _rows(sheets: dict[str, Any]) -> Iterator[tuple[int, dict[str, str]]]:
    yield from _need(sheets, RULES, RULE_COLUMNS, ("规则编码", "规则名称", "规则族", "审核阶段"))


def read_rules(
    content: bytes, filename: str, limits: TableLimits
) -> list[tuple[int, dict[str, Any]]]:
    """(row, rule data without version) of a rules workbook, in the engine's codes."""
    sheets = _sheets(content, filename, limits)
    families = {k: v.name for k, v in FAMILIES.items()}
    out = []
    for n, row in _rows(sheets):
        try:
            params = json.loads(row.get("参数（JSON）") or "{}")
        except ValueError:
            raise bad(RULES, n, "参数（JSON）不是有效的 JSON") from None
        if not isinstance(params, dict):
            raise bad(RULES, n, "参数（JSON）须为 JSON 对象")
        stages = [_coded(STAGES, s, RULES, n, "审核阶段") for s in _split(row.get("审核阶段", ""))]
        trig = _split(row.get("触发场景", ""))
        if any(not t.isdigit() for t in trig):
            raise bad(RULES, n, "触发场景须为 1–10 的整数，以“、”分隔")
        enabled = row.get("启用", "是") or "是"
        if enabled not in ("是", "否"):
            raise bad(RULES, n, "启用须为 是 或 否")
        out.append(
            (
                n,
                {
                    "rule_id": row.get("规则编码", ""),
                    "name": row.get("规则名称", ""),
                    "family": _coded(families, row.get("规则族", ""), RULES, n, "规则族"),
                    "params": params,
                    "stages": stages,
                    "trig_scen": [int(t) for t in trig],
                    "window": _coded(
                        WINDOWS, row.get("时间窗口") or "当次就诊", RULES, n, "时间窗口"
                    ),
                    "result_type": _coded(
                        RESULT_TYPES, row.get("结果类型") or "可疑", RULES, n, "结果类型"
                    ),
                    "sev_deg": _coded(
                        SEVERITIES, row.get("严重程度") or "警告", RULES, n, "严重程度"
                    ),
                    "enabled": enabled == "是",
                    "valid_from": row.get("生效日期") or None,
                    "valid_to": row.get("失效日期") or None,
                },
            )
        )
    return out


def _split(text: str) -> list[str]:
    return [p.strip() for p in text.replace(",", _SEP).replace("，", _SEP).split(_SEP) if p.strip()]
