"""Coding primitives: code validity and names against the plan's dictionaries,
principal diagnosis / procedure, sex-specific diagnoses, unsuitable principals."""

from __future__ import annotations

import difflib
from collections.abc import Mapping
from typing import Literal

from pydantic import field_validator, model_validator

from yibao.engines.qc.checks.base import (
    CheckFn,
    FieldRef,
    Params,
    PlanView,
    Primitive,
    Reporter,
    check_same_node,
    check_setl_only,
    is_type,
    principal_dx,
    values,
)
from yibao.engines.qc.findings import Finding
from yibao.engines.qc.intake import ParsedList
from yibao.engines.qc.schema import NODE_LABELS, SettlementList, label, parse_ref, path_of
from yibao.engines.qc.values import show

Dictionary = Literal["diagnosis", "procedure"]
_WHAT = {"diagnosis": "诊断", "procedure": "手术操作"}


def _tables(plan: PlanView, dictionary: str) -> tuple[Mapping[str, str], Mapping[str, str]]:
    if dictionary == "diagnosis":
        return plan.dx_map, plan.dx_names
    return plan.proc_map, plan.proc_names


def _type_ok(msg: SettlementList, node: str, i: int | None, diag_types: tuple[str, ...]) -> bool:
    """Only western diagnoses are coded in ICD-10 医保版 (TCM rows are skipped)."""
    return node != "diseinfo" or i is None or is_type(msg.diseinfo[i].diag_type, diag_types)


# --- code_valid --------------------------------------------------------------------


class CodeParams(Params):
    """Codes in ``fields`` must be input codes of the plan's diagnosis / procedure map."""

    dictionary: Dictionary
    fields: tuple[FieldRef, ...]
    dictionary_name: str
    diag_types: tuple[str, ...] = ("1",)


class _Nearest:
    """The valid codes closest to an unknown one (same first characters, then by
    similarity): a suggestion for the hospital's coder.  Built on first use."""

    def __init__(self, known: Mapping[str, str], names: Mapping[str, str]) -> None:
        self._known, self._names = known, names
        self._by_prefix: dict[str, list[str]] | None = None

    def __call__(self, code: str, limit: int = 3) -> list[tuple[str, str]]:
        if self._by_prefix is None:
            index: dict[str, list[str]] = {}
            for valid in self._known:
                for n in (1, 3):
                    index.setdefault(valid[:n].upper(), []).append(valid)
            self._by_prefix = index
        text = code.strip().upper()
        found: list[str] = []
        for n in (3, 1):
            pool = self._by_prefix.get(text[:n], [])
            found = difflib.get_close_matches(text, pool, n=limit * 4, cutoff=0.6)
            if found:
                break

        def rank(c: str) -> tuple[float, int, int, str]:
            same = sum(a == b for a, b in zip(text, c.upper(), strict=False))
            ratio = difflib.SequenceMatcher(None, text, c.upper()).ratio()
            return (-ratio, -same, abs(len(c) - len(text)), c)

        best = sorted(found, key=rank)[:limit]
        return [
            (c, self._names.get(c) or self._names.get(self._known.get(c, ""), "")) for c in best
        ]


def _code_valid(params: CodeParams, rep: Reporter, plan: PlanView) -> CheckFn:
    refs = [parse_ref(ref) for ref in params.fields]
    known, names = _tables(plan, params.dictionary)
    problem = (
        f"不在{params.dictionary_name}中（分组方案 {plan.id} 的{_WHAT[params.dictionary]}编码表）"
    )
    types = params.diag_types
    nearest = _Nearest(known, names)

    def check(p: ParsedList, msg: SettlementList, out: list[Finding]) -> None:
        for node, name in refs:
            for i, code in values(msg, node, name):
                if code is not None and code not in known and _type_ok(msg, node, i, types):
                    close = nearest(str(code))
                    text = problem
                    if close:
                        shown = "、".join(f"{c}（{n}）" if n else c for c, n in close)
                        text = f"{problem}；相近的有效编码：{shown}"
                    rep.emit(p, out, path_of(node, i, name), label(node, name), code, text)

    return check


# --- name_matches ------------------------------------------------------------------


class NameParams(Params):
    """A given name must equal the dictionary name of its code (or of the mapped code)."""

    dictionary: Dictionary
    pairs: tuple[tuple[FieldRef, FieldRef], ...]
    diag_types: tuple[str, ...] = ("1",)

    @model_validator(mode="after")
    def _same_node(self) -> NameParams:
        for code, name in self.pairs:
            check_same_node(code, name)
        return self


def _name_matches(params: NameParams, rep: Reporter, plan: PlanView) -> CheckFn:
    pairs = [(*parse_ref(c), parse_ref(n)[1]) for c, n in params.pairs]
    mapping, names = _tables(plan, params.dictionary)
    types = params.diag_types

    def check(p: ParsedList, msg: SettlementList, out: list[Finding]) -> None:
        for node, code_field, name_field in pairs:
            for i, code in values(msg, node, code_field):
                if code is None or not _type_ok(msg, node, i, types):
                    continue
                item = msg.setlinfo if i is None else getattr(msg, node)[i]
                given = getattr(item, name_field)
                if given is None:
                    continue
                own, mapped = names.get(code), names.get(mapping.get(code, ""))
                standard = own or mapped
                if standard is None or given in (own, mapped):
                    continue
                problem = f"与编码 {show(code)} 的标准名称 {show(standard)} 不一致"
                where = path_of(node, i, name_field)
                rep.emit(p, out, where, label(node, name_field), given, problem)

    return check


# --- one_principal_dx --------------------------------------------------------------


class PrincipalDxParams(Params):
    """Exactly one western diagnosis row with ``maindiag_flag`` = ``flag``."""

    diag_types: tuple[str, ...] = ("1",)
    flag: str = "1"


def _one_principal_dx(params: PrincipalDxParams, rep: Reporter, _plan: PlanView) -> CheckFn:
    types, flag = params.diag_types, params.flag

    def check(p: ParsedList, msg: SettlementList, out: list[Finding]) -> None:
        rows = [i for i, d in enumerate(msg.diseinfo) if is_type(d.diag_type, types)]
        if not rows:
            return
        flagged = [i for i in rows if msg.diseinfo[i].maindiag_flag == flag]
        if not flagged:
            problem = f"中没有主要诊断（须有一条 maindiag_flag = '{flag}' 的西医诊断）"
            rep.emit(p, out, "diseinfo", NODE_LABELS["diseinfo"], None, problem)
        for n, i in enumerate(flagged[1:], start=2):
            problem = f"是第 {n} 个主要诊断标志（主要诊断只能有一个）"
            where = path_of("diseinfo", i, "maindiag_flag")
            rep.emit(p, out, where, label("diseinfo", "maindiag_flag"), flag, problem)

    return check


# --- principal_proc ----------------------------------------------------------------


class PrincipalProcParams(Params):
    """When procedures exist, exactly one has ``oprn_oprt_type`` = ``main``."""

    main: str = "1"


def _principal_proc(params: PrincipalProcParams, rep: Reporter, _plan: PlanView) -> CheckFn:
    main = params.main

    def check(p: ParsedList, msg: SettlementList, out: list[Finding]) -> None:
        if not msg.oprninfo:
            return
        flagged = [i for i, o in enumerate(msg.oprninfo) if o.oprn_oprt_type == main]
        if not flagged:
            problem = f"有 {len(msg.oprninfo)} 条但没有主要手术操作（oprn_oprt_type = '{main}'）"
            rep.emit(p, out, "oprninfo", NODE_LABELS["oprninfo"], None, problem)
        for i in flagged[1:]:
            where = path_of("oprninfo", i, "oprn_oprt_type")
            problem = "重复标记为主要手术操作（只能有一个）"
            rep.emit(p, out, where, label("oprninfo", "oprn_oprt_type"), main, problem)

    return check


# --- sex_dx ------------------------------------------------------------------------


class SexDxParams(Params):
    """Codes only in ``male_lists`` need sex ``male``; only in ``female_lists``, ``female``
    (plan code-list names, e.g. ``MDCM.dx``; codes after mapping)."""

    male_lists: tuple[str, ...]
    female_lists: tuple[str, ...]
    male: str = "1"
    female: str = "2"
    scope: Literal["principal", "all"] = "principal"
    diag_types: tuple[str, ...] = ("1",)


def _sex_dx(params: SexDxParams, rep: Reporter, plan: PlanView) -> CheckFn:
    for name in (*params.male_lists, *params.female_lists):
        if name not in plan.code_lists:
            raise ValueError(f"分组方案 {plan.id} 中没有编码表 {name}")
    male = {c for n in params.male_lists for c in plan.code_lists[n]}
    female = {c for n in params.female_lists for c in plan.code_lists[n]}
    only = {params.female: frozenset(male - female), params.male: frozenset(female - male)}
    source = {params.female: params.male_lists, params.male: params.female_lists}
    words = {params.female: ("男性", "女"), params.male: ("女性", "男")}
    dx_map, types = plan.dx_map, params.diag_types

    def check(p: ParsedList, msg: SettlementList, out: list[Finding]) -> None:
        sex = msg.setlinfo.gend
        wrong = only.get(sex or "")
        if not wrong:
            return
        if params.scope == "principal":
            found = principal_dx(msg, types)
            rows = [found] if found else []
        else:
            rows = [(i, d.diag_code) for i, d in enumerate(msg.diseinfo) if d.diag_code]
        for i, code in rows:
            if dx_map.get(code, code) in wrong and is_type(msg.diseinfo[i].diag_type, types):
                who, sex_name = words[sex or ""]
                lists = "、".join(source[sex or ""])
                problem = (
                    f"为{who}专用诊断（分组方案 {plan.id} {lists}），"
                    f"与性别 setlinfo.gend = '{sex}'（{sex_name}）不符"
                )
                where = path_of("diseinfo", i, "diag_code")
                rep.emit(p, out, where, label("diseinfo", "diag_code"), code, problem)

    return check


# --- principal_dx_prefix -----------------------------------------------------------


class PrefixParams(Params):
    """The principal diagnosis must not start with one of ``prefixes``."""

    prefixes: tuple[str, ...]
    reason: str
    diag_types: tuple[str, ...] = ("1",)

    @field_validator("prefixes")
    @classmethod
    def _non_empty(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        if not value or not all(value):
            raise ValueError("prefixes 不能为空，也不能含空字符串")
        return value


def _principal_prefix(params: PrefixParams, rep: Reporter, _plan: PlanView) -> CheckFn:
    prefixes, types = params.prefixes, params.diag_types
    problem = f"不宜作为主要诊断（{params.reason}）"

    def check(p: ParsedList, msg: SettlementList, out: list[Finding]) -> None:
        found = principal_dx(msg, types)
        if found and found[1].startswith(prefixes):
            where = path_of("diseinfo", found[0], "diag_code")
            rep.emit(p, out, where, label("diseinfo", "diag_code"), found[1], problem)

    return check


# --- duplicate_codes / code_counts -------------------------------------------------


class DuplicateParams(Params):
    """A code may appear only once per list node."""

    fields: tuple[FieldRef, ...]


def _duplicates(params: DuplicateParams, rep: Reporter, _plan: PlanView) -> CheckFn:
    refs = [parse_ref(ref) for ref in params.fields]

    def check(p: ParsedList, msg: SettlementList, out: list[Finding]) -> None:
        for node, name in refs:
            seen: dict[str, int | None] = {}
            for i, code in values(msg, node, name):
                if code is None:
                    continue
                if code in seen:
                    problem = f"与 {path_of(node, seen[code], name)} 重复"
                    rep.emit(p, out, path_of(node, i, name), label(node, name), code, problem)
                else:
                    seen[code] = i

    return check


class CountParams(Params):
    """``counts``: setlinfo count field → the list node it counts."""

    counts: dict[FieldRef, str]

    @field_validator("counts")
    @classmethod
    def _nodes(cls, value: dict[str, str]) -> dict[str, str]:
        check_setl_only(list(value), "counts")
        for node in value.values():
            if node not in NODE_LABELS or node == "setlinfo":
                raise ValueError(f"counts 的值须为列表节点（收到 {node}）")
        return value


def _counts(params: CountParams, rep: Reporter, _plan: PlanView) -> CheckFn:
    pairs = [(parse_ref(ref)[1], node) for ref, node in params.counts.items()]

    def check(p: ParsedList, msg: SettlementList, out: list[Finding]) -> None:
        for name, node in pairs:
            value = getattr(msg.setlinfo, name)
            have = len(getattr(msg, node))
            if value is not None and value.isascii() and value.isdigit() and int(value) != have:
                problem = f"与实际 {have} 条{NODE_LABELS[node]}不符"
                rep.emit(p, out, "setlinfo." + name, label("setlinfo", name), value, problem)

    return check


PRIMITIVES = (
    Primitive("code_valid", "编码有效性", CodeParams, _code_valid),
    Primitive("name_matches", "名称与编码一致", NameParams, _name_matches),
    Primitive("one_principal_dx", "主要诊断唯一", PrincipalDxParams, _one_principal_dx),
    Primitive("principal_proc", "主要手术操作", PrincipalProcParams, _principal_proc),
    Primitive("sex_dx", "性别与诊断相符", SexDxParams, _sex_dx),
    Primitive("principal_dx_prefix", "主要诊断不宜编码", PrefixParams, _principal_prefix),
    Primitive("duplicate_codes", "编码重复", DuplicateParams, _duplicates),
    Primitive("code_counts", "编码计数一致", CountParams, _counts),
)
