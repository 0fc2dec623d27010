"""Compile a :class:`Plan` once into lookup structures for fast grouping.

The MDC walk with fall-through (plan README steps 5–6) is the same as taking the
*first* pair (MDC m, ADRG a), in ``mdc_order`` then ADRG order, for which
``entry(m) and condition(a)`` holds.  Each pair is a *rule*; its condition is
rewritten as an OR of AND-terms (:func:`to_dnf`).  Terms are numbered in rule
order, so the lowest-numbered true term gives the result.

Every literal of a term is one of

* a positive ``principal_dx_in`` — indexed per grouper diagnosis code: each code
  carries a bitset (Python ``int``) of the terms whose principal-diagnosis
  literals it satisfies;
* a positive ``principal_proc_in`` / ``principal_proc_is_or`` — the same per
  procedure code (plus a bitset for "no procedure");
* anything else ("other" literals), checked only for candidate terms: the "any
  code" tests (``any_dx_in``, ``any_proc_in``, ``any_proc_is_or``, ``no_or_proc``,
  ``proc_tag_present``) as bits OR-ed over the case's codes, the rest (sex, ages,
  weight, trauma sites, negated principal tests) as small closures.

So a case's candidate terms are ``bits(principal dx) & bits(principal proc)``, and
the walk is a loop over the few set bits.  Input maps are folded in: one dict
lookup per input code gives the grouper code, its bitsets and its CC data.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, TypeAlias

from yibao.engines.grouper.conditions import AllOf, Condition, Literal, Prim, iter_prims, to_dnf
from yibao.engines.grouper.errors import PlanError
from yibao.engines.grouper.plan import Plan
from yibao.engines.grouper.prims import (
    OR_KEY,
    SPLIT_STATES,
    Ctx,
    DxRec,
    LitFn,
    PxRec,
    cc_state,
    cond_fn,
    literal_fn,
    mcc_first_state,
)
from yibao.engines.grouper.results import (
    AMBIGUOUS_QY,
    CHECK_FAILED,
    DX_NOT_MAPPED,
    OK,
    PROC_NOT_MAPPED,
    UNGROUPABLE,
    GroupResult,
    ok_message,
    qy_message,
)

#: per term: None (no other literal) or (required any-bits, forbidden any-bits, other tests)
TermCheck: TypeAlias = tuple[int, int, tuple[LitFn, ...]] | None

__all__ = ["OR_KEY", "CompiledPlan", "Ctx", "DxRec", "PxRec", "compile_plan"]

MDC_PREFIX = "MDC"
#: outcome indices of the results that do not come from a rule
OUT_DX_NOT_MAPPED, OUT_PROC_NOT_MAPPED, OUT_CHECK_FAILED, OUT_UNGROUPABLE = 0, 1, 2, 3
#: rule outcome "no DRG split holds, go on with the next ADRG" (``if_no_drg``) and "the
#: splits need conditions: evaluate them" (``CompiledPlan.rule_splits``)
NEXT_ADRG, DYNAMIC = -1, -2


@dataclass(frozen=True, slots=True)
class SplitStep:
    """One DRG of a rule whose splits are conditions: a CC-state mask or a condition."""

    outcome: int
    #: bit s set when the named split holds for CC state s (None: a condition split)
    states: int | None
    condition: Condition | None
    test: LitFn | None


@dataclass(frozen=True, slots=True)
class Rule:
    """One (MDC, ADRG) pair or QY test in walk order, with its outcome per CC state."""

    index: int
    mdc: str
    adrg: str
    qy: bool
    #: outcome index per CC state (none, CC only, MCC only, both); NEXT_ADRG or DYNAMIC
    outcomes: tuple[int, int, int, int]
    #: the DRG tests of a DYNAMIC rule in order, and the outcome when none holds
    splits: tuple[SplitStep, ...] = ()
    fallback: int = NEXT_ADRG


@dataclass(frozen=True, slots=True)
class Term:
    """One AND-term of a rule's condition."""

    index: int
    rule: int
    pdx_lists: frozenset[str]
    ppx_sets: frozenset[str]
    other: tuple[int, ...]


class CompiledPlan:
    """A plan compiled for grouping; build it with :func:`compile_plan`. Read-only."""

    def __init__(self, plan: Plan) -> None:
        self.plan = plan
        self.id = plan.id
        # "|" first when present: the usual separator, so replace() rarely has work to do
        self.separators = tuple(sorted(plan.code_separators, key=lambda sep: sep != "|"))
        self.list_sets: dict[str, frozenset[str]] = {
            name: frozenset(codes) for name, codes in plan.code_lists.items()
        }
        self.list_sets[OR_KEY] = plan.or_procedures
        self.tag_maps: dict[str, dict[str, str]] = {}
        for name, pairs in plan.proc_tag_tables.items():
            tags: dict[str, str] = {}
            for code, tag in pairs:
                tags.setdefault(code, tag)  # a code's tag is the tag of its first pair
            self.tag_maps[name] = tags
        self.site_maps: dict[str, dict[str, int]] = {
            name: {
                code: i for i, site in enumerate(sites) for code in plan.code_lists[site.list_name]
            }
            for name, sites in plan.trauma_sites.items()
        }  # a code listed under several sites belongs to the last one
        self.table_ids: dict[str, int] = {}
        self.rules: list[Rule] = []
        self.terms: list[Term] = []
        self.literals: list[Literal] = []
        self.literal_fns: list[LitFn] = []
        self.outcomes: list[GroupResult] = _fixed_outcomes(plan)
        self._outcome_ids: dict[tuple[str, str, str], int] = {}
        self.dx_info: dict[str, DxRec] = {}
        self.px_info: dict[str, PxRec] = {}
        self.no_px_bits = 0
        self.term_check: tuple[TermCheck, ...] = ()
        self.sex_map: dict[object, int] = {}
        for value in plan.sex_values:
            if plan.sex_accepted is None:
                self.sex_map[value] = self.sex_map[str(value)] = value
            elif str(value) in plan.sex_accepted:  # text-only check (additions §5)
                self.sex_map[str(value)] = value
        self.term_fixed: tuple[int, ...] = ()
        self.term_outcomes: tuple[tuple[int, int, int, int], ...] = ()
        #: per term: the mask that clears it and the later terms of its rule (``&``)
        self.term_skip: tuple[int, ...] = ()
        self.sex_accepted = plan.sex_accepted
        #: CC state for picking a DRG: exact, or stopping at the first MCC when no rule
        #: tells "MCC only" from "MCC and CC" (set by compile_plan)
        self.split_state = cc_state
        self.ungroupable = self.outcomes[OUT_UNGROUPABLE]
        self.check_order: tuple[str, ...] = plan.input_checks
        #: the integer inputs the plan's conditions read beyond the ages and weight
        #: (``los_days``, ``icu_hours``): required in every case (additions §2), each
        #: checked after the plan's own input checks (``<field>_present``)
        self.needs_ints: tuple[str, ...] = ()
        self.batch_cache: dict[str, Any] = {}


def compile_plan(plan: Plan) -> CompiledPlan:
    """Compile ``plan`` into lookup tables for :func:`group_one` and :func:`group_batch`."""
    c = CompiledPlan(plan)
    literal_ids: dict[Literal, int] = {}
    for letter in plan.mdc_order:
        mdc = plan.mdcs[letter]
        for pos, adrg in enumerate(mdc.adrgs):
            if mdc.qy.enabled and pos == mdc.qy.position:
                _add_rule(c, letter, None, literal_ids)
            _add_rule(c, letter, adrg, literal_ids)
        if mdc.qy.enabled and mdc.qy.position == len(mdc.adrgs):
            _add_rule(c, letter, None, literal_ids)
    any_bits = _any_bits(c)
    _build_indices(c, any_bits)
    c.term_check = tuple(_term_check(c, term, any_bits) for term in c.terms)
    outs = [c.rules[t.rule].outcomes for t in c.terms]
    c.term_outcomes = tuple(outs)
    c.term_fixed = tuple(
        o[0] if o[0] >= 0 and len(set(o)) == 1 else (DYNAMIC if o[0] == DYNAMIC else -1)
        for o in outs
    )
    if all(o[2] == o[3] for o in outs):
        c.split_state = mcc_first_state
    last: dict[int, int] = {}
    for t in c.terms:
        last[t.rule] = t.index
    c.term_skip = tuple(~((1 << (last[t.rule] + 1)) - 1) for t in c.terms)
    c.needs_ints = tuple(f for f in NEEDED_INTS if f in read_fields(c))
    c.check_order = (*plan.input_checks, *(f"{f}_present" for f in c.needs_ints))
    return c


#: integer inputs a plan that reads them needs in every case (additions §2)
NEEDED_INTS = ("los_days", "icu_hours")
#: text inputs a plan's conditions may read (a missing one is the empty text)
OPTIONAL_TEXTS = ("dept", "discharge_type")
#: the optional input fields a plan's conditions may read
OPTIONAL_FIELDS = (*NEEDED_INTS, *OPTIONAL_TEXTS)


def read_fields(c: CompiledPlan) -> frozenset[str]:
    """The optional input fields (ICU hours, length of stay, …) the plan's tests read."""
    prims = [prim for prim, _ in c.literals]
    for rule in c.rules:
        for step in rule.splits:
            if step.condition is not None:
                prims.extend(prim for _, prim in iter_prims(step.condition))
    return frozenset(p.field for p in prims if p.field in OPTIONAL_FIELDS and p.field is not None)


def rule_of_term(c: CompiledPlan) -> list[int]:
    """The rule index of every term."""
    return [t.rule for t in c.terms]


def table_id(c: CompiledPlan, table: str | None) -> int:
    """Intern an exclusion-table number (compared as strings) as a small int; ``None`` → -1."""
    if table is None:
        return -1
    return c.table_ids.setdefault(table, len(c.table_ids))


def _fixed_outcomes(plan: Plan) -> list[GroupResult]:
    mdc, adrg, drg = plan.failure_codes
    msg = "主要诊断未进入任何 MDC，或所进入的 MDC 中没有符合条件的 ADRG，无法入组"
    return [
        GroupResult(DX_NOT_MAPPED, mdc, adrg, drg, None, "诊断编码不能转换为分组器编码"),
        GroupResult(PROC_NOT_MAPPED, mdc, adrg, drg, None, "手术操作编码不能转换为分组器编码"),
        GroupResult(CHECK_FAILED, mdc, adrg, drg, None, "病案信息校验不通过"),
        GroupResult(UNGROUPABLE, *plan.no_group, None, msg),
    ]


def _outcome(c: CompiledPlan, status: str, letter: str, adrg: str, drg: str) -> int:
    key = (letter, adrg, drg)
    found = c._outcome_ids.get(key)
    if found is not None:
        return found
    mdc = MDC_PREFIX + letter
    plan = c.plan
    if status == OK and plan.mdc_no_group and drg != plan.no_group_raw and drg[1:3] == "00":
        # additions §6: a raw code with "00" in characters 2–3 (no plan produces one)
        adrg, drg = plan.mdc_no_group
        msg = "所进入的 MDC 中没有符合条件的 ADRG，无法入组"
        c.outcomes.append(GroupResult(UNGROUPABLE, mdc, adrg, drg, None, msg))
        c._outcome_ids[key] = len(c.outcomes) - 1
        return len(c.outcomes) - 1
    if status == OK:
        spec = c.plan.drgs.get(drg)
        name = spec.name if spec is not None else None
        adrg = drg[:3]  # plan README "Result": the first 3 characters of the DRG
        msg = ok_message(mdc, adrg, drg, name)
    else:
        name = None
        msg = qy_message(mdc, drg)
    c.outcomes.append(GroupResult(status, mdc, adrg, drg, name, msg))
    c._outcome_ids[key] = len(c.outcomes) - 1
    return len(c.outcomes) - 1


def _add_rule(
    c: CompiledPlan, letter: str, adrg: str | None, literal_ids: dict[Literal, int]
) -> None:
    plan = c.plan
    mdc = plan.mdcs[letter]
    index = len(c.rules)
    if adrg is None:
        where = f"mdcs.{letter}.qy"
        cond = AllOf((mdc.entry, mdc.qy.condition))
        out = _outcome(c, AMBIGUOUS_QY, letter, plan.qy_adrg, mdc.qy.drg)
        rule = Rule(index, letter, plan.qy_adrg, True, (out, out, out, out))
    else:
        where = f"adrgs.{adrg}.condition"
        cond = AllOf((mdc.entry, plan.adrgs[adrg].condition))
        rule = _split_rule(c, index, letter, adrg)
    c.rules.append(rule)
    try:
        dnf = to_dnf(cond)
    except ValueError as exc:
        raise PlanError(plan.id, where, "条件过于复杂，无法编译", str(exc)) from exc
    _add_terms(c, index, dnf, literal_ids)


def _split_rule(c: CompiledPlan, index: int, letter: str, adrg: str) -> Rule:
    """The rule of one ADRG with its DRG split (plan README step 7, additions §1 and §4)."""
    plan = c.plan
    spec = plan.adrgs[adrg]
    # no DRG found: the ADRG code is the DRG (plan README step 7), or go on (if_no_drg)
    fallback = NEXT_ADRG if spec.next_adrg else _outcome(c, OK, letter, adrg, adrg)
    drgs = [plan.drgs[d] for d in spec.drgs]
    if all(d.condition is None for d in drgs):
        picks = [
            next(
                (_outcome(c, OK, letter, adrg, d.code) for d in drgs if SPLIT_STATES[d.split][s]),
                fallback,
            )
            for s in range(4)
        ]
        return Rule(index, letter, adrg, False, (picks[0], picks[1], picks[2], picks[3]))
    steps = []
    for d in drgs:
        out = _outcome(c, OK, letter, adrg, d.code)
        if d.condition is None:
            mask = sum(1 << s for s in range(4) if SPLIT_STATES[d.split][s])
            steps.append(SplitStep(out, mask, None, None))
        else:
            steps.append(SplitStep(out, None, d.condition, cond_fn(c, d.condition)))
    dyn = (DYNAMIC, DYNAMIC, DYNAMIC, DYNAMIC)
    return Rule(index, letter, adrg, False, dyn, tuple(steps), fallback)


def _add_terms(
    c: CompiledPlan, rule: int, dnf: list[frozenset[Literal]], literal_ids: dict[Literal, int]
) -> None:
    """Classify the literals of each term (see the module docstring) and number the terms."""
    for term in dnf:
        pdx: set[str] = set()
        ppx: set[str] = set()
        other: list[int] = []
        for prim, positive in sorted(term, key=lambda lit: (lit[0].op, str(lit[0]), lit[1])):
            if positive and prim.op == "principal_dx_in" and prim.list_name is not None:
                pdx.add(prim.list_name)
            elif positive and prim.op == "principal_proc_in" and prim.list_name is not None:
                ppx.add(prim.list_name)
            elif positive and prim.op == "principal_proc_is_or":
                ppx.add(OR_KEY)
            else:
                lit = (prim, positive)
                if lit not in literal_ids:
                    literal_ids[lit] = len(c.literals)
                    c.literals.append(lit)
                    c.literal_fns.append(literal_fn(c, prim, positive))
                other.append(literal_ids[lit])
        c.terms.append(Term(len(c.terms), rule, frozenset(pdx), frozenset(ppx), tuple(other)))


def _term_check(c: CompiledPlan, term: Term, any_bits: dict[tuple[str, str], int]) -> TermCheck:
    """What a candidate term still needs: any-bits required / forbidden, other tests."""
    if not term.other:
        return None
    need = forbid = 0
    tests = []
    for lit in term.other:
        prim, positive = c.literals[lit]
        key = _any_key(prim)
        if key is None:
            tests.append(c.literal_fns[lit])
        elif positive != (prim.op == "no_or_proc"):  # no_or_proc = not any_proc_is_or
            need |= any_bits[key]
        else:
            forbid |= any_bits[key]
    return need, forbid, tuple(tests)


def _any_key(prim: Prim) -> tuple[str, str] | None:
    """The OR-aggregatable "any code" test behind a literal (None for other literals)."""
    if prim.op == "any_dx_in":
        return ("dx", prim.list_name or "")
    if prim.op == "any_proc_in":
        return ("px", prim.list_name or "")
    if prim.op in ("any_proc_is_or", "no_or_proc"):
        return ("px", OR_KEY)
    if prim.op == "proc_tag_present":
        return ("tag", f"{prim.table}\x00{prim.tag}")
    return None


def _any_bits(c: CompiledPlan) -> dict[tuple[str, str], int]:
    keys: dict[tuple[str, str], int] = {}
    for prim, _ in c.literals:
        key = _any_key(prim)
        if key is not None and key not in keys:
            keys[key] = 1 << len(keys)
    return keys


def _any_code_bits(
    c: CompiledPlan, any_bits: dict[tuple[str, str], int], kind: str
) -> dict[str, int]:
    """Per grouper code, the bitset of "any" tests of ``kind`` (dx / px) it satisfies."""
    out: dict[str, int] = {}
    for (key_kind, name), bit in any_bits.items():
        if key_kind == "tag" and kind == "px":
            table, tag = name.split("\x00")
            codes = [code for code, t in c.tag_maps[table].items() if t == tag]
        elif key_kind == kind:
            codes = list(c.list_sets[name])
        else:
            continue
        for code in codes:
            out[code] = out.get(code, 0) | bit
    return out


def _build_indices(c: CompiledPlan, any_bits: dict[tuple[str, str], int]) -> None:
    plan = c.plan
    dx_bits, base_dx = _bits_by_code(c, [(t.pdx_lists, t.index) for t in c.terms])
    px_bits, base_px = _bits_by_code(c, [(t.ppx_sets, t.index) for t in c.terms])
    dx_any = _any_code_bits(c, any_bits, "dx")
    px_any = _any_code_bits(c, any_bits, "px")
    levels = {"CC": 1, "MCC": 2, "MCC+CC": 3}  # level bits: HAS_CC | HAS_MCC
    no_cc = (0, -1)
    cc_info = {code: (levels[e.level], table_id(c, e.table)) for code, e in plan.cc_mcc.items()}
    exclusion = {code: table_id(c, table) for code, table in plan.cc_exclusion.items()}
    for inp, code in plan.dx_map.items():
        level, table = cc_info.get(code, no_cc)
        bits = base_dx | dx_bits.get(code, 0)
        c.dx_info[inp] = (code, bits, level, table, exclusion.get(code, -1), dx_any.get(code, 0))
    for inp, code in plan.proc_map.items():
        c.px_info[inp] = (code, base_px | px_bits.get(code, 0), px_any.get(code, 0))
    c.no_px_bits = base_px


def _bits_by_code(
    c: CompiledPlan, keyed: list[tuple[frozenset[str], int]]
) -> tuple[dict[str, int], int]:
    """Per code, the bitset of terms whose (principal) list literals the code satisfies."""
    by_key: dict[frozenset[str], int] = {}
    base = 0
    for key, index in keyed:
        if key:
            by_key[key] = by_key.get(key, 0) | (1 << index)
        else:
            base |= 1 << index
    bits: dict[str, int] = {}
    for key, mask in by_key.items():
        names = sorted(key, key=lambda n: len(c.list_sets[n]))
        codes = c.list_sets[names[0]].intersection(*(c.list_sets[n] for n in names[1:]))
        for code in codes:
            bits[code] = bits.get(code, 0) | mask
    return bits, base
