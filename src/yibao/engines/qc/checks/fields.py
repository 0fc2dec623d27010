"""Field-level primitives: completeness, value domains, formats, patterns, ranges,
spec lengths and characters."""

from __future__ import annotations

import re
from collections.abc import Callable
from decimal import Decimal, InvalidOperation
from itertools import chain
from typing import Literal

from pydantic import Field, field_validator, model_validator

from yibao.engines.qc.checks.base import (
    CheckFn,
    FieldRef,
    Params,
    PlanView,
    Primitive,
    Reporter,
    check_same_node,
    split_refs,
    values,
)
from yibao.engines.qc.findings import Finding
from yibao.engines.qc.intake import ParsedList
from yibao.engines.qc.limits import char_problem, length_problem
from yibao.engines.qc.schema import (
    FIELD_KINDS,
    FIELD_LIMITS,
    LIST_NODES,
    NODE_LABELS,
    FieldLimit,
    Node,
    SettlementList,
    label,
    parse_ref,
    path_of,
)
from yibao.engines.qc.values import (
    MAX_READ_CHARS,
    UNSAFE_CHARS,
    decimal_places,
    to_date,
    to_datetime,
    to_decimal,
    to_duration,
    to_int,
    to_weights,
)

# --- required_fields ---------------------------------------------------------------


class RequiredParams(Params):
    """``fields`` must be filled; ``min_items`` per list node; ``when``: field → the
    field (same node) whose presence makes it required."""

    fields: tuple[FieldRef, ...] = ()
    min_items: dict[str, int] = Field(default_factory=dict)
    when: dict[FieldRef, FieldRef] = Field(default_factory=dict)

    @field_validator("min_items")
    @classmethod
    def _nodes(cls, value: dict[str, int]) -> dict[str, int]:
        for node, n in value.items():
            if node not in LIST_NODES or n < 0:
                raise ValueError(f"min_items 的键须为列表节点、值须 ≥ 0（收到 {node}: {n}）")
        return value

    @model_validator(mode="after")
    def _when(self) -> RequiredParams:
        for field, trigger in self.when.items():
            check_same_node(field, trigger)
        return self


def _required(params: RequiredParams, rep: Reporter, _plan: PlanView) -> CheckFn:
    setl, items = split_refs(params.fields)
    when = [(*parse_ref(f), parse_ref(t)[1]) for f, t in params.when.items()]
    minimum = list(params.min_items.items())

    def check(p: ParsedList, msg: SettlementList, out: list[Finding]) -> None:
        s = msg.setlinfo
        for name in setl:
            if getattr(s, name) is None:
                rep.emit(p, out, "setlinfo." + name, label("setlinfo", name), None, "未填写")
        for node, n in minimum:
            have = len(getattr(msg, node))
            if have < n:
                problem = f"至少应有 {n} 条，实际 {have} 条"
                rep.emit(p, out, node, NODE_LABELS[node], None, problem)
        for node, names in items.items():
            for i, item in enumerate(getattr(msg, node)):
                for name in names:
                    if getattr(item, name) is None:
                        rep.emit(p, out, path_of(node, i, name), label(node, name), None, "未填写")
        for node, name, trigger in when:
            rows = [s] if node == "setlinfo" else getattr(msg, node)
            for i, item in enumerate(rows):
                if getattr(item, trigger) is not None and getattr(item, name) is None:
                    at = None if node == "setlinfo" else i
                    problem = f"未填写（已填写{label(node, trigger)}时必填）"
                    rep.emit(p, out, path_of(node, at, name), label(node, name), None, problem)

    return check


# --- value_domain ------------------------------------------------------------------


class DomainParams(Params):
    """``domains``: field → {allowed value: Chinese meaning}."""

    domains: dict[FieldRef, dict[str, str]]
    max_listed: int = 12

    @field_validator("domains")
    @classmethod
    def _non_empty(cls, value: dict[str, dict[str, str]]) -> dict[str, dict[str, str]]:
        for ref, allowed in value.items():
            if not allowed:
                raise ValueError(f"{ref} 的值域不能为空")
        return value


def _listing(allowed: dict[str, str], limit: int) -> str:
    shown = [f"{k} {v}".strip() for k, v in list(allowed.items())[:limit]]
    more = "等" if len(allowed) > limit else ""
    return "、".join(shown) + more


def _domain(params: DomainParams, rep: Reporter, _plan: PlanView) -> CheckFn:
    specs = [
        (*parse_ref(ref), frozenset(allowed), _listing(allowed, params.max_listed))
        for ref, allowed in params.domains.items()
    ]

    def check(p: ParsedList, msg: SettlementList, out: list[Finding]) -> None:
        for node, name, allowed, listing in specs:
            rows = [msg.setlinfo] if node == "setlinfo" else getattr(msg, node)
            for i, item in enumerate(rows):
                value = getattr(item, name)
                if value is not None and value not in allowed:
                    where = path_of(node, None if node == "setlinfo" else i, name)
                    problem = f"不在值域内（可填：{listing}）"
                    rep.emit(p, out, where, label(node, name), value, problem)

    return check


# --- field_format ------------------------------------------------------------------

FormatKind = Literal["int", "num", "money", "weight", "date", "datetime"]


class FormatParams(Params):
    """Every field of the listed kinds must be readable; money ≤ ``money_places``
    decimals; numbers ≥ 0 when ``non_negative``; years within [min_year, max_year]."""

    kinds: tuple[FormatKind, ...] = ("int", "num", "money", "weight", "date", "datetime")
    money_places: int = 2
    non_negative: bool = True
    min_year: int = 1900
    max_year: int = 2100


def _format(params: FormatParams, rep: Reporter, _plan: PlanView) -> CheckFn:
    typed = {
        node: {name: kind for name, kind in kinds.items() if kind in params.kinds}
        for node, kinds in FIELD_KINDS.items()
    }
    nodes = [(node, fields, frozenset(fields)) for node, fields in typed.items() if fields]
    problem_of = _format_problem(params)
    fast = _fast_patterns(params)

    def check(p: ParsedList, msg: SettlementList, out: list[Finding]) -> None:
        for node, fields, keys in nodes:
            rows = [msg.setlinfo] if node == "setlinfo" else getattr(msg, node)
            for i, item in enumerate(rows):
                for name in keys.intersection(item.model_fields_set):
                    value = getattr(item, name)
                    kind = fields[name]
                    quick = fast.get(kind)
                    if value is None or (quick is not None and quick(value) is not None):
                        continue
                    problem = problem_of(kind, value)
                    if problem:
                        where = path_of(node, None if node == "setlinfo" else i, name)
                        rep.emit(p, out, where, label(node, name), value, problem)

    return check


def _fast_patterns(params: FormatParams) -> dict[str, Callable[[str], object]]:
    """Full-match tests that accept the usual well-formed values without parsing."""
    sign = "" if params.non_negative else "-?"
    number = rf"{sign}[0-9]+(?:\.[0-9]+)?"
    places = rf"(?:\.[0-9]{{1,{params.money_places}}})?" if params.money_places else ""
    return {
        "int": re.compile(rf"{sign}[0-9]+").fullmatch,
        "num": re.compile(number).fullmatch,
        "money": re.compile(rf"{sign}[0-9]+{places}").fullmatch,
        "weight": re.compile(rf"{number}(?:[,，、]{number})*").fullmatch,
    }


def _format_problem(params: FormatParams) -> Callable[[str, str], str | None]:
    years = range(params.min_year, params.max_year + 1)
    year_text = f"年份超出 {params.min_year}–{params.max_year}"

    def problem(kind: str, value: str) -> str | None:
        if len(value) > MAX_READ_CHARS:
            return f"过长（{len(value)} 个字符），无法读取"
        if kind == "datetime":
            dt = to_datetime(value)
            if dt is None:
                return "不是有效的日期时间（格式 YYYY-MM-DD HH:MM:SS）"
            return None if dt.year in years else year_text
        if kind == "date":
            d = to_date(value)
            if d is None:
                return "不是有效的日期（格式 YYYY-MM-DD）"
            return None if d.year in years else year_text
        if kind == "weight":
            weights = to_weights(value)
            if weights is None:
                return "不是数字（多胎时以英文逗号分隔各新生儿体重）"
            negative = params.non_negative and any(w < 0 for w in weights)
            return "不能为负数" if negative else None
        if kind == "int":
            number: Decimal | int | None = to_int(value)
            if number is None:
                return _too_large(value) or "不是整数"
        else:
            number = to_decimal(value)
            if number is None:
                return _too_large(value) or "不是数字"
            if kind == "money" and decimal_places(number.normalize()) > params.money_places:
                return f"超过 {params.money_places} 位小数（金额精确到分）"
        return "不能为负数" if params.non_negative and number < 0 else None

    return problem


def _too_large(value: str) -> str | None:
    """The problem of a number too large to read (``1e+300``), else ``None``."""
    try:
        number = Decimal(value)
    except (InvalidOperation, ValueError):
        return None
    if number.is_finite() and number.adjusted() >= MAX_READ_CHARS:
        return f"数值过大（超过 {MAX_READ_CHARS} 位整数），无法读取"
    return None


# --- pattern -----------------------------------------------------------------------


class PatternSpec(Params):
    """A regular expression (full match) and a Chinese hint of the expected form."""

    regex: str
    hint: str

    @field_validator("regex")
    @classmethod
    def _compiles(cls, value: str) -> str:
        try:
            re.compile(value)
        except re.error as exc:
            raise ValueError(f"正则表达式 {value!r} 无效：{exc}") from None
        return value


class PatternParams(Params):
    """``patterns``: field → :class:`PatternSpec`."""

    patterns: dict[FieldRef, PatternSpec]


def _pattern(params: PatternParams, rep: Reporter, _plan: PlanView) -> CheckFn:
    specs = [
        (*parse_ref(ref), re.compile(spec.regex).fullmatch, spec.hint)
        for ref, spec in params.patterns.items()
    ]

    def check(p: ParsedList, msg: SettlementList, out: list[Finding]) -> None:
        for node, name, match, hint in specs:
            rows = [msg.setlinfo] if node == "setlinfo" else getattr(msg, node)
            for i, item in enumerate(rows):
                value = getattr(item, name)
                if value is not None and match(value) is None:
                    where = path_of(node, None if node == "setlinfo" else i, name)
                    rep.emit(p, out, where, label(node, name), value, f"格式不符（应为{hint}）")

    return check


# --- newborn_weight ----------------------------------------------------------------


class WeightParams(Params):
    """Every weight (each of a comma list) within [min_g, max_g] grams."""

    fields: tuple[FieldRef, ...]
    min_g: Decimal = Decimal(200)
    max_g: Decimal = Decimal(20000)

    @field_validator("fields")
    @classmethod
    def _weights(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        for ref in value:
            node, name = parse_ref(ref)
            if FIELD_KINDS[node][name] not in ("weight", "num", "int"):
                raise ValueError(f"{ref} 不是数值字段")
        return value


def _weight(params: WeightParams, rep: Reporter, _plan: PlanView) -> CheckFn:
    refs = [parse_ref(ref) for ref in params.fields]
    lo, hi = params.min_g, params.max_g

    def check(p: ParsedList, msg: SettlementList, out: list[Finding]) -> None:
        age = to_decimal(msg.setlinfo.age)
        adult = age is not None and age >= 1
        for node, name in refs:
            for i, value in values(msg, node, name):
                weights = to_weights(value) or []
                if adult and weights and all(w == 0 for w in weights):
                    continue  # "0": the HIS's placeholder for "not a newborn"
                for w in weights:
                    if not lo <= w <= hi:
                        problem = f"中的 {w} 克超出 {lo}–{hi} 克的合理范围"
                        rep.emit(p, out, path_of(node, i, name), label(node, name), value, problem)
                        break

    return check


# --- duration ----------------------------------------------------------------------


class DurationParams(Params):
    """``天数/小时数/分钟数``: days ≥ 0, hours ≤ max_hours, minutes ≤ max_minutes."""

    fields: tuple[FieldRef, ...]
    separator: str = "/"
    max_hours: int = 23
    max_minutes: int = 59


def _duration(params: DurationParams, rep: Reporter, _plan: PlanView) -> CheckFn:
    refs = [parse_ref(ref) for ref in params.fields]
    sep, max_h, max_m = params.separator, params.max_hours, params.max_minutes
    problem = (
        f"格式不符（应为 天数{sep}小时数{sep}分钟数，如 1{sep}13{sep}24；"
        f"小时 0–{max_h}，分钟 0–{max_m}）"
    )

    def check(p: ParsedList, msg: SettlementList, out: list[Finding]) -> None:
        for node, name in refs:
            for i, value in values(msg, node, name):
                if value is None:
                    continue
                parts = to_duration(value, sep)
                if parts is None or parts[1] > max_h or parts[2] > max_m:
                    rep.emit(p, out, path_of(node, i, name), label(node, name), value, problem)

    return check


# --- field_length ------------------------------------------------------------------


class LengthParams(Params):
    """Every field within its spec length (:data:`~yibao.engines.qc.schema.FIELD_LIMITS`,
    checked by :func:`~yibao.engines.qc.limits.length_problem`); ``max_items``: list
    node → most items."""

    max_items: dict[str, int] = Field(default_factory=dict)

    @field_validator("max_items")
    @classmethod
    def _nodes(cls, value: dict[str, int]) -> dict[str, int]:
        for node, n in value.items():
            if node not in LIST_NODES or n < 1:
                raise ValueError(f"max_items 的键须为列表节点、值须 ≥ 1（收到 {node}: {n}）")
        return value


def _length(params: LengthParams, rep: Reporter, _plan: PlanView) -> CheckFn:
    nodes = [(node, limits, _quick_limits(limits)) for node, limits in FIELD_LIMITS.items()]
    max_items = list(params.max_items.items())

    def check(p: ParsedList, msg: SettlementList, out: list[Finding]) -> None:
        for node, n in max_items:
            have = p.sizes.get(node) or len(getattr(msg, node))
            if have > n:
                problem = f"共 {have} 条，超过上限 {n} 条"
                rep.emit(p, out, node, NODE_LABELS[node], None, problem)
        for node, limits, quick in nodes:
            rows = [msg.setlinfo] if node == "setlinfo" else getattr(msg, node)
            for i, item in enumerate(rows):
                values = item.__dict__
                for name in item.model_fields_set:
                    value = values[name]
                    if value is None:
                        continue
                    size, number = quick[name]
                    if len(value) <= size and not (number and ("e" in value or "E" in value)):
                        continue  # short enough for any problem (an exponent can hide digits)
                    issue = length_problem(limits[name], value)
                    if issue is not None:
                        where = path_of(node, None if node == "setlinfo" else i, name)
                        rep.emit(p, out, where, label(node, name), value, issue)

    return check


def _quick_limits(limits: dict[str, FieldLimit]) -> dict[str, tuple[int, bool]]:
    """field → (length up to which the value needs no closer look, is a number).

    Text: its limit.  A number: its integer digits (a shorter number cannot have
    more), unless written with an exponent.  Several values: 0 (always looked at).
    """
    out: dict[str, tuple[int, bool]] = {}
    for name, limit in limits.items():
        if limit.part_chars is not None:
            out[name] = (0, False)
        elif limit.digits is not None:
            out[name] = (min(limit.chars, limit.digits[0] - limit.digits[1]), True)
        else:
            out[name] = (limit.chars, False)
    return out


# --- field_chars -------------------------------------------------------------------


class CharsParams(Params):
    """No field may hold a control character (C0, DEL, C1: none is allowed) or a
    lone surrogate (:func:`~yibao.engines.qc.limits.char_problem`); no parameters."""


def _chars(_params: CharsParams, rep: Reporter, _plan: PlanView) -> CheckFn:
    search = UNSAFE_CHARS.search

    def check(p: ParsedList, msg: SettlementList, out: list[Finding]) -> None:
        items: list[Node] = [msg.setlinfo]
        for node in LIST_NODES:
            items.extend(getattr(msg, node))
        # one search over all values of the list; field by field only when it hits
        every = chain.from_iterable([item.__dict__.values() for item in items])
        if search(" ".join(filter(None, every))) is None:
            return
        rows: list[tuple[str, int | None, Node]] = [("setlinfo", None, msg.setlinfo)]
        for node in LIST_NODES:
            rows.extend((node, i, item) for i, item in enumerate(getattr(msg, node)))
        for node, i, item in rows:
            for name, value in item.__dict__.items():
                if value is None or search(value) is None:
                    continue
                problem = char_problem(value)
                if problem is not None:
                    rep.emit(p, out, path_of(node, i, name), label(node, name), value, problem)

    return check


PRIMITIVES = (
    Primitive("required_fields", "必填字段", RequiredParams, _required),
    Primitive("value_domain", "字典值域", DomainParams, _domain),
    Primitive("field_format", "数值与日期格式", FormatParams, _format),
    Primitive("pattern", "编码格式（正则）", PatternParams, _pattern),
    Primitive("newborn_weight", "新生儿体重范围", WeightParams, _weight),
    Primitive("duration", "时长格式（天/时/分）", DurationParams, _duration),
    Primitive("field_length", "字段长度（接口规范）", LengthParams, _length),
    Primitive("field_chars", "字段字符（无控制字符）", CharsParams, _chars),
)
