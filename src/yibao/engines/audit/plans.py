"""Rules compiled against the knowledge base: one plan per active rule.

An :class:`ItemPlan` (the item families) maps each item code it concerns to the value
its check reads (the restriction's bound, the cap, the limit); a :class:`RelationPlan`
(duplicate, linkage, unbundling) holds the relations it checks.  Both the single-claim
path and the batch path read the same plans, which is what keeps them in step.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any, Final

from yibao.engines.audit.errors import AuditError
from yibao.engines.audit.knowledge import Exclusive, Inclusive, Knowledge, Package, Requires
from yibao.engines.audit.rules import (
    FAMILIES,
    TRIG_STAGE,
    CourseParams,
    DuplicateParams,
    FrequencyParams,
    IndicationParams,
    PhantomParams,
    QuantityParams,
    Rule,
    ScopeParams,
    UnbundlingParams,
)
from yibao.engines.catalogue.model import CatalogueItem
from yibao.engines.catalogue.restrictions import (
    AgeRule,
    CourseRule,
    DepartmentRule,
    FrequencyRule,
    IndicationRule,
    InsutypeRule,
    LevelRule,
    QuantityRule,
    SettingRule,
    SexRule,
)

LINE_FAMILIES: Final = (
    "sex",
    "age",
    "indication",
    "care_mode",
    "institution",
    "insutype",
    "specialty",
    "price",
)
COUNT_FAMILIES: Final = ("quantity", "frequency", "course", "phantom")
RELATION_FAMILIES: Final = ("duplicate", "linkage", "unbundling")
HOURLY_UNITS: Final = ("小时",)
DAILY_UNITS: Final = ("日", "天", "床日")
HOURS_PER_DAY: Final = Decimal(24)


@dataclass(frozen=True, slots=True, eq=False)
class CompiledRule:
    """A rule's identity and metadata as findings carry them."""

    index: int
    rule_id: str
    version: int
    name: str
    family: str
    window: str
    result_type: str
    sev_deg: int
    stages: frozenset[str]
    trig: frozenset[int]
    params: ScopeParams
    #: the stages the rule's scenarios narrow (:data:`TRIG_STAGE` of each)
    trig_stages: frozenset[str] = frozenset()

    def runs(self, stage: str, trig_scen: int | None) -> bool:
        """Whether the rule runs at ``stage`` for ``trig_scen`` (None: any).  The rule's
        scenarios narrow the stages they belong to: a 事前+事中 rule naming only 事前
        scenarios runs at every 事中 scenario (its stages say it runs there)."""
        if stage not in self.stages:
            return False
        if trig_scen is None or trig_scen in self.trig:
            return True
        return stage not in self.trig_stages


@dataclass(frozen=True, slots=True, eq=False)
class ItemPlan:
    """An item family's rule: ``values`` item code → what its check reads."""

    rule: CompiledRule
    values: Mapping[str, Any]


#: a relation as a plan holds it: a duplicate pair (type, a, b) — b's lines are the
#: duplicate; a required link (item, any_of); a package (package, components in order,
#: components as a set, min_components)
Rel = tuple[Any, ...]


@dataclass(frozen=True, slots=True, eq=False)
class RelationPlan:
    """A relation family's rule and the relations it checks."""

    rule: CompiledRule
    relations: tuple[Rel, ...]


Plan = ItemPlan | RelationPlan


def build_plans(
    rules: Iterable[Rule | Mapping[str, Any]], knowledge: Knowledge, on: date
) -> list[Plan]:
    """Plans of the rules enabled and valid on ``on``, in input order.

    Two active versions of one ``rule_id`` are refused (:class:`AuditError`)."""
    plans: list[Plan] = []
    seen: dict[str, int] = {}
    for i, raw in enumerate(rules):
        rule = raw if isinstance(raw, Rule) else Rule.from_data(raw, f"第 {i + 1} 条规则")
        if not rule.active_on(on):
            continue
        if rule.rule_id in seen:
            raise AuditError(
                f"规则 {rule.rule_id} 在 {on} 有两个有效版本（第 {seen[rule.rule_id]} 版和第 "
                f"{rule.version} 版）",
                field=f"rules[{i}].version",
            )
        seen[rule.rule_id] = rule.version
        compiled = CompiledRule(
            index=len(plans),
            rule_id=rule.rule_id,
            version=rule.version,
            name=rule.name,
            family=rule.family,
            window=rule.window,
            result_type=rule.result_type,
            sev_deg=rule.sev_deg,
            stages=frozenset(rule.stages),
            trig=frozenset(rule.trig_scen),
            params=rule.params_model(),
            trig_stages=frozenset(TRIG_STAGE[n] for n in rule.trig_scen),
        )
        if rule.family in RELATION_FAMILIES:
            plans.append(RelationPlan(compiled, _relations(compiled, knowledge)))
        else:
            plans.append(ItemPlan(compiled, _values(compiled, knowledge)))
    return plans


def _values(rule: CompiledRule, knowledge: Knowledge) -> dict[str, Any]:
    params = rule.params
    codes = params.codes if params.codes is not None else tuple(knowledge.items)
    out: dict[str, Any] = {}
    for code in codes:
        value = _value(rule, params, code, knowledge.items.get(code))
        if value is not None:
            out[code] = value
    return out


# long: one branch per item family, each reading its restriction — a table of small cases
def _value(rule: CompiledRule, params: ScopeParams, code: str, item: CatalogueItem | None) -> Any:
    family, window = rule.family, rule.window
    if family == "quantity":
        assert isinstance(params, QuantityParams)
        override = params.max_per_day if window == "day" else params.max_per_visit
        if override is not None:
            return override
        q = _restriction(item, QuantityRule)
        return None if q is None else (q.per_day if window == "day" else q.per_stay)
    if family == "frequency":
        assert isinstance(params, FrequencyParams)
        if params.max_times is not None:
            return Decimal(params.max_times)
        f = _restriction(item, FrequencyRule, window)
        return None if f is None else Decimal(f.max_times)
    if family == "course":
        assert isinstance(params, CourseParams)
        if params.max_sessions is not None or params.max_days is not None:
            return (params.max_sessions, params.max_days)
        c = _restriction(item, CourseRule, window)
        return None if c is None else (c.max_sessions, c.max_days)
    if family == "phantom":
        assert isinstance(params, PhantomParams)
        if params.codes is not None:
            return True
        units = params.units or (HOURLY_UNITS if window == "day" else DAILY_UNITS)
        return True if item is not None and item.unit in units else None
    if item is None:
        return None
    if family == "price":
        return dict(item.caps) if item.caps else None
    kind = FAMILIES[family].restriction
    r = next((x for x in item.restrictions if x.kind == kind), None)
    if r is None:
        return None
    if isinstance(r, SexRule):
        return r.sex
    if isinstance(r, AgeRule):
        return (r.min_years, r.max_years)
    if isinstance(r, IndicationRule):
        return tuple(r.diagnoses)
    if isinstance(r, SettingRule):
        return "ipt" if r.setting == "inpatient" else "otp"
    if isinstance(r, LevelRule):
        return r.min_level
    if isinstance(r, InsutypeRule):
        return frozenset(r.insutypes)
    if isinstance(r, DepartmentRule):
        return tuple(r.departments)
    return None


def _restriction(item: CatalogueItem | None, cls: type[Any], per: str = "") -> Any:
    if item is None:
        return None
    for r in item.restrictions:
        if isinstance(r, cls) and (not per or getattr(r, "per", "") == per):
            return r
    return None


def _relations(rule: CompiledRule, knowledge: Knowledge) -> tuple[Rel, ...]:
    params = rule.params
    codes = None if params.codes is None else frozenset(params.codes)
    out: list[Rel] = []
    for rel in knowledge.relations:
        if rule.family == "duplicate" and isinstance(rel, Exclusive | Inclusive):
            assert isinstance(params, DuplicateParams)
            if rel.kind not in params.types:
                continue
            a, b = rel.codes if isinstance(rel, Exclusive) else (rel.whole, rel.part)
            if codes is None or a in codes or b in codes:
                out.append((rel.kind, a, b))
        elif rule.family == "linkage" and isinstance(rel, Requires):
            if codes is None or rel.item in codes:
                out.append((rel.item, frozenset(rel.any_of)))
        elif rule.family == "unbundling" and isinstance(rel, Package):
            assert isinstance(params, UnbundlingParams)
            if codes is None or rel.package in codes:
                comps = tuple(rel.components)
                out.append((rel.package, comps, frozenset(comps), rel.min_components))
    # a relation listed twice (any_of or components in another order) is checked once
    unique: dict[str, Rel] = {}
    for r in out:
        unique.setdefault(relation_detail(rule.family, r), r)
    return tuple(unique.values())


def relation_detail(family: str, rel: Rel) -> str:
    """What identifies a relation in its findings' ``jr_id`` (with the window key): the
    whole relation, not only its flagged item — two ``requires`` of one item (or two
    packages of one package code) are two relations, two findings, two ids.

    >>> relation_detail("linkage", ("A001", frozenset({"S103", "O001"})))
    'requires:A001:O001+S103'
    """
    if family == "duplicate":
        return f"{rel[0]}:{rel[1]}:{rel[2]}"
    if family == "linkage":
        return f"requires:{rel[0]}:{'+'.join(sorted(rel[1]))}"
    return f"package:{rel[0]}:{'+'.join(sorted(rel[2]))}:{rel[3]}"


def principal_only(rule: CompiledRule) -> bool:
    """An indication rule that accepts only the principal diagnosis."""
    return isinstance(rule.params, IndicationParams) and rule.params.principal_only


def unbundling_mode(rule: CompiledRule) -> str:
    """with_package, instead or both."""
    return rule.params.mode if isinstance(rule.params, UnbundlingParams) else "both"
