"""What every check primitive shares: parameters, the plan view, the reporter.

A *primitive* is a generic check (``required_fields``, ``value_domain``,
``code_valid`` …).  A rule of a rule set names one primitive and gives it
parameters; :func:`Primitive.build` turns (parameters, reporter, plan) into a
:data:`CheckFn` once, and the engine calls that function for every list.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from datetime import date, datetime, time
from typing import Annotated, Any, Final

from pydantic import AfterValidator, BaseModel, ConfigDict

from yibao.engines.grouper import CompiledPlan, Plan
from yibao.engines.qc.findings import Finding, Severity
from yibao.engines.qc.intake import ParsedList
from yibao.engines.qc.schema import FIELD_KINDS, LIST_NODES, Node, SettlementList, parse_ref
from yibao.engines.qc.values import is_bare_date, safe_value, show, to_date, to_datetime

#: check function: (parsed list, its message, findings to append to)
CheckFn = Callable[[ParsedList, SettlementList, list[Finding]], None]


def _ref(value: str) -> str:
    parse_ref(value)
    return value


#: a field reference ``setlinfo.gend`` / ``diseinfo[].diag_code``, checked on load
FieldRef = Annotated[str, AfterValidator(_ref)]


class Params(BaseModel):
    """Base of the primitives' parameter models: immutable, unknown keys rejected."""

    model_config = ConfigDict(frozen=True, extra="forbid")


@dataclass(frozen=True, slots=True)
class PlanView:
    """The parts of a grouping plan the QC rules read (dictionaries and code lists)."""

    id: str
    dx_map: Mapping[str, str]
    dx_names: Mapping[str, str]
    proc_map: Mapping[str, str]
    proc_names: Mapping[str, str]
    code_lists: Mapping[str, tuple[str, ...]]
    newborn_max_age_days: int

    @classmethod
    def of(cls, plan: CompiledPlan | Plan) -> PlanView:
        """View of a compiled or a loaded plan."""
        p = plan.plan if isinstance(plan, CompiledPlan) else plan
        return cls(
            p.id,
            p.dx_map,
            p.dx_names,
            p.proc_map,
            p.proc_names,
            p.code_lists,
            p.newborn_max_age_days,
        )


class Reporter:
    """Builds the findings of one rule.

    Message shape: ``<字段> <路径> = '<值>' <问题>（规则 <id> <名称>）：<建议>``.  The
    value is escaped and cut in the message (:func:`~yibao.engines.qc.values.show`)
    and in the finding (:func:`~yibao.engines.qc.values.safe_value`).
    """

    __slots__ = ("advice", "kind", "name", "rule_id", "severity")

    def __init__(self, rule_id: str, name: str, kind: str, severity: Severity, advice: str) -> None:
        self.rule_id = rule_id
        self.name = name
        self.kind = kind
        self.severity: Severity = severity
        self.advice = advice

    def emit(
        self,
        p: ParsedList,
        out: list[Finding],
        path: str,
        label: str,
        value: str | None,
        problem: str,
    ) -> None:
        """Append one finding (unless ``path`` was already reported as a wrong type)."""
        if p.bad_paths and _is_bad(p.bad_paths, path):
            return
        shown = f"{label} {path}" if value is None else f"{label} {path} = {show(value)}"
        message = f"{shown} {problem}（规则 {self.rule_id} {self.name}）"
        if self.advice:
            message += f"：{self.advice}"
        kept = safe_value(value)  # escaped and cut: safe to store and show
        out.append(Finding(self.rule_id, self.severity, path, kept, message, self.kind))


def _is_bad(bad: set[str], path: str) -> bool:
    head = path.split(".", 1)[0]
    return path in bad or head in bad or head.split("[", 1)[0] in bad


@dataclass(frozen=True, slots=True)
class Primitive:
    """A generic check: its parameter model and the builder of its check function."""

    name: str
    title: str
    params: type[Params]
    build: Callable[[Any, Reporter, PlanView], CheckFn]


def split_refs(refs: tuple[str, ...] | list[str]) -> tuple[list[str], dict[str, list[str]]]:
    """References → (setlinfo fields, {list node: fields}) in the given order."""
    setl: list[str] = []
    items: dict[str, list[str]] = {}
    for ref in refs:
        node, name = parse_ref(ref)
        if node == "setlinfo":
            setl.append(name)
        else:
            items.setdefault(node, []).append(name)
    return setl, items


def values(msg: SettlementList, node: str, name: str) -> Iterator[tuple[int | None, str | None]]:
    """(index, value) of ``node.name`` in a message; index ``None`` for setlinfo."""
    if node == "setlinfo":
        yield None, getattr(msg.setlinfo, name)
        return
    items: list[Node] = getattr(msg, node)
    for i, item in enumerate(items):
        yield i, getattr(item, name)


def setl_time(p: ParsedList, msg: SettlementList, name: str) -> datetime | date | None:
    """A ``setlinfo`` date or date-time field, parsed once per list (cached)."""
    cache = p.cache
    if name in cache:
        return cache[name]  # type: ignore[no-any-return]
    text = getattr(msg.setlinfo, name)
    value = to_date(text) if FIELD_KINDS["setlinfo"][name] == "date" else to_datetime(text)
    cache[name] = value
    return value


def stay(p: ParsedList, msg: SettlementList) -> tuple[datetime | None, datetime | None]:
    """(admission, discharge) times of a list (naive business time), cached.

    A discharge written as a date only (``2024-03-08``) is the end of that day: the
    operations, anaesthesia and intensive care of the discharge day lie in the stay.
    """
    adm, dscg = setl_time(p, msg, "adm_time"), setl_time(p, msg, "dscg_time")
    if isinstance(dscg, datetime) and is_bare_date(msg.setlinfo.dscg_time):
        dscg = datetime.combine(dscg.date(), time.max)
    return adm, dscg  # type: ignore[return-value]


def principal_dx(msg: SettlementList, diag_types: tuple[str, ...]) -> tuple[int, str] | None:
    """(index, code) of the first western diagnosis flagged principal, if any."""
    for i, d in enumerate(msg.diseinfo):
        if d.maindiag_flag == "1" and d.diag_code is not None and is_type(d.diag_type, diag_types):
            return i, d.diag_code
    return None


def is_type(diag_type: str | None, diag_types: tuple[str, ...]) -> bool:
    """A diagnosis row counts when its type is listed (a missing type counts as western)."""
    return diag_type is None or diag_type in diag_types


def check_setl_only(refs: tuple[str, ...] | list[str], where: str) -> None:
    """Raise (Chinese) unless every reference is a ``setlinfo`` field."""
    for ref in refs:
        if parse_ref(ref)[0] != "setlinfo":
            raise ValueError(f"{where} 只能引用 setlinfo 字段（收到 {ref}）")


def check_same_node(a: str, b: str) -> None:
    """Raise (Chinese) unless two references are in the same node."""
    if parse_ref(a)[0] != parse_ref(b)[0]:
        raise ValueError(f"字段 {a} 与 {b} 须在同一节点中")


LIST_NODE_SET: Final = frozenset(LIST_NODES)
