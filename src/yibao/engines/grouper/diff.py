"""Compare two plans (``yibao plans diff A B``): groups, conditions, code lists, CC/MCC."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator, Mapping
from dataclasses import dataclass

from yibao.engines.grouper.conditions import AllOf, AnyOf, Condition, Not, Prim, describe
from yibao.engines.grouper.plan import Plan

_EXAMPLES = 8


@dataclass(frozen=True, slots=True)
class DrgRename:
    """A DRG whose Chinese name changed."""

    code: str
    name_a: str
    name_b: str


@dataclass(frozen=True, slots=True)
class ValueChange:
    """A code whose value (ADRG's MDC, DRG split, …) changed; ``None`` = absent."""

    code: str
    a: str | None
    b: str | None


@dataclass(frozen=True, slots=True)
class ConditionChange:
    """A condition whose structure or non-list parameters changed."""

    owner: str
    text_a: str
    text_b: str


@dataclass(frozen=True, slots=True)
class CodeSetChange:
    """Codes in / out of the list used by one primitive of one condition."""

    owner: str  # "ADRG BB1" / "MDC B 入组条件"
    test: str  # "principal_dx_in #1"
    list_a: str | None
    list_b: str | None
    added: tuple[str, ...]
    removed: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class CcChange:
    """A CC/MCC entry added, removed or changed (level or exclusion-table number)."""

    code: str
    level_a: str | None
    table_a: str | None
    level_b: str | None
    table_b: str | None


@dataclass(frozen=True, slots=True)
class PlanDiff:
    """Differences from plan ``a`` to plan ``b``; empty tuples where nothing changed."""

    plan_a: str
    plan_b: str
    drgs_added: tuple[tuple[str, str], ...]
    drgs_removed: tuple[tuple[str, str], ...]
    drgs_renamed: tuple[DrgRename, ...]
    drg_splits_changed: tuple[ValueChange, ...]
    adrgs_added: tuple[str, ...]
    adrgs_removed: tuple[str, ...]
    adrgs_moved: tuple[ValueChange, ...]
    adrg_order_changed: tuple[str, ...]
    conditions_changed: tuple[ConditionChange, ...]
    code_sets_changed: tuple[CodeSetChange, ...]
    cc_changes: tuple[CcChange, ...]
    exclusion_changes: tuple[ValueChange, ...]
    or_procedures_added: tuple[str, ...]
    or_procedures_removed: tuple[str, ...]

    @property
    def is_empty(self) -> bool:
        """True when the plans group every case alike as far as the data shows."""
        return not any(
            getattr(self, f.name)
            for f in dataclasses.fields(self)
            if f.name not in ("plan_a", "plan_b")
        )

    def to_text(self) -> str:
        """A Chinese summary with counts and the first examples of each change."""
        lines = [f"方案对比 {self.plan_a} → {self.plan_b}"]
        if self.is_empty:
            return lines[0] + "：无差异"
        _section(lines, "新增 DRG", [f"{c} {n}" for c, n in self.drgs_added])
        _section(lines, "删除 DRG", [f"{c} {n}" for c, n in self.drgs_removed])
        _section(
            lines, "DRG 更名", [f"{r.code}：{r.name_a} → {r.name_b}" for r in self.drgs_renamed]
        )
        _section(
            lines, "DRG 细分规则改变", [f"{v.code}：{v.a} → {v.b}" for v in self.drg_splits_changed]
        )
        _section(lines, "新增 ADRG", list(self.adrgs_added))
        _section(lines, "删除 ADRG", list(self.adrgs_removed))
        _section(
            lines, "ADRG 改属 MDC", [f"{v.code}：MDC{v.a} → MDC{v.b}" for v in self.adrgs_moved]
        )
        _section(lines, "ADRG 顺序改变的 MDC", [f"MDC{m}" for m in self.adrg_order_changed])
        _section(
            lines,
            "条件结构改变",
            [f"{c.owner}：{c.text_a} → {c.text_b}" for c in self.conditions_changed],
        )
        added = sum(len(c.added) for c in self.code_sets_changed)
        removed = sum(len(c.removed) for c in self.code_sets_changed)
        _section(
            lines,
            f"编码表改变（共移入 {added} 个、移出 {removed} 个编码）",
            [
                f"{c.owner} {c.test}（{c.list_a or '—'} → {c.list_b or '—'}）："
                f"+{len(c.added)} −{len(c.removed)}"
                + (f"，如移入 {'、'.join(c.added[:3])}" if c.added else "")
                + (f"，如移出 {'、'.join(c.removed[:3])}" if c.removed else "")
                for c in self.code_sets_changed
            ],
        )
        kinds: dict[str, list[str]] = {"新增": [], "删除": [], "级别改变": [], "排除表号改变": []}
        for ch in self.cc_changes:
            kind = _cc_kind(ch)
            old = f"{ch.level_a or '—'}/{ch.table_a or '—'}"
            new = f"{ch.level_b or '—'}/{ch.table_b or '—'}"
            kinds[kind].append(f"{ch.code}（{old} → {new}）")
        for kind, items in kinds.items():
            _section(lines, f"CC/MCC {kind}", items)
        _section(
            lines,
            "主要诊断排除表改变",
            [f"{v.code}：{v.a or '—'} → {v.b or '—'}" for v in self.exclusion_changes],
        )
        _section(lines, "新增手术室手术", list(self.or_procedures_added))
        _section(lines, "删除手术室手术", list(self.or_procedures_removed))
        return "\n".join(lines)


def _cc_kind(ch: CcChange) -> str:
    if ch.level_a is None:
        return "新增"
    if ch.level_b is None:
        return "删除"
    return "级别改变" if ch.level_a != ch.level_b else "排除表号改变"


def _section(lines: list[str], title: str, items: list[str]) -> None:
    if not items:
        return
    lines.append(f"{title}：{len(items)} 项")
    lines.extend(f"  {item}" for item in items[:_EXAMPLES])
    if len(items) > _EXAMPLES:
        lines.append(f"  …… 另 {len(items) - _EXAMPLES} 项")


# long: every kind of change is compared in one pass over the two plans
def diff_plans(a: Plan, b: Plan) -> PlanDiff:
    """Compare plan ``a`` (old) with plan ``b`` (new).

    Code lists are compared where they are used — per MDC entry / ADRG condition
    and per primitive (``principal_dx_in #1`` …) — so a list that is renamed or
    shared differently does not show up as a change unless its codes differ.
    """
    common = [code for code in a.adrgs if code in b.adrgs]
    conditions: list[ConditionChange] = []
    code_sets: list[CodeSetChange] = []
    owners = [
        (f"MDC {m} 入组条件", a.mdcs[m].entry, b.mdcs[m].entry) for m in a.mdcs if m in b.mdcs
    ]
    owners += [(f"ADRG {c}", a.adrgs[c].condition, b.adrgs[c].condition) for c in common]
    owners += [  # DRG splits written as conditions (regional plans)
        (f"DRG {c} 细分条件", cond_a, cond_b)
        for c in a.drgs
        if c in b.drgs
        and (cond_a := a.drgs[c].condition) is not None
        and (cond_b := b.drgs[c].condition) is not None
    ]
    for owner, cond_a, cond_b in owners:
        if _skeleton(cond_a) != _skeleton(cond_b):
            conditions.append(ConditionChange(owner, describe(cond_a), describe(cond_b)))
        code_sets.extend(_code_set_changes(owner, a, cond_a, b, cond_b))
    return PlanDiff(
        plan_a=a.id,
        plan_b=b.id,
        drgs_added=tuple((c, b.drgs[c].name) for c in b.drgs if c not in a.drgs),
        drgs_removed=tuple((c, a.drgs[c].name) for c in a.drgs if c not in b.drgs),
        drgs_renamed=tuple(
            DrgRename(c, a.drgs[c].name, b.drgs[c].name)
            for c in a.drgs
            if c in b.drgs and a.drgs[c].name != b.drgs[c].name
        ),
        drg_splits_changed=tuple(
            ValueChange(c, a.drgs[c].split, b.drgs[c].split)
            for c in a.drgs
            if c in b.drgs and a.drgs[c].split != b.drgs[c].split
        ),
        adrgs_added=tuple(c for c in b.adrgs if c not in a.adrgs),
        adrgs_removed=tuple(c for c in a.adrgs if c not in b.adrgs),
        adrgs_moved=tuple(
            ValueChange(c, a.adrgs[c].mdc, b.adrgs[c].mdc)
            for c in common
            if a.adrgs[c].mdc != b.adrgs[c].mdc
        ),
        adrg_order_changed=tuple(
            m for m in a.mdcs if m in b.mdcs and _order(a, m, b) != _order(b, m, a)
        ),
        conditions_changed=tuple(conditions),
        code_sets_changed=tuple(code_sets),
        cc_changes=_cc_changes(a, b),
        exclusion_changes=tuple(
            ValueChange(code, a.cc_exclusion.get(code), b.cc_exclusion.get(code))
            for code in sorted(set(a.cc_exclusion) | set(b.cc_exclusion))
            if a.cc_exclusion.get(code) != b.cc_exclusion.get(code)
        ),
        or_procedures_added=tuple(sorted(b.or_procedures - a.or_procedures)),
        or_procedures_removed=tuple(sorted(a.or_procedures - b.or_procedures)),
    )


def _order(p: Plan, letter: str, other: Plan) -> list[str]:
    """ADRG order of an MDC, restricted to ADRGs both plans have."""
    return [c for c in p.mdcs[letter].adrgs if c in other.adrgs]


def _skeleton(cond: Condition) -> str:
    """The condition without list names: structure and other parameters."""
    if isinstance(cond, Prim):
        return repr(dataclasses.replace(cond, list_name=None))
    if isinstance(cond, Not):
        return f"not({_skeleton(cond.arg)})"
    name = "all" if isinstance(cond, AllOf) else "any"
    assert isinstance(cond, AllOf | AnyOf)
    return f"{name}({','.join(_skeleton(x) for x in cond.args)})"


def _list_uses(cond: Condition) -> Iterator[tuple[str, str]]:
    """(``op #k``, list name) for each list-using primitive, numbered per op."""
    seen: dict[str, int] = {}
    stack = [cond]
    ordered: list[Prim] = []
    while stack:
        node = stack.pop()
        if isinstance(node, Prim):
            ordered.append(node)
        elif isinstance(node, Not):
            stack.append(node.arg)
        else:
            stack.extend(reversed(node.args))
    for prim in ordered:
        if prim.list_name is not None:
            seen[prim.op] = seen.get(prim.op, 0) + 1
            yield f"{prim.op} #{seen[prim.op]}", prim.list_name


def _code_set_changes(
    owner: str, a: Plan, cond_a: Condition, b: Plan, cond_b: Condition
) -> Iterator[CodeSetChange]:
    uses_a: Mapping[str, str] = dict(_list_uses(cond_a))
    uses_b: Mapping[str, str] = dict(_list_uses(cond_b))
    for test in [*uses_a, *(t for t in uses_b if t not in uses_a)]:
        name_a, name_b = uses_a.get(test), uses_b.get(test)
        codes_a = set(a.code_lists[name_a]) if name_a else set()
        codes_b = set(b.code_lists[name_b]) if name_b else set()
        if codes_a != codes_b:
            added, removed = sorted(codes_b - codes_a), sorted(codes_a - codes_b)
            yield CodeSetChange(owner, test, name_a, name_b, tuple(added), tuple(removed))


def _cc_changes(a: Plan, b: Plan) -> tuple[CcChange, ...]:
    out = []
    for code in sorted(set(a.cc_mcc) | set(b.cc_mcc)):
        ea, eb = a.cc_mcc.get(code), b.cc_mcc.get(code)
        if ea != eb:
            out.append(
                CcChange(
                    code,
                    ea.level if ea else None,
                    ea.table if ea else None,
                    eb.level if eb else None,
                    eb.table if eb else None,
                )
            )
    return tuple(out)
