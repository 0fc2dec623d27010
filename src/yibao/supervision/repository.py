"""Supervision queries: versions a user may see, the versions in force for a treating
place and day, and the knowledge base the engine reads (cached per published
version, like :func:`yibao.catalogue.repository.catalogue_of`)."""

from __future__ import annotations

import json
from dataclasses import dataclass, replace
from datetime import date
from typing import Any, TypeVar

from sqlalchemy import ColumnElement, case, func, or_, select
from sqlalchemy.orm import Session

from yibao.catalogue.repository import catalogue_of
from yibao.catalogue.repository import version_in_force as catalogue_version_in_force
from yibao.engines.audit import Knowledge
from yibao.engines.catalogue import parse_restrictions
from yibao.kit.cache import TTLCache
from yibao.kit.errors import NotFound
from yibao.kit.paging import Page
from yibao.regions.models import region_prefix
from yibao.supervision.models import (
    KnowledgeRelation,
    KnowledgeRestriction,
    KnowledgeVersion,
    RuleSetVersion,
    StoredRule,
)

V = TypeVar("V", KnowledgeVersion, RuleSetVersion)
#: knowledge bases by (catalogue id, checksum, knowledge id): published rows never
#: change, so an entry never goes stale; dropped on every supervision change anyway
KNOWLEDGE: TTLCache[Knowledge] = TTLCache(max_entries=16)
_KEEP_S = 24 * 3600.0
WHAT = {KnowledgeVersion: "知识库版本", RuleSetVersion: "规则库版本"}


def visible(model: type[V], region_code: str) -> ColumnElement[bool]:
    """Versions a user of ``region_code`` sees: its province's and pooling region's and
    those of regions under it."""
    return or_(
        model.region_code.in_({region_code[:2] + "0000", region_code[:4] + "00"}),
        model.region_code.startswith(region_prefix(region_code)),
    )


def list_versions(session: Session, model: type[V], region_code: str | None) -> list[V]:
    """Versions newest first per region."""
    stmt = select(model).order_by(model.region_code, model.version.desc())
    if region_code:
        stmt = stmt.where(visible(model, region_code))
    return list(session.scalars(stmt))


def get_version(session: Session, model: type[V], version_id: int, region_code: str | None) -> V:
    """A version (404 when the user may not see it)."""
    stmt = select(model).where(model.id == version_id)
    if region_code:
        stmt = stmt.where(visible(model, region_code))
    row = session.scalar(stmt)
    if row is None:
        raise NotFound(f"{WHAT[model]} {version_id} 不存在", field="version_id")
    return row


def in_force(session: Session, model: type[V], admdvs: str, on: date) -> V | None:
    """The published version for a treating place (its pooling region's, else its
    province's) valid on ``on``."""
    for region in (admdvs[:4] + "00", admdvs[:2] + "0000"):
        row = session.scalar(
            select(model)
            .where(
                model.region_code == region,
                model.status == "published",
                model.valid_from <= on,
                or_(model.valid_to.is_(None), model.valid_to >= on),
            )
            .order_by(model.valid_from.desc())
            .limit(1)
        )
        if row is not None:
            return row
    return None


def relations_of(session: Session, version_id: int) -> list[KnowledgeRelation]:
    return list(
        session.scalars(
            select(KnowledgeRelation)
            .where(KnowledgeRelation.version_id == version_id)
            .order_by(KnowledgeRelation.id)
        )
    )


def restrictions_of(session: Session, version_id: int) -> list[KnowledgeRestriction]:
    return list(
        session.scalars(
            select(KnowledgeRestriction)
            .where(KnowledgeRestriction.version_id == version_id)
            .order_by(KnowledgeRestriction.code)
        )
    )


def knowledge_content(session: Session, version_id: int) -> list[dict[str, Any]]:
    """A version's content in a stable order (what its checksum covers)."""
    out: list[dict[str, Any]] = [
        {"restriction": r.code, "rules": r.restrictions}
        for r in restrictions_of(session, version_id)
    ]
    rels = sorted(
        ({"relation": r.body, "note": r.note} for r in relations_of(session, version_id)),
        key=lambda d: str(d),
    )
    return out + rels


def rules_of(session: Session, set_id: int) -> list[StoredRule]:
    return list(
        session.scalars(
            select(StoredRule).where(StoredRule.set_id == set_id).order_by(StoredRule.rule_id)
        )
    )


def knowledge_for(
    session: Session, admdvs: str, on: date, knowledge: KnowledgeVersion | None
) -> Knowledge:
    """The catalogue in force for ``admdvs`` on ``on`` with ``knowledge``'s restrictions
    replacing its entries' and ``knowledge``'s relations (a draft is read fresh)."""
    cat = catalogue_version_in_force(session, admdvs, on)
    if cat is None:
        raise NotFound(
            f"就医地 {admdvs} 在 {on} 没有已发布的医保目录：知识库以目录为基础", field="admdvs"
        )

    def load() -> Knowledge:
        items = dict(catalogue_of(session, cat))
        relations: list[dict[str, object]] = []
        if knowledge is not None:
            for r in restrictions_of(session, knowledge.id):
                if r.code in items:
                    rules = parse_restrictions(r.restrictions)
                    items[r.code] = replace(items[r.code], restrictions=rules)
            relations = [dict(r.body) for r in relations_of(session, knowledge.id)]
        return Knowledge.from_data(items.values(), relations)

    if knowledge is not None and knowledge.status == "draft":
        return load()
    key = (cat.id, cat.checksum, knowledge.id if knowledge else None)
    return KNOWLEDGE.get(key, _KEEP_S, load)


def knowledge_in_force(session: Session, admdvs: str, on: date) -> Knowledge:
    """The knowledge base of a treating place on ``on``: the catalogue in force with the
    published knowledge version in force (if any) over it; 404 without a catalogue."""
    return knowledge_for(session, admdvs, on, in_force(session, KnowledgeVersion, admdvs, on))


# ------------------------------------------------------------------ page read models


@dataclass(frozen=True)
class RuleFilter:
    """What the rule table of a version is narrowed to (all optional)."""

    family: str | None = None
    stage: str | None = None
    enabled: bool | None = None
    sev_deg: int | None = None
    q: str | None = None  # rule id or name, anywhere


def search_rules(
    session: Session, set_id: int, flt: RuleFilter, page: int, size: int
) -> Page[StoredRule]:
    """A page of a version's rules in rule-id order.  A version holds at most some
    thousands of rules, so the filter runs over the loaded rows (stages are JSON)."""
    rows = rules_of(session, set_id)
    q = (flt.q or "").casefold()
    hits = [
        r
        for r in rows
        if (flt.family is None or r.family == flt.family)
        and (flt.stage is None or flt.stage in (r.stages or []))
        and (flt.enabled is None or r.enabled == flt.enabled)
        and (flt.sev_deg is None or r.sev_deg == flt.sev_deg)
        and (not q or q in r.rule_id.casefold() or q in r.name.casefold())
    ]
    start = (page - 1) * size
    return Page(hits[start : start + size], len(hits), page, size)


def rule_counts(session: Session, set_ids: list[int]) -> dict[int, tuple[int, int]]:
    """Per rule-set version: (rules, enabled rules)."""
    if not set_ids:
        return {}
    stmt = (
        select(
            StoredRule.set_id,
            func.count(),
            func.sum(case((StoredRule.enabled.is_(True), 1), else_=0)),
        )
        .where(StoredRule.set_id.in_(set_ids))
        .group_by(StoredRule.set_id)
    )
    return {sid: (int(n), int(on or 0)) for sid, n, on in session.execute(stmt)}


def knowledge_counts(session: Session, ids: list[int]) -> dict[int, tuple[int, int]]:
    """Per knowledge version: (items with restrictions, relations)."""
    if not ids:
        return {}
    res = session.execute(
        select(KnowledgeRestriction.version_id, func.count())
        .where(KnowledgeRestriction.version_id.in_(ids))
        .group_by(KnowledgeRestriction.version_id)
    )
    rel = dict(
        session.execute(
            select(KnowledgeRelation.version_id, func.count())
            .where(KnowledgeRelation.version_id.in_(ids))
            .group_by(KnowledgeRelation.version_id)
        ).all()
    )
    out = {vid: (int(n), int(rel.get(vid, 0))) for vid, n in res}
    for vid, n in rel.items():
        out.setdefault(vid, (0, int(n)))
    return out


def search_restrictions(
    session: Session, version_id: int, q: str | None, page: int, size: int
) -> Page[KnowledgeRestriction]:
    """A page of a knowledge version's items (code prefix or name anywhere)."""
    stmt = select(KnowledgeRestriction).where(KnowledgeRestriction.version_id == version_id)
    if q:
        stmt = stmt.where(
            or_(
                KnowledgeRestriction.code.startswith(q, autoescape=True),
                KnowledgeRestriction.name.contains(q, autoescape=True),
            )
        )
    total = session.scalar(select(func.count()).select_from(stmt.subquery())) or 0
    rows = session.scalars(
        stmt.order_by(KnowledgeRestriction.code).offset((page - 1) * size).limit(size)
    )
    return Page(list(rows), int(total), page, size)


def search_relations(
    session: Session, version_id: int, kind: str | None, q: str | None, page: int, size: int
) -> Page[KnowledgeRelation]:
    """A page of a knowledge version's relations (by kind; an item code anywhere in it)."""
    rows = [
        r
        for r in relations_of(session, version_id)
        if (kind is None or r.kind == kind) and (not q or q in json.dumps(r.body))
    ]
    start = (page - 1) * size
    return Page(rows[start : start + size], len(rows), page, size)
