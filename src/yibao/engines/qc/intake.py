"""Parse settlement-list messages leniently: never raise, keep the raw values.

:func:`parse_list` accepts whatever a JSON / CSV / Excel reader produced.  Numbers,
dates and Decimals become text, blanks become ``None``, keys are matched
case-insensitively and old spellings (``hi_type``, ``psn_cashpay`` …, see
:data:`~yibao.engines.qc.schema.ALIASES`) are accepted.  Anything structurally
wrong (not an object, no ``setlinfo``, a node or value of the wrong type) becomes a
``QC000`` :class:`~yibao.engines.qc.findings.Finding` on the :class:`ParsedList`;
the list then carries as much of the message as could be read.
"""

from __future__ import annotations

import gc
import json
import math
import re
from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from typing import Any, TypeGuard, cast

from pydantic import TypeAdapter

from yibao.engines.qc.findings import STRUCTURE_RULE, Finding, structure_finding
from yibao.engines.qc.loose import loosen
from yibao.engines.qc.schema import (
    ALIASES,
    FIELD_KINDS,
    LIST_NODES,
    NODE_LABELS,
    BldInfo,
    DiseInfo,
    IcuInfo,
    ItemInfo,
    Node,
    OprnInfo,
    SetlInfo,
    SettlementList,
    label,
    path_of,
)
from yibao.engines.qc.values import MAX_READ_CHARS, escape, safe_value, show, to_decimal

#: integers of more than :data:`MAX_READ_CHARS` digits are not read (nor turned into text)
_MAX_INT_BITS = math.ceil(MAX_READ_CHARS * math.log2(10))

#: [M] items read per list node (the rule set's own limit is lower: QC029 ``max_items``);
#: the rest of a longer node is not read, so one hostile list cannot take minutes
MAX_NODE_ITEMS = 1000
#: one validator per list node: a whole array is validated in one call
_LIST_ADAPTERS: dict[str, TypeAdapter[Any]] = {
    "diseinfo": TypeAdapter(list[DiseInfo]),
    "oprninfo": TypeAdapter(list[OprnInfo]),
    "icuinfo": TypeAdapter(list[IcuInfo]),
    "bldinfo": TypeAdapter(list[BldInfo]),
    "iteminfo": TypeAdapter(list[ItemInfo]),
}


@dataclass(slots=True)
class ParsedList:
    """One parsed settlement list.

    ``message`` is ``None`` when the input has no usable ``setlinfo`` (then only the
    structural ``problems`` are reported).  ``raw`` is the input object unchanged,
    ``index`` its position in a batch (row number of a flat file).  ``bad_paths``
    are the values and items dropped as the wrong type: the rules do not report
    them again as missing.  ``sizes``: the number of items received in a list node
    that had more than :data:`MAX_NODE_ITEMS` (only those are read).
    """

    raw: object
    message: SettlementList | None
    problems: list[Finding] = field(default_factory=list)
    bad_paths: set[str] = field(default_factory=set)
    index: int | None = None
    cache: dict[str, Any] = field(default_factory=dict)
    sizes: dict[str, int] = field(default_factory=dict)

    @property
    def setl_id(self) -> str | None:
        """``setlinfo.setl_id``, or ``None``."""
        return None if self.message is None else self.message.setlinfo.setl_id

    def raw_json(self) -> str:
        """The input as JSON text for storage; never raises, always storable.

        Non-JSON values become strings.  What no database can keep as JSON is
        rewritten, so SQLite and PostgreSQL store the same text: NUL (which
        PostgreSQL's JSON rejects) and lone surrogates (not UTF-8) become the escape
        text ``\\x00`` / ``\\udc80`` (as in findings), NaN and infinities strings,
        non-string keys strings, integers of more than 4,300 digits and anything
        nested deeper than :data:`MAX_RAW_DEPTH` levels a placeholder text.
        """
        try:
            text = json.dumps(self.raw, ensure_ascii=False, default=str, allow_nan=False)
        except (TypeError, ValueError, RecursionError):
            text = None
        if text is None or "\\u0000" in text or _SURROGATE.search(text) is not None:
            storable = _storable(self.raw, 0)
            text = json.dumps(storable, ensure_ascii=False, allow_nan=False)
        return text


def parse_list(obj: object, index: int | None = None) -> ParsedList:
    """Parse one 4101A message (``dict``; a ``{"input": {...}}`` envelope is unwrapped).

    >>> p = parse_list({"setlinfo": {"setl_id": 1, "gend": " 1 "}, "diseinfo": []})
    >>> p.message.setlinfo.setl_id, p.message.setlinfo.gend, p.problems
    ('1', '1', [])
    >>> parse_list("junk").problems[0].rule_id
    'QC000'
    """
    out = ParsedList(raw=obj, message=None, index=index)
    if not _is_obj(obj):
        out.problems.append(
            structure_finding("$", _brief(obj), "不是 JSON 对象，无法识别为结算清单", "报文")
        )
        return out
    body: Mapping[Any, Any] = obj
    envelope: Mapping[Any, Any] = {}
    inner = body.get("input")
    if "setlinfo" not in body and _is_obj(inner):
        envelope, body = body, inner
    setl_raw = _get(body, "setlinfo")
    if setl_raw is None:
        out.problems.append(
            structure_finding("setlinfo", None, "缺少结算清单信息节点", "结算清单信息")
        )
        return out
    if not _is_obj(setl_raw):
        value = _brief(setl_raw)
        out.problems.append(structure_finding("setlinfo", value, "应为 JSON 对象", "结算清单信息"))
        return out
    setl_values = _clean(out, "setlinfo", None, setl_raw)
    region = envelope.get("mdtrtarea_admvs")
    if not setl_values.get("mdtrtarea_admvs") and isinstance(region, str | int) and region:
        setl_values["mdtrtarea_admvs"] = str(region).strip()  # the envelope's 就医地
    _fund_from_payinfo(out, _get(body, "payinfo"), setl_values)
    setl = SetlInfo.model_validate(setl_values)
    nodes: dict[str, list[Any]] = {n: _items(out, n, _get(body, n)) for n in LIST_NODES}
    out.message = SettlementList.model_validate({"setlinfo": setl, **nodes})
    return out


def parse_lists(objs: Iterable[object]) -> list[ParsedList]:
    """:func:`parse_list` over a batch, ``index`` = position (collector paused)."""
    with gc_paused():
        return [parse_list(obj, i) for i, obj in enumerate(objs)]


@contextmanager
def gc_paused() -> Iterator[None]:
    """Pause Python's cyclic garbage collector for a bulk parse/check.

    A batch allocates many small long-lived objects (models, dicts); the collector
    would rescan them again and again (≈ 2× slower).  They hold no reference
    cycles, so reference counting frees everything; the collector is re-enabled
    (if it was on) on exit.
    """
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


def _fund_from_payinfo(out: ParsedList, raw: Any, setl: dict[str, str]) -> None:
    """A 4101 message gives the fund payments per fund in ``payinfo`` (表155:
    ``fund_pay_type``, ``fund_payamt``) instead of a total: their sum becomes
    ``fund_pay_sumamt`` when ``setlinfo`` has neither it nor ``hifp_pay``.  An amount
    that is not a number is a ``QC000`` finding on its path (no total is made up)."""
    if raw is None or "fund_pay_sumamt" in setl or "hifp_pay" in setl:
        return
    items = [raw] if _is_obj(raw) else raw
    if not isinstance(items, list | tuple) or not items:
        return
    total, readable, found = Decimal(0), True, 0
    for i, item in enumerate(items[:MAX_NODE_ITEMS]):
        amount = _get(item, "fund_payamt") if _is_obj(item) else None
        text = None if amount is None else _text(amount)
        if amount is None or text == "":
            continue  # not a fund row, or a fund row without an amount: adds nothing
        value = None if text is None else to_decimal(text)
        if value is None:
            problem = "不是有效的金额，无法计算基金支付总额"
            where = f"payinfo[{i}].fund_payamt"
            out.problems.append(structure_finding(where, _brief(amount), problem, "基金支付金额"))
            readable = False
            continue
        total += value
        found += 1
    if readable and found:
        setl["fund_pay_sumamt"] = str(total)


def _get(body: Mapping[Any, Any], name: str) -> Any:
    if name in body:
        return body[name]
    for key, value in body.items():
        if isinstance(key, str) and key.lower() == name:
            return value
    return None


def _is_obj(value: object) -> TypeGuard[Mapping[Any, Any]]:
    return type(value) is dict or isinstance(value, Mapping)


def _items(out: ParsedList, node: str, raw: Any) -> list[Node]:
    """The items of a list node; a single object counts as a one-item list."""
    if raw is None:
        return []
    if _is_obj(raw):
        raw = [raw]
    if not isinstance(raw, list | tuple):
        out.problems.append(
            structure_finding(node, _brief(raw), "应为 JSON 数组", NODE_LABELS[node])
        )
        out.bad_paths.add(node)
        return []
    if len(raw) > MAX_NODE_ITEMS:
        out.sizes[node] = len(raw)
        limit = MAX_NODE_ITEMS
        problem = f"共 {len(raw)} 条，超过可处理的上限 {limit} 条（只检查了前 {limit} 条）"
        out.problems.append(structure_finding(node, None, problem, NODE_LABELS[node]))
        raw = raw[:MAX_NODE_ITEMS]
    cleaned: list[dict[str, str]] = []
    for i, item in enumerate(raw):
        if _is_obj(item):
            cleaned.append(_clean(out, node, i, item))
        else:
            where = path_of(node, i)
            out.problems.append(
                structure_finding(where, _brief(item), "应为 JSON 对象", NODE_LABELS[node])
            )
            out.bad_paths.add(where)
            cleaned.append({})  # an empty placeholder keeps the indices
    return cast(list[Node], _LIST_ADAPTERS[node].validate_python(cleaned))


def _clean(out: ParsedList, node: str, index: int | None, obj: Mapping[Any, Any]) -> dict[str, str]:
    """Known fields of one node as stripped text; wrong types become findings."""
    kinds = FIELD_KINDS[node]
    values: dict[str, str] = {}
    for key, value in obj.items():
        kind = kinds.get(key)
        name = key
        if kind is None:
            if not isinstance(key, str):
                continue
            name = ALIASES.get(node, {}).get(key.lower(), key.lower())
            kind = kinds.get(name)
            if kind is None or (name != key and _given(obj.get(name))):
                continue  # unknown key (kept in ``raw`` only), or an alias of a given field
        if type(value) is str:
            text: str | None = value.strip()
        elif value is None:
            continue
        else:
            text = _text(value)
            if text is None:
                where = path_of(node, index, name)
                problem = (
                    f"的位数过多（超过 {MAX_READ_CHARS} 位），无法读取"
                    if type(value) is int
                    else "的类型无效（应为文本、数字或日期）"
                )
                out.problems.append(
                    structure_finding(where, _brief(value), problem, label(node, name))
                )
                out.bad_paths.add(where)
                continue
        if not text:
            continue
        loose, note = loosen(node, name, kind, text)
        if note is not None:  # one reading only: taken, and said (a warning)
            where = path_of(node, index, name)
            message = f"{label(node, name)} {where} = {show(text)} 已按“{loose}”读取（{note}）"
            out.problems.append(
                Finding(STRUCTURE_RULE, "warning", where, safe_value(text), message, "structure")
            )
            text = loose
        if kind == "code2" and len(text) == 1 and text.isdigit():
            text = "0" + text
        values[name] = text
    return values


def _given(value: object) -> bool:
    """Whether a field holds a value (not absent, null or blank text): a blank field
    does not hide its filled alias."""
    return value is not None and not (isinstance(value, str) and not value.strip())


def _text(value: object) -> str | None:
    """Scalar → stripped text ("" for blank); ``None`` for a non-scalar."""
    kind = type(value)
    if isinstance(value, str):
        return str.strip(value)
    if kind is int and isinstance(value, int):  # not bool
        return str(value) if value.bit_length() <= _MAX_INT_BITS else None
    if kind is float and isinstance(value, float):
        return format(value, ".15g") if math.isfinite(value) else None
    if isinstance(value, Decimal):
        return str(value) if value.is_finite() else None
    if isinstance(value, datetime):
        return value.isoformat(sep=" ")
    if isinstance(value, date):
        return value.isoformat()
    return None


#: nesting kept by :meth:`ParsedList.raw_json` (4101A needs 3: message, node, item)
MAX_RAW_DEPTH = 32
_DEEP = "（嵌套层数过多，已省略）"
_HUGE_INT = "（整数位数过多，已省略）"
_SURROGATE = re.compile(r"[\ud800-\udfff]")
_UNSTORABLE = re.compile(r"[\x00\ud800-\udfff]")


def _storable(value: object, depth: int) -> object:
    """A JSON-safe copy of ``value`` (see :meth:`ParsedList.raw_json`)."""
    if isinstance(value, str):
        return _UNSTORABLE.sub(_escape_match, value) if _UNSTORABLE.search(value) else value
    if value is None or isinstance(value, bool):
        return value
    if isinstance(value, int):
        try:
            int.__repr__(value)  # Python refuses text of more than 4,300 digits
        except ValueError:
            return _HUGE_INT
        return value
    if isinstance(value, float):
        return value if math.isfinite(value) else str(value)
    if depth >= MAX_RAW_DEPTH and isinstance(value, Mapping | list | tuple):
        return _DEEP
    if isinstance(value, Mapping):
        return {str(_storable(k, depth)): _storable(v, depth + 1) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_storable(v, depth + 1) for v in value]
    try:
        text = str(value)
    except Exception:  # an object whose str() fails: keep its type name
        text = type(value).__name__
    return _storable(text, depth)


def _escape_match(match: re.Match[str]) -> str:
    return escape(match.group())


def _brief(value: object) -> str:
    """A short JSON-like rendering of a wrong-typed value (never raises, ≤ 60 chars)."""
    text = _render(value, 0)
    return show(text)[1:-1] if len(text) > 60 else text


def _render(value: object, depth: int) -> str:
    """JSON-like text of the first few members, first levels, first characters."""
    if isinstance(value, str):
        return '"' + escape(value[:61]) + '"'
    if isinstance(value, Mapping | list | tuple):
        if depth >= 2:
            return "{…}" if isinstance(value, Mapping) else "[…]"
        if isinstance(value, Mapping):
            items = [f"{_render(k, 2)}: {_render(v, depth + 1)}" for k, v in _first(value.items())]
            return "{" + ", ".join(items) + (", …" if len(value) > 3 else "") + "}"
        items = [_render(v, depth + 1) for v in _first(value)]
        return "[" + ", ".join(items) + (", …" if len(value) > 3 else "") + "]"
    if value is None or isinstance(value, bool):
        return json.dumps(value)
    if isinstance(value, int) and value.bit_length() > _MAX_INT_BITS:
        return "（超长整数）"
    try:
        return escape(str(value)[:61])
    except Exception:  # an object whose str() fails: its type name
        return type(value).__name__


def _first(items: Iterable[Any]) -> list[Any]:
    out: list[Any] = []
    for item in items:
        if len(out) == 3:
            break
        out.append(item)
    return out


__all__ = [
    "BldInfo",
    "DiseInfo",
    "IcuInfo",
    "ItemInfo",
    "OprnInfo",
    "ParsedList",
    "SetlInfo",
    "gc_paused",
    "parse_list",
    "parse_lists",
]
