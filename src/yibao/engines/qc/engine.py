"""Run a rule set on settlement lists: compile once, check one list or a batch.

>>> from yibao.engines.grouper import PlanRegistry
>>> plan = PlanRegistry().get("chs-drg-1.1")                     # doctest: +SKIP
>>> findings = check_list(message, default_ruleset(), plan)      # doctest: +SKIP
>>> batch = check_batch(messages, default_ruleset(), plan)       # doctest: +SKIP
>>> batch.held_count, batch.to_frame()                           # doctest: +SKIP
"""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass

import polars as pl
from pydantic import ValidationError

from yibao.engines.grouper import CompiledPlan, Plan
from yibao.engines.qc.checks import PRIMITIVES, CheckFn, PlanView, Reporter
from yibao.engines.qc.findings import STRUCTURE_NAME, STRUCTURE_RULE, Finding, Severity
from yibao.engines.qc.intake import ParsedList, gc_paused, parse_list
from yibao.engines.qc.ruleset import RuleSet, RuleSetError, explain
from yibao.engines.qc.values import safe_value

#: findings listed per rule and list; a hostile list (10,000 diagnoses) cannot flood storage
MAX_FINDINGS_PER_RULE = 50

FINDING_COLUMNS: dict[str, pl.DataType | type[pl.DataType]] = {
    "index": pl.Int64,
    "setl_id": pl.String,
    "rule_id": pl.String,
    "severity": pl.String,
    "kind": pl.String,
    "field": pl.String,
    "value": pl.String,
    "message": pl.String,
}


class QcChecker:
    """A rule set compiled against a plan; thread-safe, reusable.

    Only enabled rules are compiled, in file order; findings come out in that order
    after the intake's structural (``QC000``) findings.
    """

    def __init__(self, ruleset: RuleSet, plan: CompiledPlan | Plan) -> None:
        self.ruleset = ruleset
        self.plan = PlanView.of(plan)
        self._checks: list[tuple[Reporter, CheckFn]] = []
        for i, rule in enumerate(ruleset.rules):
            if not rule.enabled:
                continue
            where = f"rules[{i}]（{rule.id}）"
            try:
                params = rule.parsed_params()
                rep = Reporter(rule.id, rule.name, rule.kind, rule.severity, rule.advice)
                self._checks.append((rep, PRIMITIVES[rule.check].build(params, rep, self.plan)))
            except ValidationError as exc:
                place, text = explain(exc)[0]
                place = f"params.{place}" if place else "params"
                raise RuleSetError(
                    f"规则集 {ruleset.code} {ruleset.version}：{where}.{place}：{text}",
                    f"rules[{i}].{place}",
                ) from None
            except ValueError as exc:
                head = f"规则集 {ruleset.code} {ruleset.version}：{where}.params"
                raise RuleSetError(
                    f"{head}：{exc}（分组方案 {self.plan.id}）", f"rules[{i}].params"
                ) from None

    def check(self, item: ParsedList | object) -> list[Finding]:
        """Findings of one list (a :class:`ParsedList` or a raw message).

        At most :data:`MAX_FINDINGS_PER_RULE` findings per rule (and of the intake's
        ``QC000``) are listed; the rest are counted in one more finding.
        """
        p = item if isinstance(item, ParsedList) else parse_list(item)
        out = list(p.problems)
        if len(out) > MAX_FINDINGS_PER_RULE:
            _cap(out, 0, STRUCTURE_RULE, STRUCTURE_NAME, "structure")
        msg = p.message
        if msg is None:
            return out
        for rep, check in self._checks:
            start = len(out)
            try:
                check(p, msg, out)
            except Exception as exc:  # a rule must never stop a batch
                out.append(_internal(rep, exc))
            if len(out) - start > MAX_FINDINGS_PER_RULE:
                _cap(out, start, rep.rule_id, rep.name, rep.kind)
        return out

    def check_batch(self, items: Iterable[ParsedList | object]) -> QcBatch:
        """Parse (when needed) and check every list; see :class:`QcBatch`.

        The cyclic garbage collector is paused meanwhile (see :func:`gc_paused`).
        """
        lists: list[ParsedList] = []
        findings: list[list[Finding]] = []
        with gc_paused():
            for i, item in enumerate(items):
                p = item if isinstance(item, ParsedList) else parse_list(item, i)
                lists.append(p)
                findings.append(self.check(p))
        return QcBatch(lists, findings)


def _internal(rep: Reporter, exc: Exception) -> Finding:
    """A blocking finding for a rule that failed on unexpected data (a bug to report)."""
    error = safe_value(f"{type(exc).__name__}: {exc}", 300)
    message = (
        f"规则 {rep.rule_id} {rep.name} 无法检查此清单（{error}）：清单暂缓处理，请联系系统管理员"
    )
    return Finding(rep.rule_id, "blocking", "$", None, message, "internal")


def _cap(out: list[Finding], start: int, rule_id: str, name: str, kind: str) -> None:
    """Keep the first :data:`MAX_FINDINGS_PER_RULE` findings from ``start`` on and
    count the others in one finding (on their common node, else ``$``)."""
    keep = start + MAX_FINDINGS_PER_RULE
    rest = out[keep:]
    del out[keep:]
    heads = {f.field.split(".", 1)[0].split("[", 1)[0] for f in rest}
    where = heads.pop() if len(heads) == 1 else "$"
    severity: Severity = "blocking" if any(f.blocking for f in rest) else rest[0].severity
    message = (
        f"规则 {rule_id} {name} 在此清单中另有 {len(rest)} 处问题未逐条列出"
        f"（每条规则最多列出 {MAX_FINDINGS_PER_RULE} 处）："
        "请按已列出的问题逐一检查同类数据后重新上传"
    )
    out.append(Finding(rule_id, severity, where, None, message, kind))


@dataclass(frozen=True, slots=True)
class QcBatch:
    """Lists and their findings, position by position."""

    lists: list[ParsedList]
    findings: list[list[Finding]]

    @property
    def held(self) -> list[bool]:
        """Per list: True when it has a blocking finding (held, not grouped)."""
        return [any(f.severity == "blocking" for f in fs) for fs in self.findings]

    @property
    def held_count(self) -> int:
        """Number of held lists."""
        return sum(self.held)

    def accepted(self) -> list[ParsedList]:
        """The lists without blocking findings (to be grouped, maybe with warnings)."""
        return [p for p, h in zip(self.lists, self.held, strict=True) if not h]

    def to_frame(self) -> pl.DataFrame:
        """One row per finding: :data:`FINDING_COLUMNS`."""
        rows = [
            (
                p.index if p.index is not None else i,
                p.setl_id,
                f.rule_id,
                f.severity,
                f.kind,
                f.field,
                f.value,
                f.message,
            )
            for i, (p, fs) in enumerate(zip(self.lists, self.findings, strict=True))
            for f in fs
        ]
        return pl.DataFrame(rows, schema=FINDING_COLUMNS, orient="row")

    def summary(self) -> pl.DataFrame:
        """Per rule: severity, findings and lists affected, most frequent first."""
        counts: Counter[tuple[str, str]] = Counter()
        lists: Counter[tuple[str, str]] = Counter()
        for fs in self.findings:
            keys = [(f.rule_id, f.severity) for f in fs]
            counts.update(keys)
            lists.update(set(keys))
        rows = [(r, s, n, lists[(r, s)]) for (r, s), n in counts.most_common()]
        schema = {
            "rule_id": pl.String,
            "severity": pl.String,
            "findings": pl.Int64,
            "lists": pl.Int64,
        }
        return pl.DataFrame(rows, schema=schema, orient="row")


_cache_lock = threading.Lock()
_cache: dict[tuple[int, int], tuple[RuleSet, object, QcChecker]] = {}
_CACHE_SIZE = 8


def compile_rules(ruleset: RuleSet, plan: CompiledPlan | Plan) -> QcChecker:
    """The :class:`QcChecker` of (ruleset, plan), compiled once and cached.

    Raises :class:`RuleSetError` when a rule's parameters do not fit the plan
    (e.g. an unknown code-list name).
    """
    key = (id(ruleset), id(plan))
    with _cache_lock:
        hit = _cache.get(key)
        if hit is not None and hit[0] is ruleset and hit[1] is plan:
            return hit[2]
    checker = QcChecker(ruleset, plan)
    with _cache_lock:
        if len(_cache) >= _CACHE_SIZE:
            _cache.pop(next(iter(_cache)))
        _cache[key] = (ruleset, plan, checker)
    return checker


def check_list(
    parsed: ParsedList | object, ruleset: RuleSet, plan: CompiledPlan | Plan
) -> list[Finding]:
    """Check one settlement list (parsed, or a raw 4101A message) → findings.

    Never raises for bad input: structural problems are ``QC000`` findings.
    """
    return compile_rules(ruleset, plan).check(parsed)


def check_batch(
    lists: Iterable[ParsedList | object], ruleset: RuleSet, plan: CompiledPlan | Plan
) -> QcBatch:
    """Parse (raw messages) and check a batch of lists; see :class:`QcBatch`."""
    return compile_rules(ruleset, plan).check_batch(lists)
