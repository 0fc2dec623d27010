"""The compiled rule set of a treating place, kept in the process (ADR 0021).

:func:`current_ruleset` looks up which versions are in force (catalogue, knowledge,
rule set) at most every :data:`~yibao.supervision.notify.CHECK_S` seconds per place and
day, and compiles once per combination of version ids and rules valid on the day (days
that agree share one compilation): a publication is seen at once
in the publishing process, within about a second in the others (PostgreSQL
LISTEN/NOTIFY or Redis), and at the latest after the id check even if a notice was
lost.
"""

from __future__ import annotations

import itertools
import threading
import time
from dataclasses import dataclass
from datetime import date
from typing import Any

from sqlalchemy import Engine, or_, select
from sqlalchemy.orm import Session

from yibao.catalogue.repository import version_in_force as catalogue_version_in_force
from yibao.engines.audit import RuleSet, compile_rules
from yibao.kit import heap
from yibao.kit.cache import TTLCache
from yibao.kit.errors import NotFound
from yibao.supervision import notify
from yibao.supervision.models import KnowledgeVersion, RuleSetVersion
from yibao.supervision.repository import KNOWLEDGE, in_force, knowledge_for, rules_of


@dataclass(frozen=True)
class Current:
    """What is in force for a place and day, and the compiled rules."""

    rule_set_id: int
    rule_set_version: int
    knowledge_id: int | None
    ruleset: RuleSet
    compiled_at: float
    generation: int


_IDS: TTLCache[tuple[int, int, int | None, int | None] | None] = TTLCache(max_entries=4096)
#: the rules of a published (hence immutable) rule set: (rule, validity) as stored
_RULES: TTLCache[list[tuple[dict[str, Any], bool, date | None, date | None]]] = TTLCache(
    max_entries=64
)
_COMPILED: TTLCache[Current] = TTLCache(max_entries=64)
_KEEP_S = 24 * 3600.0
#: (place, day) → (when looked up, generation, answer): :func:`current` answers again
#: without any look-up for CHECK_S seconds, as long as no change was seen (it is asked
#: for every real-time audit)
_LATEST: dict[tuple[str, date], tuple[float, int, Current]] = {}
_generation = itertools.count(1)
_state = {"generation": 0}
_lock = threading.Lock()


def _drop(_reason: str) -> None:
    with _lock:
        _state["generation"] = next(_generation)
    _LATEST.clear()
    _IDS.clear()
    _RULES.clear()
    _COMPILED.clear()
    KNOWLEDGE.clear()


notify.subscribe(_drop)


def generation() -> int:
    """How many changes this process has seen (for the status endpoint and tests)."""
    return _state["generation"]


def current(session: Session, admdvs: str, on: date) -> Current:
    """The rule set in force for ``admdvs`` on ``on``, compiled (404 when none)."""
    place = admdvs[:4] + "00"
    seen = _state["generation"]
    hit = _LATEST.get((place, on))
    if hit is not None and hit[1] == seen and time.monotonic() - hit[0] < notify.CHECK_S:
        return hit[2]
    looked_up = time.monotonic()
    bind = session.get_bind()
    engine = bind if isinstance(bind, Engine) else bind.engine
    notify.ensure_listening(engine.url.render_as_string(hide_password=False))

    def ids() -> tuple[int, int, int | None, int | None] | None:
        rs = in_force(session, RuleSetVersion, admdvs, on)
        if rs is None:
            return None
        kn = in_force(session, KnowledgeVersion, admdvs, on)
        cat = catalogue_version_in_force(session, admdvs, on)
        return rs.id, rs.version, kn.id if kn else None, cat.id if cat else None

    found = _IDS.get((place, on), notify.CHECK_S, ids)
    if found is None:
        raise NotFound(f"就医地 {admdvs} 在 {on} 没有已发布的规则库", field="admdvs")
    set_id, set_version, knowledge_id, catalogue_id = found

    def stored() -> list[tuple[dict[str, Any], bool, date | None, date | None]]:
        return [(r.data(), r.enabled, r.valid_from, r.valid_to) for r in rules_of(session, set_id)]

    rules = _RULES.get(set_id, _KEEP_S, stored)
    # the compiled set depends on the day only through the rules valid on it and the
    # catalogue in force: days that agree on both share one compilation (a stay admitted
    # weeks ago is not compiled again for its own day)
    active = tuple(
        i
        for i, (_, enabled, start, end) in enumerate(rules)
        if enabled and (start is None or start <= on) and (end is None or on <= end)
    )

    def build() -> Current:
        kn = session.get(KnowledgeVersion, knowledge_id) if knowledge_id else None
        knowledge = knowledge_for(session, admdvs, on, kn)
        ruleset = compile_rules([rules[i][0] for i in active], knowledge, on)
        heap.keep()  # kept for hours: out of the collector's full scans (kit.heap)
        return Current(set_id, set_version, knowledge_id, ruleset, time.time(), generation())

    key = (place, set_id, knowledge_id, catalogue_id, active)
    answer = _COMPILED.get(key, _KEEP_S, build)
    if len(_LATEST) >= 4096:
        _LATEST.clear()
    _LATEST[(place, on)] = (looked_up, seen, answer)
    return answer


def warm(engine: Engine, on: date) -> list[str]:
    """Compile the rule set in force on ``on`` for every region that has one published,
    so that the first audits after a (re)start do not wait for the compilation (a second
    or more with a full catalogue); the regions warmed."""
    valid = (
        RuleSetVersion.status == "published",
        RuleSetVersion.valid_from <= on,
        or_(RuleSetVersion.valid_to.is_(None), RuleSetVersion.valid_to >= on),
    )
    with Session(engine) as session:
        regions = session.scalars(select(RuleSetVersion.region_code).where(*valid).distinct())
        warmed = sorted(set(regions))
        for region in warmed:
            current(session, region, on)
    return warmed


def current_ruleset(session: Session, admdvs: str, on: date) -> RuleSet:
    """The compiled :class:`RuleSet` in force for ``admdvs`` on ``on``."""
    return current(session, admdvs, on).ruleset
