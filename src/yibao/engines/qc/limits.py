"""Field limits of the settlement list: spec lengths and characters.

* :func:`length_problem` — a value against its :class:`~yibao.engines.qc.schema.FieldLimit`
  (字符型 N: at most N characters; 数值型 p,s: at most p − s integer digits and p + 2
  characters; several values joined by a separator: each value, and the whole);
* :func:`char_problem` — no control character (C0 U+0000–U+001F, DEL, C1
  U+0080–U+009F: none is allowed, not even a tab or a line break) and no lone
  surrogate (text that cannot be encoded as UTF-8);
* :func:`identity_problems` — the two fields that identify a list in the database
  (``setlinfo.setl_id``, ``setlinfo.fixmedins_code``): intake refuses a list whose
  identity breaks these limits instead of storing it.

The rule primitives ``field_length`` and ``field_chars``
(:mod:`yibao.engines.qc.checks.fields`) report the other fields as findings that
hold the list.  Every function here is linear in the value's length and never
parses a value longer than its limit.
"""

from __future__ import annotations

import re
from decimal import Decimal, InvalidOperation
from typing import Final

from yibao.engines.qc.findings import STRUCTURE_NAME, STRUCTURE_RULE, Finding
from yibao.engines.qc.intake import ParsedList
from yibao.engines.qc.schema import FIELD_LIMITS, FieldLimit, label
from yibao.engines.qc.values import UNSAFE_CHARS, safe_value, show

#: ``setlinfo`` fields that identify a stored list (database keys)
IDENTITY_FIELDS: Final[tuple[str, ...]] = ("setl_id", "fixmedins_code")
#: ``setlinfo`` identifiers a spreadsheet may have turned into numbers
NUMBER_LIKE_IDS: Final[tuple[str, ...]] = (
    "setl_id",
    "mdtrt_id",
    "psn_no",
    "certno",
    "hi_no",
    "medcasno",
    "bill_no",
)
#: a long number as Excel shows and saves it in a CSV: ``2.02611E+17`` (its digits lost)
_EXCEL_EXPONENT: Final = re.compile(r"[0-9](?:\.[0-9]+)?[eE]\+[0-9]{1,3}")
#: whitespace inside an identifier (any Unicode blank, the ideographic space too)
_BLANK: Final = re.compile(r"\s")

_PLAIN_NUMBER: Final = re.compile(r"[+-]?([0-9]*)(?:\.[0-9]*)?")
_CONTROL_NAMES: Final[dict[int, str]] = {
    0x00: "NUL 空字符",
    0x09: "制表符",
    0x0A: "换行符",
    0x0D: "回车符",
    0x7F: "DEL 删除符",
}


def length_problem(limit: FieldLimit, value: str) -> str | None:
    """Chinese problem text when ``value`` breaks ``limit``, else ``None``.

    >>> from yibao.engines.qc.schema import FIELD_LIMITS
    >>> length_problem(FIELD_LIMITS["setlinfo"]["setl_id"], "S" * 31)
    '长度 31 超过规范上限 30 个字符'
    >>> length_problem(FIELD_LIMITS["setlinfo"]["medfee_sumamt"], "1e+300")
    '整数部分 301 位，超过规范（数值型 16,2）的上限 14 位'
    """
    size = len(value)
    if limit.part_chars is None:
        if size > limit.chars:
            return _too_long(size, limit.chars, limit.from_spec, limit)
        return None if limit.digits is None else _digits_problem(value, limit.digits, limit.spec)
    if size > limit.chars:  # a multi-value total is always our choice [M]
        return f"长度 {size} 超过上限 {limit.chars} 个字符（{_joined(limit)}）"
    parts = [value]
    for sep in limit.seps:
        if sep in value:
            parts = [piece for part in parts for piece in part.split(sep)]
    if len(parts) == 1:
        return _single(limit, value)
    for k, raw in enumerate(parts, 1):
        part = raw.strip()
        problem = _single(limit, part)
        if problem is not None:
            return f"中第 {k} 个值 {show(part)} {problem}（{_joined(limit)}）"
    return None


def _single(limit: FieldLimit, value: str) -> str | None:
    """One value of a multi-value field against the per-value limit."""
    chars = limit.part_chars if limit.part_chars is not None else limit.chars
    if len(value) > chars:
        return _too_long(len(value), chars, limit.from_spec, limit)
    return None if limit.digits is None else _digits_problem(value, limit.digits, limit.spec)


def _too_long(size: int, chars: int, from_spec: bool, limit: FieldLimit) -> str:
    text = f"长度 {size} 超过{'规范' if from_spec else ''}上限 {chars} 个字符"
    if limit.digits is not None:
        text += f"（{limit.spec}：数字、符号与小数点）"
    elif limit.spec.startswith("日期"):
        text += f"（{limit.spec}）"
    return text


def _joined(limit: FieldLimit) -> str:
    seps = "、".join(f"“{s}”" for s in limit.seps)
    return f"多个值以 {seps} 分隔，每个值{limit.spec}"


def _digits_problem(value: str, digits: tuple[int, int], spec: str) -> str | None:
    """Integer digits of a number against precision − scale (unreadable: ``None``,
    the format rule reports it)."""
    allowed = digits[0] - digits[1]
    plain = _PLAIN_NUMBER.fullmatch(value)
    if plain is not None:
        have = len(plain.group(1).lstrip("0"))
    else:
        try:
            number = Decimal(value)
        except (InvalidOperation, ValueError):
            return None
        if not number.is_finite() or number.is_zero():
            return None
        have = max(number.adjusted() + 1, 0)
    if have <= allowed:
        return None
    return f"整数部分 {have} 位，超过规范（{spec}）的上限 {allowed} 位"


def excel_number_problem(value: str) -> str | None:
    """Chinese problem text when an identifier reads as a number Excel shortened
    (``2.02611E+17``): its digits are lost, so no list may be stored or matched by it.

    >>> excel_number_problem("2.02611E+17")[:12]
    '是 Excel 科学计数法'
    >>> excel_number_problem("S2026E0001") is None
    True
    """
    if _EXCEL_EXPONENT.fullmatch(value) is None:
        return None
    return (
        "是 Excel 科学计数法显示的数字，原有的位数已丢失：请把该列设为“文本”格式，"
        "重新填入完整编号后上传"
    )


def _blank_problem(value: str) -> str | None:
    found = _BLANK.search(value)
    if found is None:
        return None
    where = f"第 {found.start() + 1} 个字符"
    return f"中间含有空白字符 U+{ord(found.group()):04X}（{where}），编号中不能有空格"


def mangled_ids(parsed: ParsedList) -> list[Finding]:
    """Blocking ``QC000`` findings for identifiers other than the list's own key that
    a spreadsheet turned into a shortened number (:func:`excel_number_problem`): the
    list is held, since its person or visit cannot be told."""
    msg = parsed.message
    if msg is None:
        return []
    out: list[Finding] = []
    for name in NUMBER_LIKE_IDS:
        value = getattr(msg.setlinfo, name, None)
        if name in IDENTITY_FIELDS or not isinstance(value, str):
            continue
        problem = excel_number_problem(value)
        if problem is None:
            continue
        path = f"setlinfo.{name}"
        message = (
            f"{label('setlinfo', name)} {path} = {show(value)} {problem}（规则 {STRUCTURE_RULE}）"
        )
        out.append(
            Finding(STRUCTURE_RULE, "blocking", path, safe_value(value), message, "structure")
        )
    return out


def char_problem(value: str) -> str | None:
    """Chinese problem text when ``value`` holds a control character or a lone
    surrogate, else ``None``.

    >>> char_problem("张\\x00三").split("，")[:2]
    ['含有控制字符 U+0000（NUL 空字符', '第 2 个字符']
    """
    found = UNSAFE_CHARS.search(value)
    if found is None:
        return None
    code = ord(found.group())
    count = len(UNSAFE_CHARS.findall(value))
    where = f"第 {found.start() + 1} 个字符，共 {count} 处"
    if 0xD800 <= code <= 0xDFFF:
        return f"含有无法按 UTF-8 编码的孤立代理字符 U+{code:04X}（{where}）"
    name = _CONTROL_NAMES.get(code)
    what = f"{name}，{where}" if name else where
    return f"含有控制字符 U+{code:04X}（{what}），字段中不允许任何控制字符（包括换行符、制表符）"


def identity_problems(parsed: ParsedList) -> list[Finding]:
    """Blocking ``QC000`` findings when ``setlinfo.setl_id`` or ``setlinfo.fixmedins_code``
    break their spec length (30 / 12 characters) or hold a control character or a
    lone surrogate; ``[]`` when both are fine, missing, or the list has no
    ``setlinfo`` (the intake's own findings cover those).

    These two fields are database keys: intake must refuse such a list (store
    neither it nor its findings), unlike other fields, whose problems only hold it.
    Each finding's ``value`` is safe to show (escaped, cut).

    >>> from yibao.engines.qc.intake import parse_list
    >>> [f.field for f in identity_problems(parse_list({"setlinfo": {"setl_id": "S" * 31}}))]
    ['setlinfo.setl_id']
    """
    msg = parsed.message
    if msg is None:
        return []
    out: list[Finding] = []
    for name in IDENTITY_FIELDS:
        value = getattr(msg.setlinfo, name)
        if value is None:
            continue
        problem = (
            char_problem(value)
            or length_problem(FIELD_LIMITS["setlinfo"][name], value)
            or excel_number_problem(value)
            or _blank_problem(value)
        )
        if problem is None:
            continue
        path = f"setlinfo.{name}"
        message = (
            f"{label('setlinfo', name)} {path} = {show(value)} {problem}，"
            f"不能作为结算清单的标识保存（规则 {STRUCTURE_RULE} {STRUCTURE_NAME}）："
            "此清单未被接收，请按结算清单上传接口（4101A）的字段长度与字符要求更正后重新上传"
        )
        out.append(
            Finding(STRUCTURE_RULE, "blocking", path, safe_value(value), message, "structure")
        )
    return out


__all__ = [
    "IDENTITY_FIELDS",
    "char_problem",
    "identity_problems",
    "length_problem",
    "mangled_ids",
]
