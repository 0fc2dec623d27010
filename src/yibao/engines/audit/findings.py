"""Findings: what a rule found on an encounter, with the lines involved.

Fields follow the 3101/3102 output (domain.md §4.2): ``result[]`` → :class:`Finding`
(``jr_id``, ``rule_id``, ``rule_name``, ``vola_cont``, ``vola_amt``, ``sev_deg``,
``vola_evid``, ``vola_bhvr_type``) and ``judge_result_detail_dtos[]`` →
:class:`FindingLine` (``rx_id``, ``vola_item_type`` 1 违规项 / 2 涉及项, ``vola_amt``).

``jr_id`` is deterministic: the first 32 hex digits of BLAKE2b over the rule id, its
version, the encounter, the finding's detail (the item, or the whole relation —
:func:`~yibao.engines.audit.plans.relation_detail` —, window key, measure) and the
sorted ``rx_id`` of its lines — the same finding gets the same id in real time, in
batch and on a rerun, and two findings of one audit never share an id.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, Final

from yibao.engines.audit.plans import CompiledRule
from yibao.engines.audit.texts import render

VIOLATING: Final = 1  # 违规项
INVOLVED: Final = 2  # 涉及项


@dataclass(frozen=True, slots=True)
class FindingLine:
    """A line of a finding (``judge_result_detail_dtos``)."""

    rx_id: str
    vola_item_type: int
    vola_amt: Decimal


@dataclass(frozen=True, slots=True)
class Finding:
    """One finding (``result[]`` of 3101/3102)."""

    jr_id: str
    rule_id: str
    rule_version: int
    rule_name: str
    family: str
    psn_no: str
    mdtrt_id: str
    vola_cont: str
    vola_amt: Decimal
    sev_deg: int
    vola_evid: str
    vola_bhvr_type: str
    result_type: str
    lines: tuple[FindingLine, ...]


@dataclass(slots=True)
class Hit:
    """A finding before its words and id: the facts its family's text reads and the
    lines as (rx_id, vola_item_type, fen)."""

    rule: CompiledRule
    psn_no: str
    mdtrt_id: str
    detail: str
    facts: dict[str, Any]
    lines: list[tuple[str, int, int]]


def one_course_amount(hits: list[Hit]) -> list[Hit]:
    """A course rule with both a session and a day limit can find the same line too
    many sessions *and* past the days: its two findings are kept (each says what was
    exceeded), but a line's amount counts once for the rule — the days finding keeps
    only what the sessions finding did not already count on that line.  Both paths
    (one claim, a month of claims) call this on their hits, so they stay equal."""
    sessions: dict[tuple[int, str, str], dict[str, int]] = {}
    for h in hits:
        if h.rule.family == "course" and h.detail.endswith("|sessions"):
            counted = sessions.setdefault((h.rule.index, h.mdtrt_id, h.detail[:-9]), {})
            for rx, kind, fen in h.lines:
                if kind == VIOLATING:
                    counted[rx] = counted.get(rx, 0) + fen
    if not sessions:
        return hits
    for h in hits:
        if not (h.rule.family == "course" and h.detail.endswith("|days")):
            continue
        left = sessions.get((h.rule.index, h.mdtrt_id, h.detail[:-5]))
        if not left:
            continue
        lines = []
        for rx, kind, fen in h.lines:
            if kind == VIOLATING and left.get(rx):
                taken = min(fen, left[rx])
                left[rx] -= taken
                fen -= taken
            lines.append((rx, kind, fen))
        h.lines = lines
    return hits


def jr_id(rule: CompiledRule, mdtrt_id: str, detail: str, rx_ids: list[str]) -> str:
    """The deterministic finding id (module docstring)."""
    text = "\x1f".join((rule.rule_id, str(rule.version), mdtrt_id, detail, *sorted(rx_ids)))
    return hashlib.blake2b(text.encode(), digest_size=16).hexdigest()


def fen_to_yuan(fen: int) -> Decimal:
    """Integer fen → Decimal yuan with two places."""
    return Decimal(fen).scaleb(-2)


def to_finding(hit: Hit, names: Mapping[str, str]) -> Finding:
    """The finding of a hit: lines sorted by (vola_item_type, rx_id), amounts summed
    over the violating lines, text by the family (:func:`render`)."""
    lines = sorted(hit.lines, key=lambda x: (x[1], x[0]))
    total = sum(fen for _, kind, fen in lines if kind == VIOLATING)
    rule = hit.rule
    cont, evid = render(rule.family, hit.facts, names, total, rule.window)
    return Finding(
        jr_id=jr_id(rule, hit.mdtrt_id, hit.detail, [x[0] for x in lines]),
        rule_id=rule.rule_id,
        rule_version=rule.version,
        rule_name=rule.name,
        family=rule.family,
        psn_no=hit.psn_no,
        mdtrt_id=hit.mdtrt_id,
        vola_cont=cont,
        vola_amt=fen_to_yuan(total),
        sev_deg=rule.sev_deg,
        vola_evid=evid,
        vola_bhvr_type=rule.family,
        result_type=rule.result_type,
        lines=tuple(FindingLine(rx, kind, fen_to_yuan(fen)) for rx, kind, fen in lines),
    )
