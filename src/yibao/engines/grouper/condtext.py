"""Conditions of a plan as readable Chinese text, and back (the plan workbook, issue 16).

A bureau edits MDC entries, ADRG rules and DRG splits in Excel; the cells hold the
condition in this form instead of JSON::

    主要诊断属于 MDCP.dx 且 年龄等于0岁
    (有有效MCC 或 有有效CC) 且 年龄岁数 ≤ 6
    并非(主要手术操作为手术室手术)

``且`` binds tighter than ``或``; parentheses (ASCII or full-width) group.  A group of
one (``{"op": "all", "args": [x]}``) is written ``全部(x)`` / ``任一(x)``.
:func:`format_condition` always parenthesises a nested group, so that
``parse_condition_text(format_condition(c)) == c`` for every condition of the plan
format (the JSON, key for key: the workbook round trip keeps the plan's checksum).
The parser only checks the shape; :func:`~yibao.engines.grouper.conditions.parse_condition`
still validates names and values when the plan is loaded.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable
from typing import Any

#: field_range / field_in field → workbook name (no parentheses: they group)
FIELD_NAMES = {
    "age_years": "年龄岁数",
    "age_days": "日龄天数",
    "birth_weight_g": "出生体重克数",
    "los_days": "住院天数",
    "icu_hours": "重症监护小时数",
    "dept": "科室",
    "discharge_type": "离院方式",
}
_FIELD_OF = {v: k for k, v in FIELD_NAMES.items()}
#: primitives without parameters
_FIXED = {
    "true": "无条件",
    "false": "永不成立",
    "principal_proc_is_or": "主要手术操作为手术室手术",
    "any_proc_is_or": "有手术室手术",
    "no_or_proc": "无手术室手术",
    "has_procedure": "有手术操作",
    "has_mcc": "有有效MCC",
    "has_cc": "有有效CC",
}
_FIXED_OF = {v: k for k, v in _FIXED.items()}
#: primitives with a code list
_LISTS = {
    "principal_dx_in": "主要诊断属于",
    "any_dx_in": "任一诊断属于",
    "secondary_dx_in": "其他诊断属于",
    "principal_proc_in": "主要手术操作属于",
    "any_proc_in": "任一手术操作属于",
    "secondary_proc_in": "其他手术操作属于",
}
_LISTS_OF = {v: k for k, v in _LISTS.items()}
_SIGNS = (("ge", "≥"), ("gt", ">"), ("le", "≤"), ("lt", "<"), ("eq", "="))
_SIGN_OF = {"≥": "ge", ">=": "ge", ">": "gt", "≤": "le", "<=": "le", "<": "lt", "=": "eq"}
_BOUND = re.compile(r"\s*(≥|>=|≤|<=|>|<|=)\s*(-?\d+)\s*")
_EMPTY_TEXT = '""'


class ConditionTextError(ValueError):
    """A condition text that cannot be read; the message is Chinese and says where."""


def format_condition(raw: Any) -> str:
    """The workbook text of one condition (plan JSON)."""
    op = raw["op"]
    if op in ("all", "any"):
        args = raw["args"]
        if len(args) == 1:
            return f"{'全部' if op == 'all' else '任一'}({format_condition(args[0])})"
        joiner = " 且 " if op == "all" else " 或 "
        return joiner.join(_child(a) for a in args)
    if op == "not":
        return f"并非({format_condition(raw['arg'])})"
    return _format_prim(raw)


def _child(raw: Any) -> str:
    text = format_condition(raw)
    nested = raw["op"] in ("all", "any") and len(raw["args"]) > 1
    return f"({text})" if nested else text


def _bounds(raw: Any) -> str:
    return "、".join(f"{sign} {raw[key]}" for key, sign in _SIGNS if key in raw)


def _format_prim(raw: Any) -> str:
    op = raw["op"]
    if op in _FIXED:
        return _FIXED[op]
    if op in _LISTS:
        return f"{_LISTS[op]} {raw['list']}"
    if op == "sex_is":
        return {1: "性别为男", 2: "性别为女"}.get(raw["value"], f"性别为 {raw['value']}")
    if op == "age_years_eq":
        return f"年龄等于{raw['value']}岁"
    if op == "age_days_le":
        return f"日龄不超过{raw['value']}天"
    if op == "birth_weight_range":
        return f"新生儿出生体重 {_bounds(raw)}"
    if op == "proc_tag_present":
        return f"手术标签表 {raw['table']} 中有标签 {raw['tag']}"
    if op == "trauma_site_count_ge":
        return f"创伤部位表 {raw['sites']} 中至少 {raw['min']} 处"
    if op == "field_range":
        return f"{FIELD_NAMES.get(raw['field'], raw['field'])} {_bounds(raw)}"
    if op == "field_in":
        values = "、".join(v if v else _EMPTY_TEXT for v in raw["values"])
        return f"{FIELD_NAMES.get(raw['field'], raw['field'])}为 {values}"
    raise ConditionTextError(f"未知的条件类型 {op}")


# --- parsing ------------------------------------------------------------------------

_TOKEN = re.compile(
    r"\s*(?:(?P<lp>[(（])|(?P<rp>[)）])|(?P<and>且)|(?P<or>或)|(?P<text>[^()（）且或]+))"
)
_GROUP_WORDS = {"并非": "not", "全部": "all", "任一": "any"}


def _tokens(text: str) -> list[tuple[str, str]]:
    out: list[tuple[str, str]] = []
    pos = 0
    while pos < len(text):
        match = _TOKEN.match(text, pos)
        if match is None or match.end() == pos:
            break
        pos = match.end()
        kind = match.lastgroup or ""
        value = match.group(kind).strip()
        if kind == "text" and not value:
            continue
        if kind == "text" and value in _GROUP_WORDS:
            kind = _GROUP_WORDS[value]
        out.append((kind, value))
    return out


class _Parser:
    def __init__(self, text: str) -> None:
        self.tokens = _tokens(text)
        self.pos = 0

    def peek(self) -> str | None:
        return self.tokens[self.pos][0] if self.pos < len(self.tokens) else None

    def take(self, kind: str, what: str) -> str:
        if self.peek() != kind:
            found = self.tokens[self.pos][1] if self.pos < len(self.tokens) else "结尾"
            raise ConditionTextError(f"第 {self.pos + 1} 个词处应为{what}，实际为“{found}”")
        self.pos += 1
        return self.tokens[self.pos - 1][1]

    def expr(self) -> dict[str, Any]:
        args = [self.term()]
        while self.peek() == "or":
            self.pos += 1
            args.append(self.term())
        return args[0] if len(args) == 1 else {"op": "any", "args": args}

    def term(self) -> dict[str, Any]:
        args = [self.unary()]
        while self.peek() == "and":
            self.pos += 1
            args.append(self.unary())
        return args[0] if len(args) == 1 else {"op": "all", "args": args}

    def unary(self) -> dict[str, Any]:
        kind = self.peek()
        if kind in ("not", "all", "any"):
            self.pos += 1
            inner = self.group()
            return {"op": "not", "arg": inner} if kind == "not" else {"op": kind, "args": [inner]}
        if kind == "lp":
            return self.group()
        return parse_primitive(self.take("text", "条件"))

    def group(self) -> dict[str, Any]:
        self.take("lp", "左括号")
        inner = self.expr()
        self.take("rp", "右括号")
        return inner


def parse_condition_text(text: str) -> dict[str, Any]:
    """Plan JSON of a workbook condition text; :class:`ConditionTextError` if unreadable."""
    if not text or not text.strip():
        raise ConditionTextError("条件为空")
    # full-width letters, digits, signs and parentheses as typed with a Chinese IME
    text = unicodedata.normalize("NFKC", text)
    parser = _Parser(text)
    out = parser.expr()
    if parser.pos != len(parser.tokens):
        raise ConditionTextError(
            f"第 {parser.pos + 1} 个词“{parser.tokens[parser.pos][1]}”多余（缺少“且”或“或”？）"
        )
    return out


def _int(text: str, what: str) -> int:
    try:
        return int(text.strip())
    except ValueError:
        raise ConditionTextError(f"{what}应为整数（收到“{text.strip()}”）") from None


def _parse_bounds(text: str, op: str, field: str | None = None) -> dict[str, Any]:
    out: dict[str, Any] = {"op": op} if field is None else {"op": op, "field": field}
    parts = [p for p in re.split(r"[、,，]", text) if p.strip()]
    if not parts:
        raise ConditionTextError("缺少范围（如 ≥ 1、≤ 6）")
    for part in parts:
        match = _BOUND.fullmatch(part)
        if match is None:
            raise ConditionTextError(f"范围“{part.strip()}”应写作 ≥ / > / ≤ / < / = 加整数")
        key = _SIGN_OF[match.group(1)]
        if key in out:
            raise ConditionTextError(f"范围中“{match.group(1)}”出现两次")
        out[key] = int(match.group(2))
    return out


def _word(text: str, what: str) -> str:
    word = text.strip()
    if not word or re.search(r"\s", word):
        raise ConditionTextError(f"{what}应为一个不含空格的名称（收到“{word}”）")
    return word


_PATTERNS: list[tuple[re.Pattern[str], Callable[[re.Match[str]], dict[str, Any]]]] = [
    (
        re.compile(r"性别为\s*(男|女|1|2)"),
        lambda m: {"op": "sex_is", "value": 1 if m.group(1) in ("男", "1") else 2},
    ),
    (
        re.compile(r"年龄等于\s*(\S+?)\s*岁"),
        lambda m: {"op": "age_years_eq", "value": _int(m.group(1), "年龄")},
    ),
    (
        re.compile(r"日龄不超过\s*(\S+?)\s*天"),
        lambda m: {"op": "age_days_le", "value": _int(m.group(1), "日龄")},
    ),
    (
        re.compile(r"新生儿出生体重\s*(.*)"),
        lambda m: _parse_bounds(m.group(1), "birth_weight_range"),
    ),
    (
        re.compile(r"手术标签表\s*(\S+)\s*中有标签\s*(\S+)"),
        lambda m: {"op": "proc_tag_present", "table": m.group(1), "tag": m.group(2)},
    ),
    (
        re.compile(r"创伤部位表\s*(\S+)\s*中至少\s*(\S+?)\s*处"),
        lambda m: {
            "op": "trauma_site_count_ge",
            "sites": m.group(1),
            "min": _int(m.group(2), "创伤部位数"),
        },
    ),
]


def parse_primitive(text: str) -> dict[str, Any]:
    """Plan JSON of one primitive's text."""
    text = text.strip()
    if text in _FIXED_OF:
        return {"op": _FIXED_OF[text]}
    for prefix, op in _LISTS_OF.items():
        if text.startswith(prefix):
            return {"op": op, "list": _word(text[len(prefix) :], "编码表名")}
    for pattern, build in _PATTERNS:
        match = pattern.fullmatch(text)
        if match is not None:
            return build(match)
    for name, field in _FIELD_OF.items():
        if not text.startswith(name):
            continue
        rest = text[len(name) :].strip()
        if field in ("dept", "discharge_type"):
            if not rest.startswith("为"):
                raise ConditionTextError(f"“{text}”应写作“{name}为 取值、取值”")
            values = [v.strip() for v in rest[1:].split("、")]
            if not values or any(not v for v in values):
                raise ConditionTextError(f'“{text}”的取值不能为空（空文本写作 ""）')
            return {
                "op": "field_in",
                "field": field,
                "values": ["" if v == _EMPTY_TEXT else v for v in values],
            }
        return _parse_bounds(rest, "field_range", field)
    raise ConditionTextError(f"无法识别的条件“{text}”")
