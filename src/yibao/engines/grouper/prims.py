"""Single-case tests of the compiled plan: one closure per primitive, condition or split.

A closure takes the case context ``Ctx`` built by :func:`group_one`: ``(sex,
age_years, age_days, birth_weight_g, diagnosis records, procedure records, get)``
where ``get(field)`` reads any other input field (``los_days``, ``icu_hours``,
``dept``, ``discharge_type``) only when a test needs it.  The traced interpreter
(:mod:`yibao.engines.grouper.trace`) is the reference these closures must agree with.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any, TypeAlias

from yibao.engines.grouper.conditions import AllOf, AnyOf, Condition, Not, Prim, in_range
from yibao.engines.grouper.errors import PlanError
from yibao.engines.grouper.inputs import as_int, as_text

if TYPE_CHECKING:
    from yibao.engines.grouper.compiler import CompiledPlan

#: input dx code → (grouper code, term bitset, CC level 0/1 CC/2 MCC, CC table id, CCE table id,
#: bitset of the "any" literals the code satisfies)
DxRec: TypeAlias = tuple[str, int, int, int, int, int]
#: input proc code → (grouper code, term bitset, "any"-literal bitset)
PxRec: TypeAlias = tuple[str, int, int]
#: (sex, age_years, age_days, birth_weight_g, diagnosis records, procedure records, get)
Ctx: TypeAlias = tuple[
    int | None, int | None, int | None, int | None, list[DxRec], list[PxRec], Callable[[str], Any]
]
LitFn: TypeAlias = Callable[[Ctx], bool]

OR_KEY = "@or_procedures"
#: CC state bits: a valid CC (MCCs do not count) / a valid MCC
HAS_CC, HAS_MCC = 1, 2
#: split kind → is it true for CC state 0 (none), 1 (CC only), 2 (MCC only), 3 (both)?
SPLIT_STATES: Mapping[str, tuple[bool, bool, bool, bool]] = {
    "always": (True, True, True, True),
    "cc_or_mcc": (False, True, True, True),
    "mcc": (False, False, True, True),
    "cc": (False, True, False, True),
}
#: ``field_range`` fields already in the context (the others are read with ``get``)
_CTX_FIELD = {"age_years": 1, "age_days": 2, "birth_weight_g": 3}


def cc_state(recs: list[DxRec]) -> int:
    """``HAS_CC | HAS_MCC`` bits of the valid complications among D[1:] (plan README "CC / MCC")."""
    state = 0
    if len(recs) > 1:
        exclusion = recs[0][4]
        for rec in recs[1:]:
            level = rec[2]
            if level and rec[3] != exclusion:
                state |= level  # level 1 = CC = HAS_CC, 2 = MCC = HAS_MCC
                if state == 3:
                    break
    return state


def mcc_first_state(recs: list[DxRec]) -> int:
    """:func:`cc_state`, but stops at the first valid MCC (``HAS_MCC``, CC bit unknown).

    Enough to pick a DRG when no split tells "MCC only" from "MCC and CC" (no ``cc``
    split): the single-case path then saves the rest of the scan.
    """
    state = 0
    if len(recs) > 1:
        exclusion = recs[0][4]
        for rec in recs[1:]:
            level = rec[2]
            if level and rec[3] != exclusion:
                if level & HAS_MCC:
                    return HAS_MCC
                state = HAS_CC
    return state


def literal_fn(c: CompiledPlan, prim: Prim, positive: bool) -> LitFn:
    """The test of one literal (a primitive, possibly negated)."""
    fn = prim_fn(c, prim)
    if positive:
        return fn
    return lambda ctx: not fn(ctx)


def cond_fn(c: CompiledPlan, cond: Condition) -> LitFn:
    """The test of a whole condition tree (used for DRG splits given as conditions)."""
    if isinstance(cond, Prim):
        return prim_fn(c, cond)
    if isinstance(cond, Not):
        inner = cond_fn(c, cond.arg)
        return lambda ctx: not inner(ctx)
    fns = tuple(cond_fn(c, a) for a in cond.args)
    if isinstance(cond, AllOf):
        return lambda ctx: all(f(ctx) for f in fns)
    assert isinstance(cond, AnyOf)
    return lambda ctx: any(f(ctx) for f in fns)


# long: one branch per primitive of the plan language, each a one-line closure
def prim_fn(c: CompiledPlan, prim: Prim) -> LitFn:
    """The test of one primitive (plan README "Conditions" and additions §2)."""
    op, v = prim.op, prim.value
    members = c.list_sets.get(prim.list_name or "", frozenset())
    or_set = c.list_sets[OR_KEY]
    if op in ("true", "false"):
        return (lambda ctx: True) if op == "true" else (lambda ctx: False)
    if op == "principal_dx_in":
        return lambda ctx: ctx[4][0][0] in members
    if op == "any_dx_in":
        return lambda ctx: any(r[0] in members for r in ctx[4])
    if op == "secondary_dx_in":
        return lambda ctx: any(r[0] in members for r in ctx[4][1:])
    if op == "principal_proc_in":
        return lambda ctx: bool(ctx[5]) and ctx[5][0][0] in members
    if op == "any_proc_in":
        return lambda ctx: any(r[0] in members for r in ctx[5])
    if op == "secondary_proc_in":
        return lambda ctx: any(r[0] in members for r in ctx[5][1:])
    if op == "has_procedure":
        return lambda ctx: bool(ctx[5])
    if op == "principal_proc_is_or":
        return lambda ctx: bool(ctx[5]) and ctx[5][0][0] in or_set
    if op == "any_proc_is_or":
        return lambda ctx: any(r[0] in or_set for r in ctx[5])
    if op == "no_or_proc":
        return lambda ctx: not any(r[0] in or_set for r in ctx[5])
    if op == "has_mcc":
        return lambda ctx: bool(cc_state(ctx[4]) & HAS_MCC)
    if op == "has_cc":
        return lambda ctx: bool(cc_state(ctx[4]) & HAS_CC)
    if op == "sex_is":
        return lambda ctx: ctx[0] == v
    if op == "age_years_eq":
        return lambda ctx: ctx[1] is not None and ctx[1] == v
    if op == "age_days_le":
        return lambda ctx: ctx[2] is not None and v is not None and ctx[2] <= v
    if op == "birth_weight_range":
        ge, lt = prim.ge, prim.lt
        return lambda ctx: (
            ctx[3] is not None
            and ctx[3] != 0
            and (ge is None or ctx[3] >= ge)
            and (lt is None or ctx[3] < lt)
        )
    if op == "field_range":
        return _range_fn(prim)
    if op == "field_in":
        name, values = prim.field or "", frozenset(prim.values or ())
        return lambda ctx: as_text(ctx[6](name)) in values
    if op == "proc_tag_present":
        tags: Mapping[str, str] = c.tag_maps[prim.table or ""]
        tag = prim.tag
        return lambda ctx: any(tags.get(r[0]) == tag for r in ctx[5])
    if op == "trauma_site_count_ge":
        sites: Mapping[str, int] = c.site_maps[prim.sites or ""]
        need = prim.min_count or 0
        return lambda ctx: len({sites[r[0]] for r in ctx[4] if r[0] in sites}) >= need
    raise PlanError(c.plan.id, "condition", f'未知的条件类型 "{op}"', f"unknown op {op!r}")


def _range_fn(prim: Prim) -> LitFn:
    name = prim.field or ""
    pos = _CTX_FIELD.get(name)
    if pos is not None:
        return lambda ctx: in_range(prim, ctx[pos])  # type: ignore[arg-type]
    return lambda ctx: in_range(prim, as_int(ctx[6](name)))
