"""Compile once, audit at two speeds: :func:`compile_rules` → :class:`RuleSet`.

>>> from datetime import date
>>> from decimal import Decimal as D
>>> from yibao.engines.audit import Claim, Encounter, Knowledge, Line, Patient
>>> k = Knowledge.from_data(items=[{"code": "X1", "name": "前列腺特异抗原测定",
...     "kind": "service", "fee_type": "04", "chrgitm_lv": "01",
...     "restrictions": [{"kind": "sex", "sex": "1"}]}])
>>> rs = compile_rules([{"rule_id": "SEX01", "version": 1, "name": "限性别项目",
...     "family": "sex", "stages": ["pre", "mid", "post"], "result_type": "definite"}],
...     k, on=date(2024, 1, 1))
>>> claim = Claim(Patient("P1", "2", date(1980, 5, 1)),
...     Encounter("M1", "otp", "2", date(2024, 3, 1), insutype="310"),
...     (Line("R1", "X1", D(1), D("30.00"), D("30.00"), date(2024, 3, 1)),))
>>> [(f.rule_id, f.vola_amt, f.vola_cont) for f in rs.audit(claim, stage="mid", trig_scen=6)]
[('SEX01', Decimal('30.00'), '前列腺特异抗原测定（X1）限男性使用，患者为女性：1 条明细 30.00 元')]
"""

from __future__ import annotations

import threading
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import Any

import polars as pl

from yibao.engines.audit import batch
from yibao.engines.audit.claims import Claim, Line
from yibao.engines.audit.errors import AuditError
from yibao.engines.audit.findings import Finding, Hit, one_course_amount, to_finding
from yibao.engines.audit.knowledge import Knowledge
from yibao.engines.audit.plans import CompiledRule, ItemPlan, Plan, RelationPlan, build_plans
from yibao.engines.audit.rules import STAGES, TRIG_STAGE, Rule
from yibao.engines.audit.single import (
    Context,
    Test,
    count_hits,
    line_hit,
    relation_hits,
    test_of,
)


@dataclass(frozen=True, slots=True)
class _Index:
    """Checks by item code for one stage and trigger scenario."""

    items: dict[str, tuple[tuple[ItemPlan, Any, Test | None], ...]]
    relations: dict[str, tuple[tuple[RelationPlan, int], ...]]


def flagged_codes(plan: RelationPlan, index: int) -> tuple[str, ...]:
    """The codes whose lines a relation flags (the claim must hold one for it to run)."""
    rel = plan.relations[index]
    if plan.rule.family == "duplicate":
        return (str(rel[2]),)
    if plan.rule.family == "linkage":
        return (str(rel[0]),)
    return tuple(rel[1])


@dataclass(slots=True)
class RuleSet:
    """Rules active on ``on``, compiled against ``knowledge``; thread-safe, reusable."""

    on: date
    knowledge: Knowledge
    plans: tuple[Plan, ...]
    names: Mapping[str, str]
    _indexes: dict[tuple[str, int | None], _Index] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    @property
    def rules(self) -> tuple[CompiledRule, ...]:
        """The compiled rules, in input order."""
        return tuple(p.rule for p in self.plans)

    def _index(self, stage: str, trig_scen: int | None) -> _Index:
        if stage not in STAGES:
            raise AuditError(f"stage 须为 {'、'.join(STAGES)}（收到 {stage!r}）", field="stage")
        if trig_scen is not None:
            if trig_scen not in TRIG_STAGE:
                raise AuditError(f"trig_scen 须为 1–10（收到 {trig_scen!r}）", field="trig_scen")
            if TRIG_STAGE[trig_scen] != stage:
                raise AuditError(
                    f"trig_scen：触发场景 {trig_scen} 属于{STAGES[TRIG_STAGE[trig_scen]]}，"
                    f"与审核阶段{STAGES[stage]}不符",
                    field="trig_scen",
                )
        key = (stage, trig_scen)
        found = self._indexes.get(key)
        if found is None:
            with self._lock:
                found = self._indexes.get(key) or self._build(stage, trig_scen)
                self._indexes[key] = found
        return found

    def _build(self, stage: str, trig_scen: int | None) -> _Index:
        items: dict[str, list[tuple[ItemPlan, Any, Test | None]]] = {}
        rels: dict[str, list[tuple[RelationPlan, int]]] = {}
        for plan in self.plans:
            if not plan.rule.runs(stage, trig_scen):
                continue
            if isinstance(plan, ItemPlan):
                test = test_of(plan.rule)
                for code, value in plan.values.items():
                    items.setdefault(code, []).append((plan, value, test))
            else:
                for i in range(len(plan.relations)):
                    for code in dict.fromkeys(flagged_codes(plan, i)):
                        rels.setdefault(code, []).append((plan, i))
        return _Index(
            {k: tuple(v) for k, v in items.items()}, {k: tuple(v) for k, v in rels.items()}
        )

    def selected(
        self, stage: str, trig_scen: int | None = None, rule_ids: Iterable[str] | None = None
    ) -> list[Plan]:
        """The plans that run at ``stage`` / ``trig_scen``, limited to ``rule_ids``."""
        self._index(stage, trig_scen)
        wanted = None if rule_ids is None else self._wanted(rule_ids)
        return [
            p
            for p in self.plans
            if p.rule.runs(stage, trig_scen) and (wanted is None or p.rule.index in wanted)
        ]

    def _wanted(self, rule_ids: Iterable[str], on: date | None = None) -> frozenset[int]:
        """The indexes of ``rule_ids``; ``on``: the day audited (the rule set is the
        one in force then, compiled perhaps for an earlier day of the same versions)."""
        by_id = {p.rule.rule_id: p.rule.index for p in self.plans}
        ids = list(rule_ids)
        unknown = [r for r in ids if r not in by_id]
        if unknown:
            raise AuditError(
                f"rule_ids：规则 {'、'.join(unknown[:5])} 不存在或在 {on or self.on} 未启用",
                field="rule_ids",
            )
        return frozenset(by_id[r] for r in ids)

    def audit(
        self,
        claim: Claim,
        *,
        stage: str,
        trig_scen: int | None = None,
        rule_ids: Iterable[str] | None = None,
        history: Sequence[Claim] = (),
    ) -> list[Finding]:
        """Findings of one claim (事前 ``pre`` / 事中 ``mid`` in real time, or ``post``).

        ``trig_scen`` (1–5 事前, 6–10 事中) keeps the rules listing it (and those listing
        none); ``rule_ids`` keeps only those rules (unknown ids: :class:`AuditError`);
        ``history`` holds the person's other claims, read by day and month windows (and
        by visit windows for lines of the same ``mdtrt_id`` sent earlier)."""
        index = self._index(stage, trig_scen)
        day = claim.encounter.begin_date
        wanted = None if rule_ids is None else self._wanted(rule_ids, day)
        c = Context.of(claim, history)
        by_code = c.by_code
        items, rels = index.items, index.relations
        line_hits: dict[tuple[ItemPlan, str], list[Line]] = {}
        counts: dict[tuple[ItemPlan, str], None] = {}
        touched: dict[tuple[RelationPlan, int], None] = {}
        for line in claim.lines:
            if line.quantity <= 0:
                continue
            code = line.item_code
            by_code.setdefault(code, []).append(line)
            for plan, value, test in items.get(code, ()):
                if wanted is not None and plan.rule.index not in wanted:
                    continue
                if test is None:
                    counts[(plan, code)] = None
                elif test(value, line, c):
                    line_hits.setdefault((plan, code), []).append(line)
            for rplan, i in rels.get(code, ()):
                if wanted is None or rplan.rule.index in wanted:
                    touched[(rplan, i)] = None
        hits: list[Hit] = [line_hit(p, code, lines, c) for (p, code), lines in line_hits.items()]
        for p, code in counts:
            hits.extend(count_hits(p, code, c))
        for rp, i in touched:
            hits.extend(relation_hits(rp, i, c))
        hits.sort(key=lambda h: (h.rule.index, h.detail))
        return [to_finding(h, self.names) for h in one_course_amount(hits)]

    def audit_frames(
        self,
        patients: pl.DataFrame,
        encounters: pl.DataFrame,
        diagnoses: pl.DataFrame,
        lines: pl.DataFrame,
        *,
        stage: str = "post",
        trig_scen: int | None = None,
        rule_ids: Iterable[str] | None = None,
    ) -> pl.DataFrame:
        """Findings of every encounter in the frames (事后, a month of claims), one row
        per finding (:data:`yibao.engines.audit.batch.FINDING_SCHEMA`); frame columns in
        :mod:`yibao.engines.audit.batch`.  The same findings as :meth:`audit` of each
        claim with the person's other claims as ``history``."""
        plans = self.selected(stage, trig_scen, rule_ids)
        return batch.audit_frames(plans, self.names, patients, encounters, diagnoses, lines)


def compile_rules(
    rules: Iterable[Rule | Mapping[str, Any]], knowledge: Knowledge, on: date
) -> RuleSet:
    """Compile the rules enabled and valid on ``on`` against ``knowledge`` (module
    docstring).  Bad rules raise :class:`AuditError` naming the rule and field."""
    plans = build_plans(rules, knowledge, on)
    names = {code: item.name for code, item in knowledge.items.items()}
    return RuleSet(on=on, knowledge=knowledge, plans=tuple(plans), names=names)
