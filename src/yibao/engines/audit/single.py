"""One claim through the compiled plans: the real-time path (事前 3101, 事中 3102).

Every line looks up the checks that concern its item code (built once per stage and
trigger scenario by :mod:`yibao.engines.audit.compiler`); line checks decide on the spot,
counting checks and relations gather the lines of their window (with the person's
``history`` for day and month windows) and decide once per window.  Nothing is done for
a rule that concerns no item of the claim, so the cost grows with the lines and the
checks that touch them, not with the size of the rule set.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from decimal import ROUND_HALF_UP, Decimal
from typing import Any, Final

from yibao.engines.audit.claims import Claim, Line
from yibao.engines.audit.findings import INVOLVED, VIOLATING, Hit
from yibao.engines.audit.plans import (
    HOURS_PER_DAY,
    CompiledRule,
    ItemPlan,
    RelationPlan,
    principal_only,
    relation_detail,
    unbundling_mode,
)

FEN: Final = Decimal("0.01")
ZERO: Final = Decimal(0)
#: a line in a window: (day, mdtrt_id, rx_id, line, belongs to the audited claim)
Member = tuple[date, str, str, Line, bool]
Test = Callable[[Any, Line, "Context"], bool]


def fen(value: Decimal) -> int:
    """Yuan → integer fen, half up."""
    return int(value.quantize(FEN, rounding=ROUND_HALF_UP).scaleb(2))


def window_key(day: date, window: str) -> str:
    """The window a day falls in: ``""`` (visit), ``2024-03-05`` (day), ``2024-03``."""
    if window == "visit":
        return ""
    text = day.isoformat()
    return text if window == "day" else text[:7]


def age_on(birth: date, day: date) -> int:
    """Completed years on ``day``."""
    return day.year - birth.year - ((day.month, day.day) < (birth.month, birth.day))


def stay_days(claim: Claim, last_day: date | None) -> int:
    """Days of the encounter (ADR 0020): inpatient discharge − admission (at least 1),
    outpatient end − begin + 1; no end yet: the last line's day − begin + 1."""
    enc = claim.encounter
    if enc.end_date is not None:
        span = (enc.end_date - enc.begin_date).days
        return max(span, 1) if enc.care_mode == "ipt" else span + 1
    if last_day is None:
        return 1
    return max((last_day - enc.begin_date).days + 1, 1)


@dataclass(slots=True)
class Context:
    """The claim's facts, computed once per audit."""

    claim: Claim
    history: Sequence[Claim]
    mdtrt_id: str
    sex: str
    mode: str
    level: str
    insutype: str
    dept: str
    dx: tuple[str, ...]
    age: int
    #: the diagnoses in upper case, as the indication checks compare them
    dx_up: tuple[str, ...] = ()
    by_code: dict[str, list[Line]] = field(default_factory=dict)
    _hist: dict[str, list[tuple[Line, str]]] | None = None

    @classmethod
    def of(cls, claim: Claim, history: Sequence[Claim]) -> Context:
        enc = claim.encounter
        return cls(
            claim=claim,
            history=history,
            mdtrt_id=enc.mdtrt_id,
            sex=claim.patient.sex,
            mode=enc.care_mode,
            level=enc.hospital_level,
            insutype=enc.insutype,
            dept=enc.dept_code,
            dx=enc.diagnoses,
            age=age_on(claim.patient.birth_date, enc.begin_date),
            dx_up=tuple(dx_key(d) for d in enc.diagnoses),
        )

    def hist(self) -> dict[str, list[tuple[Line, str]]]:
        if self._hist is None:
            self._hist = {}
            for other in self.history:
                mdtrt = other.encounter.mdtrt_id
                for line in other.lines:
                    if line.quantity > 0:
                        self._hist.setdefault(line.item_code, []).append((line, mdtrt))
        return self._hist

    def members(self, code: str, window: str, *, all_keys: bool = False) -> dict[str, list[Member]]:
        """Lines of ``code`` by window key; without ``all_keys`` only windows that hold a
        line of the audited claim."""
        out: dict[str, list[Member]] = {}
        me = self.mdtrt_id
        for line in self.by_code.get(code, ()):
            k = window_key(line.day, window)
            out.setdefault(k, []).append((line.day, me, line.rx_id, line, True))
        if self.history:
            for line, mdtrt in self.hist().get(code, ()):
                if window == "visit" and mdtrt != me:
                    continue
                k = window_key(line.day, window)
                if all_keys or k in out:
                    out.setdefault(k, []).append((line.day, mdtrt, line.rx_id, line, False))
        return out

    def stay(self) -> int:
        days = [x.day for xs in self.by_code.values() for x in xs]
        if self.history:
            days += [ln.day for xs in self.hist().values() for ln, m in xs if m == self.mdtrt_id]
        return stay_days(self.claim, max(days) if days else None)


# line checks: (value from the plan, line, context) → the line breaks the restriction
def _t_sex(v: str, line: Line, c: Context) -> bool:
    return c.sex in ("1", "2") and c.sex != v


def _t_age(v: tuple[int | None, int | None], line: Line, c: Context) -> bool:
    return (v[0] is not None and c.age < v[0]) or (v[1] is not None and c.age > v[1])


@functools.lru_cache(maxsize=4096)
def dx_key(code: str) -> str:
    """A diagnosis code as compared with restriction prefixes: upper case, without
    dots — ICD-10 codes are the same whatever their letter case (医保版 codes carry a
    lower-case x that many HIS systems send upper) and with or without the dot
    (E11.900 and E11900; a prefix E11.9 matches both)."""
    return code.upper().replace(".", "")


def upper_prefixes(prefixes: tuple[str, ...]) -> tuple[str, ...]:
    """Diagnosis prefixes as :func:`dx_key` compares them."""
    return tuple(dx_key(p) for p in prefixes)


def _t_indication(v: tuple[str, ...], line: Line, c: Context) -> bool:
    up = upper_prefixes(v)
    return not any(d.startswith(up) for d in c.dx_up)


def _t_principal(v: tuple[str, ...], line: Line, c: Context) -> bool:
    return not (c.dx_up and c.dx_up[0].startswith(upper_prefixes(v)))


def _t_mode(v: str, line: Line, c: Context) -> bool:
    return c.mode != v


def _t_level(v: str, line: Line, c: Context) -> bool:
    return c.level < v


def _t_insutype(v: frozenset[str], line: Line, c: Context) -> bool:
    return bool(c.insutype) and c.insutype not in v


@functools.lru_cache(maxsize=1024)
def dept_prefixes(prefixes: tuple[str, ...]) -> tuple[str, ...]:
    """Department prefixes in upper case: a department code is the same whatever the
    letter case a HIS sends it in (a10 is A10)."""
    return tuple(p.upper() for p in prefixes)


def _t_dept(v: tuple[str, ...], line: Line, c: Context) -> bool:
    dept = line.dept_code or c.dept
    return bool(dept) and not dept.upper().startswith(dept_prefixes(v))


def _t_price(v: Mapping[str, Decimal], line: Line, c: Context) -> bool:
    cap = v.get(c.level)
    return cap is not None and line.price > cap


TESTS: Final[dict[str, Test]] = {
    "sex": _t_sex,
    "age": _t_age,
    "indication": _t_indication,
    "care_mode": _t_mode,
    "institution": _t_level,
    "insutype": _t_insutype,
    "specialty": _t_dept,
    "price": _t_price,
}


def test_of(rule: CompiledRule) -> Test | None:
    """The line check of a line family (None: a counting family)."""
    if rule.family == "indication" and principal_only(rule):
        return _t_principal
    return TESTS.get(rule.family)


def line_hit(plan: ItemPlan, code: str, lines: list[Line], c: Context) -> Hit:
    """The finding of the claim's lines of ``code`` that broke a line check."""
    rule, v = plan.rule, plan.values[code]
    out: list[tuple[str, int, int]] = []
    facts: dict[str, Any] = {"code": code, "n": len(lines)}
    family = rule.family
    if family == "price":
        cap = v[c.level]
        for ln in lines:
            out.append(
                (ln.rx_id, VIOLATING, min(fen((ln.price - cap) * ln.quantity), fen(ln.amount)))
            )
        facts |= {
            "level": c.level,
            "cap": cap,
            "price": max(ln.price for ln in lines),
            "qty": sum((ln.quantity for ln in lines), ZERO),
        }
    else:
        out = [(ln.rx_id, VIOLATING, fen(ln.amount)) for ln in lines]
        enc = {
            "sex": c.sex,
            "age": c.age,
            "birth": c.claim.patient.birth_date,
            "begin": c.claim.encounter.begin_date,
            "dx": c.dx,
            "mode": c.mode,
            "level": c.level,
            "insutype": c.insutype,
        }
        depts = tuple(sorted({ln.dept_code or c.dept for ln in lines}))
        facts |= line_facts(family, v, principal_only(rule), enc, depts)
    return Hit(rule, c.claim.patient.psn_no, c.mdtrt_id, f"{code}|", facts, out)


def line_facts(
    family: str, v: Any, principal: bool, enc: Mapping[str, Any], depts: tuple[str, ...]
) -> dict[str, Any]:
    """The facts a line family's text reads (shared with the batch path): ``enc`` holds
    ``sex``, ``age``, ``birth``, ``begin``, ``dx``, ``mode``, ``level``, ``insutype``."""
    if family == "sex":
        return {"need": v, "sex": enc["sex"]}
    if family == "age":
        return {
            "min": v[0],
            "max": v[1],
            "age": enc["age"],
            "birth": enc["birth"],
            "begin": enc["begin"],
        }
    if family == "indication":
        return {"need": v, "dx": enc["dx"], "principal_only": principal}
    if family == "care_mode":
        return {"need": v, "mode": enc["mode"]}
    if family == "institution":
        return {"need": v, "level": enc["level"]}
    if family == "insutype":
        return {"need": tuple(sorted(v)), "insutype": enc["insutype"]}
    return {"need": v, "depts": depts}


def allocate(
    plan: ItemPlan,
    c: Context,
    detail: str,
    members: list[Member],
    allowed: Decimal,
    facts: dict[str, Any],
) -> Hit | None:
    """Quantities above ``allowed`` in order (day, encounter, rx_id): the lines past the
    limit are violating, for the part past it (× price, half up, at most the amount)."""
    cum = ZERO
    out: list[tuple[str, int, int]] = []
    found = False
    for _, _, rx, ln, mine in members:
        q = ln.quantity
        cum += q
        over = cum - allowed
        if mine:
            if over <= 0:
                out.append((rx, INVOLVED, 0))
                continue
            found = True
            if over >= q:
                out.append((rx, VIOLATING, fen(ln.amount)))
            else:
                out.append((rx, VIOLATING, min(fen(over * ln.price), fen(ln.amount))))
    if not found:
        return None
    facts["excess"] = cum - allowed
    facts["total"] = cum
    return Hit(plan.rule, c.claim.patient.psn_no, c.mdtrt_id, detail, facts, out)


# long: the four counting families side by side, each a few lines over the same members
def count_hits(plan: ItemPlan, code: str, c: Context) -> list[Hit]:
    """Findings of a counting family (quantity, frequency, course, phantom) on ``code``."""
    rule, v = plan.rule, plan.values[code]
    window, family = rule.window, rule.family
    hits: list[Hit] = []
    for key, members in c.members(code, window).items():
        members.sort(key=lambda m: (m[0], m[1], m[2]))
        detail = f"{code}|{key}"
        base: dict[str, Any] = {"code": code, "key": key}
        hit: Hit | None = None
        if family == "quantity":
            if window == "day":
                days = max(m[3].days or 1 for m in members)
                hit = allocate(
                    plan, c, detail, members, v * days, base | {"limit": v, "days": days}
                )
            else:
                hit = allocate(plan, c, detail, members, v, base | {"limit": v})
        elif family == "frequency":
            hit = allocate(plan, c, detail, members, v, base | {"limit": v})
        elif family == "phantom":
            if window == "day":
                facts = base | {"measure": "hours", "limit": HOURS_PER_DAY}
                hit = allocate(plan, c, detail, members, HOURS_PER_DAY, facts)
            else:
                stay = Decimal(c.stay())
                hit = allocate(
                    plan, c, detail, members, stay, base | {"measure": "days", "limit": stay}
                )
        else:
            sessions, max_days = v
            if sessions is not None:
                limit = Decimal(sessions)
                facts = base | {"measure": "sessions", "limit": limit}
                hit = allocate(plan, c, detail + "|sessions", members, limit, facts)
                if hit is not None:
                    hits.append(hit)
                hit = None
            if max_days is not None:
                hit = course_days(plan, c, detail + "|days", members, max_days, base)
        if hit is not None:
            hits.append(hit)
    return hits


def course_days(
    plan: ItemPlan,
    c: Context,
    detail: str,
    members: list[Member],
    max_days: int,
    base: dict[str, Any],
) -> Hit | None:
    """Lines on treatment days past the first ``max_days`` are violating (whole lines)."""
    days = sorted({m[0] for m in members})
    if len(days) <= max_days:
        return None
    allowed = set(days[:max_days])
    out = [
        (m[2], INVOLVED, 0) if m[0] in allowed else (m[2], VIOLATING, fen(m[3].amount))
        for m in members
        if m[4]
    ]
    if not any(kind == VIOLATING for _, kind, _ in out):
        return None
    facts = base | {
        "measure": "days",
        "limit": Decimal(max_days),
        "total": Decimal(len(days)),
        "excess": Decimal(len(days) - max_days),
    }
    return Hit(plan.rule, c.claim.patient.psn_no, c.mdtrt_id, detail, facts, out)


def _mine(members: list[Member], kind: int, whole: bool) -> list[tuple[str, int, int]]:
    return [(m[2], kind, fen(m[3].amount) if whole else 0) for m in members if m[4]]


# long: the three relation families side by side over the same window members
def relation_hits(plan: RelationPlan, index: int, c: Context) -> list[Hit]:
    """Findings of one relation of a duplicate, linkage or unbundling rule."""
    rule = plan.rule
    window, family = rule.window, rule.family
    rel = plan.relations[index]
    ident = relation_detail(family, rel)
    psn = c.claim.patient.psn_no
    hits: list[Hit] = []
    if family == "duplicate":
        kind, a, b = rel
        others = c.members(a, window, all_keys=True)
        for key, members in c.members(b, window).items():
            if key in others:
                lines = _mine(members, VIOLATING, True) + _mine(others[key], INVOLVED, False)
                facts = {"type": kind, "a": a, "b": b, "key": key}
                hits.append(Hit(rule, psn, c.mdtrt_id, f"{ident}|{key}", facts, lines))
    elif family == "linkage":
        item, any_of = rel
        linked: set[str] = set()
        for code in any_of:
            linked.update(c.members(code, window, all_keys=True))
        for key, members in c.members(item, window).items():
            if key not in linked:
                facts = {"item": item, "any_of": tuple(sorted(any_of)), "key": key}
                lines = _mine(members, VIOLATING, True)
                hits.append(Hit(rule, psn, c.mdtrt_id, f"{ident}|{key}", facts, lines))
    else:
        package, comps, _, k = rel
        components: tuple[str, ...] = comps
        mode = unbundling_mode(rule)
        packs = c.members(package, window, all_keys=True)
        by_key: dict[str, dict[str, list[Member]]] = {}
        for code in comps:
            for key, members in c.members(code, window, all_keys=True).items():
                by_key.setdefault(key, {})[code] = members
        for key, found in sorted(by_key.items()):
            mine = [x for ms in found.values() for x in _mine(ms, VIOLATING, True)]
            if not mine:
                continue
            present = tuple(sorted(found))
            facts = {"package": package, "present": present, "k": k, "key": key}
            facts["components"] = components
            if key in packs and mode in ("with_package", "both"):
                lines = mine + _mine(packs[key], INVOLVED, False)
                facts["mode"] = "with_package"
            elif key not in packs and mode in ("instead", "both") and len(present) >= k:
                lines = mine
                facts["mode"] = "instead"
            else:
                continue
            hits.append(Hit(rule, psn, c.mdtrt_id, f"{ident}|{key}", facts, lines))
    return hits
