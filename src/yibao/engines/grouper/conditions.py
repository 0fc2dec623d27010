"""Conditions of a grouping plan: typed nodes, validation, normal form, description.

A plan writes every MDC entry and ADRG rule as a small JSON tree (see the plan
README, "Conditions"): ``all`` / ``any`` / ``not`` over primitives such as
``principal_dx_in``.  :func:`parse_condition` turns the JSON into frozen nodes and
checks every primitive and every name it refers to; :func:`to_dnf` rewrites a tree
as an OR of AND-terms of (possibly negated) primitives, which is what the compiler
indexes.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any, TypeAlias

from yibao.engines.grouper.errors import PlanError


@dataclass(frozen=True, slots=True)
class Prim:
    """One primitive test; unused parameters are ``None``."""

    op: str
    list_name: str | None = None
    value: int | None = None
    ge: int | None = None
    lt: int | None = None
    table: str | None = None
    tag: str | None = None
    sites: str | None = None
    min_count: int | None = None
    gt: int | None = None
    le: int | None = None
    eq: int | None = None
    field: str | None = None
    values: tuple[str, ...] | None = None


@dataclass(frozen=True, slots=True)
class AllOf:
    """True when every argument is true."""

    args: tuple[Condition, ...]


@dataclass(frozen=True, slots=True)
class AnyOf:
    """True when at least one argument is true."""

    args: tuple[Condition, ...]


@dataclass(frozen=True, slots=True)
class Not:
    """Negation of its argument."""

    arg: Condition


Condition: TypeAlias = "Prim | AllOf | AnyOf | Not"
#: A literal of the normal form: a primitive and whether it must be true (or false).
Literal: TypeAlias = tuple[Prim, bool]
_Fail: TypeAlias = Callable[[str, str, str], PlanError]

#: primitive → (required parameters, optional parameters), each JSON key → kind, where
#: kind is "list" (code list name), "int", "tag_table", "tag", "sites", "range_field",
#: "text_field" or "texts".  The regional additions (PLAN-FORMAT-ADDITIONS.md §2) follow "true".
PRIMITIVES: Mapping[str, tuple[Mapping[str, str], Mapping[str, str]]] = {
    "true": ({}, {}),
    "principal_dx_in": ({"list": "list"}, {}),
    "any_dx_in": ({"list": "list"}, {}),
    "principal_proc_in": ({"list": "list"}, {}),
    "any_proc_in": ({"list": "list"}, {}),
    "principal_proc_is_or": ({}, {}),
    "any_proc_is_or": ({}, {}),
    "no_or_proc": ({}, {}),
    "sex_is": ({"value": "int"}, {}),
    "age_years_eq": ({"value": "int"}, {}),
    "age_days_le": ({"value": "int"}, {}),
    "birth_weight_range": ({}, {"ge": "int", "lt": "int"}),
    "proc_tag_present": ({"table": "tag_table", "tag": "tag"}, {}),
    "trauma_site_count_ge": ({"sites": "sites", "min": "int"}, {}),
    "false": ({}, {}),
    "has_procedure": ({}, {}),
    "has_mcc": ({}, {}),
    "has_cc": ({}, {}),
    "secondary_dx_in": ({"list": "list"}, {}),
    "secondary_proc_in": ({"list": "list"}, {}),
    "field_range": (
        {"field": "range_field"},
        {"ge": "int", "gt": "int", "le": "int", "lt": "int", "eq": "int"},
    ),
    "field_in": ({"field": "text_field", "values": "texts"}, {}),
}
#: fields ``field_range`` reads (integers) and ``field_in`` reads (texts)
RANGE_FIELDS = ("age_years", "age_days", "birth_weight_g", "los_days", "icu_hours")
TEXT_FIELDS = ("dept", "discharge_type")
_FIELD_ZH = {
    "age_years": "年龄（岁）",
    "age_days": "日龄（天）",
    "birth_weight_g": "出生体重（克）",
    "los_days": "住院天数",
    "icu_hours": "重症监护时长（小时）",
    "dept": "科室",
    "discharge_type": "离院方式",
}

_FIELD = {"list": "list_name", "min": "min_count"}
_MAX_TERMS = 4096


@dataclass(frozen=True, slots=True)
class ConditionContext:
    """What a condition may refer to, and where it sits (for error messages)."""

    plan_id: str
    code_lists: Mapping[str, object]
    tag_tables: Mapping[str, object]
    trauma_sites: Mapping[str, object]


def parse_condition(raw: Any, ctx: ConditionContext, where: str, owner_zh: str) -> Condition:
    """Parse and validate one condition tree.

    ``where`` is the JSON path (``adrgs.BB1.condition``) and ``owner_zh`` the Chinese
    name of its owner (``ADRG BB1 的条件``); both end up in a :class:`PlanError`.
    """

    def fail(path: str, zh: str, en: str) -> PlanError:
        return PlanError(ctx.plan_id, path, f"{owner_zh}{zh}", en)

    if not isinstance(raw, dict):
        raise fail(where, "不是 JSON 对象", "a condition must be a JSON object")
    op = raw.get("op")
    if not isinstance(op, str):
        raise fail(f"{where}.op", "缺少条件类型 op", "missing condition op")
    if op in ("all", "any"):
        args = raw.get("args")
        if not isinstance(args, list) or not args:
            raise fail(
                f"{where}.args", f"中 {op} 缺少参数列表 args", f'"{op}" needs a non-empty "args"'
            )
        _no_extra(raw, {"op", "args"}, where, fail)
        parsed = tuple(
            parse_condition(a, ctx, f"{where}.args[{i}]", owner_zh) for i, a in enumerate(args)
        )
        return AllOf(parsed) if op == "all" else AnyOf(parsed)
    if op == "not":
        if "arg" not in raw:
            raise fail(f"{where}.arg", "中 not 缺少参数 arg", '"not" needs "arg"')
        _no_extra(raw, {"op", "arg"}, where, fail)
        return Not(parse_condition(raw["arg"], ctx, f"{where}.arg", owner_zh))
    spec = PRIMITIVES.get(op)
    if spec is None:
        raise fail(f"{where}.op", f'使用了未知的条件类型 "{op}"', f'unknown condition op "{op}"')
    required, optional = spec
    _no_extra(raw, {"op", *required, *optional}, where, fail)
    values: dict[str, Any] = {}
    for key, kind in {**required, **optional}.items():
        if key not in raw:
            if key in required:
                raise fail(
                    f"{where}.{key}",
                    f'中 "{op}" 缺少参数 "{key}"',
                    f'op "{op}" needs parameter "{key}"',
                )
            continue
        values[_FIELD.get(key, key)] = _check_param(raw[key], kind, key, op, ctx, where, fail)
    prim = Prim(op=op, **values)
    _check_prim_values(prim, where, fail)
    return prim


def _no_extra(raw: Mapping[str, Any], allowed: set[str], where: str, fail: _Fail) -> None:
    extra = sorted(set(raw) - allowed)
    if extra:
        raise fail(
            f"{where}.{extra[0]}", f'含有未知参数 "{extra[0]}"', f'unknown parameter "{extra[0]}"'
        )


def _check_param(
    value: Any, kind: str, key: str, op: str, ctx: ConditionContext, where: str, fail: _Fail
) -> Any:
    path = f"{where}.{key}"
    if kind == "texts":
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            raise fail(path, f'中 "{op}" 的参数 "{key}" 应为字符串数组', f'"{key}" must be strings')
        return tuple(value)
    if kind == "int":
        if isinstance(value, bool) or not isinstance(value, int):
            raise fail(path, f'中 "{op}" 的参数 "{key}" 应为整数', f'"{key}" must be an integer')
        return value
    if not isinstance(value, str):
        raise fail(path, f'中 "{op}" 的参数 "{key}" 应为字符串', f'"{key}" must be a string')
    if kind == "list" and value not in ctx.code_lists:
        raise fail(path, f'引用了不存在的编码表 "{value}"', f'unknown code list "{value}"')
    if kind == "tag_table" and value not in ctx.tag_tables:
        raise fail(path, f'引用了不存在的手术标签表 "{value}"', f'unknown proc tag table "{value}"')
    fields = {"range_field": RANGE_FIELDS, "text_field": TEXT_FIELDS}.get(kind)
    if fields is not None and value not in fields:
        raise fail(path, f'中 "{op}" 的字段 "{value}" 未知', f'"{key}" must be one of {fields}')
    if kind == "sites" and value not in ctx.trauma_sites:
        raise fail(
            path,
            f'引用了不存在的创伤部位表 "{value}"',
            f'unknown trauma site table "{value}"',
        )
    return value


def _check_prim_values(prim: Prim, where: str, fail: _Fail) -> None:
    if prim.op == "sex_is" and prim.value not in (1, 2):
        raise fail(f"{where}.value", "中 sex_is 的取值应为 1 或 2", "sex_is value must be 1 or 2")
    if prim.op == "birth_weight_range" and prim.ge is None and prim.lt is None:
        raise fail(
            where,
            "中 birth_weight_range 至少需要 ge 或 lt",
            "birth_weight_range needs ge and/or lt",
        )
    if prim.op == "field_range" and all(
        b is None for b in (prim.ge, prim.gt, prim.le, prim.lt, prim.eq)
    ):
        raise fail(where, "中 field_range 至少需要一个界限", "field_range needs a bound")
    if prim.op == "trauma_site_count_ge" and (prim.min_count is None or prim.min_count < 1):
        raise fail(f"{where}.min", "中 trauma_site_count_ge 的 min 应 ≥ 1", "min must be ≥ 1")


def to_dnf(cond: Condition, positive: bool = True) -> list[frozenset[Literal]]:
    """Rewrite ``cond`` (or its negation) as a list of AND-terms of literals.

    The condition is true when at least one term has all its literals true.  An
    empty term is always true; an empty list is always false.  ``true`` literals are
    dropped.  Raises ``ValueError`` when the form would exceed 4,096 terms.
    """
    if isinstance(cond, Prim):
        if cond.op in ("true", "false"):
            return [frozenset()] if positive == (cond.op == "true") else []
        return [frozenset({(cond, positive)})]
    if isinstance(cond, Not):
        return to_dnf(cond.arg, not positive)
    conjunction = isinstance(cond, AllOf) == positive
    if conjunction:
        terms: list[frozenset[Literal]] = [frozenset()]
        for arg in cond.args:
            sub = to_dnf(arg, positive)
            terms = _dedup([t | s for t in terms for s in sub])
            if len(terms) > _MAX_TERMS:
                raise ValueError("condition too large for normal form")
        return terms
    out: list[frozenset[Literal]] = []
    for arg in cond.args:
        out.extend(to_dnf(arg, positive))
        if len(out) > _MAX_TERMS:
            raise ValueError("condition too large for normal form")
    return _dedup(out)


def _dedup(terms: list[frozenset[Literal]]) -> list[frozenset[Literal]]:
    seen: set[frozenset[Literal]] = set()
    out = []
    for t in terms:
        if t not in seen:
            seen.add(t)
            out.append(t)
    return out


def iter_prims(cond: Condition, path: str = "condition") -> Iterator[tuple[str, Prim]]:
    """Yield ``(json_path, primitive)`` for every primitive of ``cond`` in order."""
    if isinstance(cond, Prim):
        yield path, cond
    elif isinstance(cond, Not):
        yield from iter_prims(cond.arg, f"{path}.arg")
    else:
        for i, arg in enumerate(cond.args):
            yield from iter_prims(arg, f"{path}.args[{i}]")


def shape(cond: Condition) -> str:
    """The structure of ``cond`` without list names (``all(principal_dx_in,…)``)."""
    if isinstance(cond, Prim):
        return cond.op
    if isinstance(cond, Not):
        return f"not({shape(cond.arg)})"
    name = "all" if isinstance(cond, AllOf) else "any"
    return f"{name}({','.join(shape(a) for a in cond.args)})"


def describe_prim(prim: Prim) -> str:
    """Chinese text of one primitive, e.g. ``主要诊断属于 BB1.dx``."""
    op = prim.op
    texts = {
        "true": "无条件",
        "principal_dx_in": f"主要诊断属于 {prim.list_name}",
        "any_dx_in": f"任一诊断属于 {prim.list_name}",
        "principal_proc_in": f"主要手术操作属于 {prim.list_name}",
        "any_proc_in": f"任一手术操作属于 {prim.list_name}",
        "principal_proc_is_or": "主要手术操作为手术室手术",
        "any_proc_is_or": "有手术室手术",
        "no_or_proc": "无手术室手术",
        "sex_is": f"性别为 {prim.value}（{'男' if prim.value == 1 else '女'}）",
        "age_years_eq": f"年龄 = {prim.value} 岁",
        "age_days_le": f"日龄 ≤ {prim.value} 天",
        "proc_tag_present": f"有 {prim.table} 标签 {prim.tag} 的手术操作",
        "trauma_site_count_ge": f"创伤部位（{prim.sites}）≥ {prim.min_count} 个",
        "false": "永不成立",
        "has_procedure": "有手术操作",
        "has_mcc": "有有效 MCC",
        "has_cc": "有有效 CC",
        "secondary_dx_in": f"其他诊断属于 {prim.list_name}",
        "secondary_proc_in": f"其他手术操作属于 {prim.list_name}",
        "field_in": f"{_FIELD_ZH.get(prim.field or '', prim.field)}为 "
        + "、".join(prim.values or ()),
    }
    if op == "field_range":
        return f"{_FIELD_ZH.get(prim.field or '', prim.field)} {range_text(prim)}"
    if op == "birth_weight_range":
        parts = []
        if prim.ge is not None:
            parts.append(f"≥ {prim.ge} g")
        if prim.lt is not None:
            parts.append(f"< {prim.lt} g")
        return "出生体重 " + " 且 ".join(parts)
    return texts[op]


def range_text(prim: Prim) -> str:
    """The bounds of a ``field_range`` primitive, e.g. ``≥ 1 且 ≤ 120``."""
    signs = (("ge", "≥"), ("gt", ">"), ("le", "≤"), ("lt", "<"), ("eq", "="))
    parts = [
        f"{sign} {getattr(prim, key)}" for key, sign in signs if getattr(prim, key) is not None
    ]
    return " 且 ".join(parts)


def in_range(prim: Prim, value: int | None) -> bool:
    """Reference semantics of ``field_range``: the value is given and within every bound."""
    return (
        value is not None
        and (prim.ge is None or value >= prim.ge)
        and (prim.gt is None or value > prim.gt)
        and (prim.le is None or value <= prim.le)
        and (prim.lt is None or value < prim.lt)
        and (prim.eq is None or value == prim.eq)
    )


def describe(cond: Condition) -> str:
    """Chinese text of a whole condition tree."""
    if isinstance(cond, Prim):
        return describe_prim(cond)
    if isinstance(cond, Not):
        return f"并非（{describe(cond.arg)}）"
    joiner = " 且 " if isinstance(cond, AllOf) else " 或 "
    inner = joiner.join(describe(a) for a in cond.args)
    return f"（{inner}）" if len(cond.args) > 1 else inner
