"""Per-ADRG case templates: a principal diagnosis, fixed extra codes and procedures.

A template is built by reading the conditions of the target ADRG and of its MDC entry
(choosing one branch of every ``any``), drawing codes from the plan lists that satisfy
them, and then **checking** the result with the reference walk in
:mod:`yibao.engines.synth.walk`: a template is kept only for the sexes and age groups
with which the whole plan walk (MDC order, fall-through, first match wins) really ends
in the target ADRG.  Templates work with grouper codes; each is written as itself when
the plan's code map sends it to itself (preferred whenever a list offers such a code),
otherwise as an input code that the map turns into it (only needed for a few ADRGs
whose list codes are map targets only, e.g. FL1).
"""

from __future__ import annotations

import functools
import random
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field

from yibao.engines.synth.plan import Condition, PlanData
from yibao.engines.synth.walk import Probe, find_adrg, severity

AGE_OLDER, AGE_INFANT, AGE_NEWBORN = 0, 1, 2
PROFILE_GENERAL, PROFILE_CHILD, PROFILE_ELDERLY, PROFILE_OBSTETRIC, PROFILE_NEWBORN = range(5)

#: Probe ages per age group: (age_years, age_days).
_PROBE_AGE: dict[int, tuple[int, int | None]] = {
    AGE_OLDER: (40, None),
    AGE_INFANT: (0, 200),
    AGE_NEWBORN: (0, 5),
}
#: MDCs tried (in order) for the principal diagnosis of a pre-MDC (MDCA) procedure whose
#: home MDC is unknown.  MDC letters are plan structure, not codes.
_FALLBACK_MDCS = ("E", "F", "B")
_SPECIAL_MDCS = frozenset({"A", "P", "Y", "Z"})
_CHILD_WORDS = ("新生儿", "婴儿", "小儿", "儿童", "幼儿")


@dataclass(frozen=True)
class Template:
    """One verified way to produce a case of ``adrg``."""

    adrg: str
    dx: tuple[str, ...]  # principal first, then fixed extra diagnoses
    px: tuple[str, ...]  # principal procedure first; may be empty
    sexes: tuple[int, ...]  # sexes with which the walk reaches ``adrg``
    age_groups: tuple[int, ...]  # verified AGE_* groups, preferred first
    profile: int  # PROFILE_*: how ages are drawn
    bw_band: tuple[int, int] | None  # birth-weight range (grams, inclusive) for newborns
    fixed_mcc: bool  # the fixed extra diagnoses already give a valid MCC
    fixed_cc: bool


@dataclass
class _Needs:
    """Requirements collected from one branch of an MDC entry + ADRG condition."""

    pdx: list[frozenset[str]] = field(default_factory=list)
    anydx: list[frozenset[str]] = field(default_factory=list)
    pproc: list[frozenset[str]] = field(default_factory=list)
    anyproc: list[frozenset[str]] = field(default_factory=list)
    tags: list[tuple[str, str]] = field(default_factory=list)
    por: bool = False
    no_or: bool = False
    sex: int | None = None
    age0: bool = False
    days_le: int | None = None
    bw: tuple[int | None, int | None] | None = None
    trauma: str | None = None


def _collect(plan: PlanData, cond: Condition, rng: random.Random, needs: _Needs) -> None:
    op = cond["op"]
    if op == "all":
        for arg in cond["args"]:
            _collect(plan, arg, rng, needs)
    elif op == "any":
        _collect(plan, rng.choice(cond["args"]), rng, needs)
    elif op in ("principal_dx_in", "any_dx_in", "principal_proc_in", "any_proc_in"):
        target = {
            "principal_dx_in": needs.pdx,
            "any_dx_in": needs.anydx,
            "principal_proc_in": needs.pproc,
            "any_proc_in": needs.anyproc,
        }[op]
        target.append(plan.lists[cond["list"]])
    elif op == "principal_proc_is_or":
        needs.por = True
    elif op == "no_or_proc":
        needs.no_or = True
    elif op == "sex_is":
        needs.sex = int(cond["value"])
    elif op == "age_years_eq":
        needs.age0 = int(cond["value"]) == 0
    elif op == "age_days_le":
        needs.days_le = int(cond["value"])
    elif op == "birth_weight_range":
        needs.bw = (cond.get("ge"), cond.get("lt"))
    elif op == "proc_tag_present":
        needs.tags.append((str(cond["table"]), str(cond["tag"])))
    elif op == "trauma_site_count_ge":
        needs.trauma = str(cond["sites"])
    # "true", "not", "any_proc_is_or": nothing to construct; the walk check decides.


class _Builder:
    """Draws and checks templates for one plan."""

    def __init__(self, plan: PlanData, seed: int) -> None:
        self.plan = plan
        self.rng = random.Random(seed)
        self.dx_ok = plan.dx_usable
        self.px_ok = plan.px_usable
        # codes the maps send to themselves (they are in the dictionary as written)
        self.dx_same = frozenset(c for c, e in plan.dx_emit.items() if c == e)
        self.px_same = frozenset(c for c, e in plan.px_emit.items() if c == e)
        self.same = self.dx_same | self.px_same
        self.or_ok = plan.or_codes & plan.px_usable
        a_codes: set[str] = set()
        for adrg in plan.mdc_adrgs.get("A", ()):
            for name in _list_names(plan.adrg_condition[adrg]):
                a_codes |= plan.lists[name]
        self.or_free = self.or_ok - a_codes  # OR codes no MDCA ADRG lists
        self.home = _home_mdcs(plan)
        self.male = _entry_dx(plan, "M")
        self.female = _entry_dx(plan, "N") | _entry_dx(plan, "O")
        self.trauma_codes = {name: frozenset(owner) for name, owner in plan.trauma_sites.items()}

    # -- pools ------------------------------------------------------------------------
    @functools.cache  # noqa: B019 - one builder per plan, dropped after building
    def _sorted(self, items: frozenset[str]) -> tuple[str, ...]:
        return tuple(sorted(items))

    def _pick(self, items: Iterable[str]) -> str | None:
        """A random code, preferring codes that are written as they are grouped."""
        given = frozenset(items)
        pool = self._sorted(self._same(given)) or self._sorted(given)
        return self.rng.choice(pool) if pool else None

    @functools.cache  # noqa: B019
    def _same(self, items: frozenset[str]) -> frozenset[str]:
        return items & self.same

    @functools.cache  # noqa: B019
    def _intersect(
        self, sets: tuple[frozenset[str], ...], allowed: frozenset[str]
    ) -> frozenset[str]:
        out = allowed
        for s in sets:
            out = out & s
        return out

    @functools.cache  # noqa: B019
    def _tag_pool(self, table: str, tag: str) -> frozenset[str]:
        return frozenset(c for c, t in self.plan.tags[table].items() if t == tag) & self.px_ok

    @functools.cache  # noqa: B019
    def _earlier(self, adrg: str, kind: str) -> frozenset[str]:
        """Codes of ``kind`` (``.dx`` / ``.proc``) listed by ADRGs before ``adrg``."""
        mdc = self.plan.adrg_mdc[adrg]
        before = self.plan.mdc_adrgs[mdc][: self.plan.mdc_adrgs[mdc].index(adrg)]
        out: set[str] = set()
        for name in (n for a in before for n in _list_names(self.plan.adrg_condition[a])):
            if kind in name:
                out |= self.plan.lists[name]
        return frozenset(out)

    def _fresh(self, pool: frozenset[str], adrg: str, kind: str) -> frozenset[str]:
        """Mostly prefer codes that no earlier ADRG of the MDC lists (first match wins)."""
        if self.rng.random() < 0.15:
            return pool
        return (pool - self._earlier(adrg, kind)) or pool

    @functools.cache  # noqa: B019
    def _or_pool(self, mdc: str) -> frozenset[str]:
        home = frozenset(c for c in self.or_free if self.home.get(c[:2]) == mdc)
        return home or self.or_free

    # -- construction -----------------------------------------------------------------
    def _procs(self, needs: _Needs, adrg: str) -> tuple[str, ...] | None:
        mdc = self.plan.adrg_mdc[adrg]
        px: list[str] = []
        if needs.pproc:
            allowed = self.or_ok if needs.por else self.px_ok
            pool = self._intersect(tuple(needs.pproc), allowed)
            code = self._pick(self._fresh(pool, adrg, ".proc"))
            if code is None:
                return None
            px.append(code)
        for wanted in needs.anyproc:
            if not wanted.isdisjoint(px):
                continue
            pool = wanted & self.px_ok
            if needs.por and not px:
                pool = (pool & self.or_ok) or pool
            code = self._pick(pool)
            if code is None:
                return None
            px.append(code)
        for table, tag in needs.tags:
            if any(self.plan.tags[table].get(c) == tag for c in px):
                continue
            code = self._pick(self._tag_pool(table, tag))
            if code is None:
                return None
            px.append(code)
        if needs.por and not (px and px[0] in self.or_ok):
            first = next((c for c in px if c in self.or_ok), None)
            if first is None:
                first = self._pick(self._or_pool(mdc))
                if first is None:
                    return None
            else:
                px.remove(first)
            px.insert(0, first)
        if needs.no_or and not self.plan.or_codes.isdisjoint(px):
            return None
        return tuple(px)

    def _principal_pool(self, needs: _Needs, mdc: str, px: tuple[str, ...]) -> frozenset[str]:
        if needs.pdx:
            pool = self._intersect(tuple(needs.pdx), self.dx_ok)
        else:  # pre-MDC (MDCA): the home MDC of the principal procedure
            home = self.home.get(px[0][:2]) if px else None
            pool = frozenset()
            for letter in ((home,) if home else ()) + _FALLBACK_MDCS:
                pool = _entry_dx(self.plan, letter) & self.dx_ok
                if pool:
                    break
        if needs.trauma:
            pool = pool & self.trauma_codes[needs.trauma]
        return pool

    def _dx(self, needs: _Needs, adrg: str, px: tuple[str, ...]) -> tuple[str, ...] | None:
        mdc = self.plan.adrg_mdc[adrg]
        pool = self._principal_pool(needs, mdc, px)
        if not needs.anydx and not needs.trauma:
            pool = self._fresh(pool, adrg, ".dx")
        preferred = pool
        for wanted in needs.anydx:
            preferred = preferred & wanted
        principal = self._pick(preferred or pool)
        if principal is None:
            return None
        dx = [principal]
        for wanted in needs.anydx:
            if wanted.isdisjoint(dx):
                code = self._pick(wanted & self.dx_ok)
                if code is None:
                    return None
                dx.append(code)
        if needs.trauma:
            owner = self.plan.trauma_sites[needs.trauma]
            site = owner[principal]
            others = frozenset(c for c, s in owner.items() if s != site) & self.dx_ok
            plain = frozenset(c for c in others if c not in self.plan.cc)
            code = self._pick(plain if plain and self.rng.random() < 0.6 else others)
            if code is None:
                return None
            dx.append(code)
        return tuple(dx)

    def _real_sexes(self, principal: str, mdc: str, needs: _Needs) -> tuple[int, ...]:
        name = self.plan.dx_names[self.plan.dx_index[principal]]
        sexes = {1, 2}
        if mdc in ("N", "O") or principal in self.female or "女性" in name:
            sexes = {2}
        elif mdc == "M" or principal in self.male or "男性" in name:
            sexes = {1}
        if needs.sex is not None:
            sexes &= {needs.sex}
        return tuple(sorted(sexes))

    def _profile(self, principal: str, mdc: str, groups: tuple[int, ...]) -> int:
        if mdc == "P" or groups[0] != AGE_OLDER:
            return PROFILE_NEWBORN if groups[0] == AGE_NEWBORN else PROFILE_CHILD
        if mdc == "O":
            return PROFILE_OBSTETRIC
        name = self.plan.dx_names[self.plan.dx_index[principal]]
        if any(w in name for w in _CHILD_WORDS):
            return PROFILE_CHILD
        if "老年" in name:
            return PROFILE_ELDERLY
        return PROFILE_GENERAL

    def attempt(self, adrg: str) -> Template | None:
        """Draw one candidate for ``adrg`` and keep what the walk confirms."""
        mdc = self.plan.adrg_mdc[adrg]
        needs = _Needs()
        _collect(self.plan, self.plan.mdc_entry[mdc], self.rng, needs)
        _collect(self.plan, self.plan.adrg_condition[adrg], self.rng, needs)
        px = self._procs(needs, adrg)
        dx = None if px is None else self._dx(needs, adrg, px)
        if px is None or dx is None:
            return None
        if needs.age0:
            groups = (AGE_NEWBORN,) if needs.days_le is not None else (AGE_INFANT, AGE_NEWBORN)
        else:
            groups = (AGE_OLDER, AGE_INFANT)
        band = _band(needs.bw)
        ok: dict[int, list[int]] = {}
        for sex in self._real_sexes(dx[0], mdc, needs):
            for group in groups:
                years, days = _PROBE_AGE[group]
                weight = (band[0] + band[1]) // 2 if group == AGE_NEWBORN else None
                probe = Probe(dx, px, sex, years, days, weight)
                if find_adrg(self.plan, probe) == adrg:
                    ok.setdefault(sex, []).append(group)
        if not ok:
            return None
        sexes = tuple(sorted(ok))
        shared = tuple(g for g in groups if all(g in ok[s] for s in sexes))
        if not shared:
            sexes = (sexes[0],)
            shared = tuple(ok[sexes[0]])
        mcc, cc = severity(self.plan, dx)
        return Template(
            adrg=adrg,
            dx=dx,
            px=px,
            sexes=sexes,
            age_groups=shared,
            profile=self._profile(dx[0], mdc, shared),
            bw_band=band if AGE_NEWBORN in shared else None,
            fixed_mcc=mcc,
            fixed_cc=cc,
        )


def _band(bw: tuple[int | None, int | None] | None) -> tuple[int, int]:
    """Inclusive birth-weight range (10 g steps) for a ``birth_weight_range`` need."""
    if bw is None:
        return (2500, 4500)
    ge, lt = bw
    low = int(ge) if ge is not None else 600
    high = int(lt) - 10 if lt is not None else 4500
    return (low, high)


def _list_names(cond: Condition) -> list[str]:
    if cond["op"] in ("all", "any"):
        return [n for arg in cond["args"] for n in _list_names(arg)]
    if cond["op"] == "not":
        return _list_names(cond["arg"])
    return [cond["list"]] if "list" in cond else []


def _entry_dx(plan: PlanData, mdc: str) -> frozenset[str]:
    """Union of the principal-diagnosis lists in the entry condition of ``mdc``."""
    entry = plan.mdc_entry.get(mdc)
    if entry is None:
        return frozenset()
    out: set[str] = set()
    for name in _list_names(entry):
        if name.endswith(".dx"):
            out |= plan.lists[name]
    return frozenset(out)


def _home_mdcs(plan: PlanData) -> dict[str, str]:
    """Procedure-code prefix (2 characters) → the regular MDC whose ADRGs list it most."""
    votes: dict[str, Counter[str]] = {}
    for adrg, mdc in plan.adrg_mdc.items():
        if mdc in _SPECIAL_MDCS:
            continue
        for name in _list_names(plan.adrg_condition[adrg]):
            if ".proc" in name:
                for code in plan.lists[name]:
                    votes.setdefault(code[:2], Counter())[mdc] += 1
    home: dict[str, str] = {}
    for prefix, counter in votes.items():
        mdc, n = counter.most_common(1)[0]
        if n * 2 >= sum(counter.values()):
            home[prefix] = mdc
    return home


def home_mdcs(plan: PlanData) -> dict[str, str]:
    """Public wrapper of the procedure-prefix → home-MDC vote (used for extra codes)."""
    return _home_mdcs(plan)


def entry_dx(plan: PlanData, mdc: str) -> frozenset[str]:
    """The diagnoses admitted by the entry condition of ``mdc`` (empty for MDCA)."""
    return _entry_dx(plan, mdc)


def adrg_list_names(plan: PlanData, adrg: str) -> list[str]:
    """Names of the code lists the condition of ``adrg`` refers to."""
    return _list_names(plan.adrg_condition[adrg])


@functools.lru_cache(maxsize=4)
def build_templates(plan: PlanData, per_adrg: int = 24, seed: int = 11) -> tuple[Template, ...]:
    """Up to ``per_adrg`` distinct verified templates for every ADRG of ``plan``.

    Deterministic for a plan (``seed`` only varies the draw); cached.
    """
    builder = _Builder(plan, seed)
    out: list[Template] = []
    for mdc in plan.mdc_order:
        for adrg in plan.mdc_adrgs[mdc]:
            seen: dict[tuple[tuple[str, ...], tuple[str, ...]], Template] = {}
            for _ in range(per_adrg * 8):
                tpl = builder.attempt(adrg)
                if tpl is not None:
                    seen.setdefault((tpl.dx, tpl.px), tpl)
                    if len(seen) >= per_adrg:
                        break
            out.extend(seen.values())
    return tuple(out)
