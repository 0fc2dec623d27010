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
from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from typing import Any, TypeGuard, cast

from pydantic import TypeAdapter

from yibao.engines.qc.findings import Finding, structure_finding
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
from yibao.engines.qc.values import show

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
    them again as missing.
    """

    raw: object
    message: SettlementList | None
    problems: list[Finding] = field(default_factory=list)
    bad_paths: set[str] = field(default_factory=set)
    index: int | None = None
    cache: dict[str, Any] = field(default_factory=dict)

    @property
    def setl_id(self) -> str | None:
        """``setlinfo.setl_id``, or ``None``."""
        return None if self.message is None else self.message.setlinfo.setl_id

    def raw_json(self) -> str:
        """The input as JSON text for storage (non-JSON values as strings)."""
        return json.dumps(self.raw, ensure_ascii=False, default=str)


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
    inner = body.get("input")
    if "setlinfo" not in body and _is_obj(inner):
        body = inner
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
    setl = SetlInfo.model_validate(_clean(out, "setlinfo", None, setl_raw))
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
            if kind is None or (name != key and name in obj):
                continue  # unknown key (kept in ``raw`` only), or an alias of a given field
        if type(value) is str:
            text: str | None = value.strip()
        elif value is None:
            continue
        else:
            text = _text(value)
            if text is None:
                where = path_of(node, index, name)
                problem = "的类型无效（应为文本、数字或日期）"
                out.problems.append(
                    structure_finding(where, _brief(value), problem, label(node, name))
                )
                out.bad_paths.add(where)
                continue
        if not text:
            continue
        if kind == "code2" and len(text) == 1 and text.isdigit():
            text = "0" + text
        values[name] = text
    return values


def _text(value: object) -> str | None:
    """Scalar → stripped text ("" for blank); ``None`` for a non-scalar."""
    kind = type(value)
    if kind is str:
        return str(value).strip()
    if kind is int:
        return str(value)
    if kind is float:
        number = float(value)  # type: ignore[arg-type]
        return format(number, ".15g") if math.isfinite(number) else None
    if isinstance(value, Decimal):
        return str(value) if value.is_finite() else None
    if isinstance(value, datetime):
        return value.isoformat(sep=" ")
    if isinstance(value, date):
        return value.isoformat()
    return None


def _brief(value: object) -> str:
    try:
        text = json.dumps(value, ensure_ascii=False, default=str)
    except (TypeError, ValueError):
        text = repr(value)
    return show(text)[1:-1] if len(text) > 60 else text


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
