"""The knowledge base (知识库) as the bureau's data (ADR 0021): a knowledge version holds
item relations and per-item restrictions that replace the catalogue entry's.  Edited
only as a draft; every ``do_…`` writes its audit row and never commits."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from yibao.audit.service import Actor
from yibao.engines.audit import AuditError, Knowledge, describe_relation
from yibao.engines.catalogue import describe, dump_restrictions, parse_restrictions
from yibao.kit.errors import ValidationFailed
from yibao.supervision.models import KnowledgeRelation, KnowledgeRestriction, KnowledgeVersion
from yibao.supervision.schemas import RelationIn, RestrictionIn
from yibao.supervision.service import audit_change, draft_of


def relation_data(body: RelationIn | dict[str, Any], where: str = "relation") -> dict[str, Any]:
    """A relation checked by the engine, as stored (422 naming the field)."""
    raw = (
        body.model_dump(exclude_none=True, exclude={"note"})
        if isinstance(body, RelationIn)
        else body
    )
    try:
        rel = Knowledge.from_data(relations=[raw]).relations[0]
    except AuditError as exc:
        field = (exc.field or "").replace("relations[0]", where)
        raise ValidationFailed(
            exc.message.replace("知识库第 1 条项目关系", "项目关系").replace("relations[0].", ""),
            field=field,
        ) from None
    return rel.model_dump(mode="json")


def restriction_data(code: str, raw: Any) -> list[dict[str, Any]]:
    """Restrictions checked by the catalogue engine, as stored."""
    try:
        return dump_restrictions(parse_restrictions(raw)) or []
    except ValueError as exc:
        raise ValidationFailed(f"项目 {code} 的使用限制：{exc}", field="restrictions") from None


def relation_text(row: KnowledgeRelation) -> str:
    return describe_relation(Knowledge.from_data(relations=[row.body]).relations[0])


def restriction_text(rules: list[dict[str, Any]]) -> str:
    return "；".join(describe(r) for r in parse_restrictions(rules)) or "（无限制）"


def do_add_relation(
    session: Session, version_id: int, body: RelationIn, *, actor: Actor
) -> KnowledgeRelation:
    row = draft_of(session, KnowledgeVersion, version_id, actor)
    data = relation_data(body)
    rel = KnowledgeRelation(version_id=row.id, kind=data["kind"], body=data, note=body.note)
    session.add(rel)
    session.flush()
    audit_change(session, actor, row, "relation.add", after={"id": rel.id, **data})
    return rel


def _relation(session: Session, row: KnowledgeVersion, relation_id: int) -> KnowledgeRelation:
    rel = session.get(KnowledgeRelation, relation_id)
    if rel is None or rel.version_id != row.id:
        raise ValidationFailed(
            f"relation_id：项目关系 {relation_id} 不在这个版本中", field="relation_id"
        )
    return rel


def do_edit_relation(
    session: Session, version_id: int, relation_id: int, body: RelationIn, *, actor: Actor
) -> KnowledgeRelation:
    row = draft_of(session, KnowledgeVersion, version_id, actor)
    rel = _relation(session, row, relation_id)
    before = dict(rel.body)
    data = relation_data(body)
    rel.kind, rel.body, rel.note = data["kind"], data, body.note
    session.flush()
    audit_change(session, actor, row, "relation.edit", before=before, after={"id": rel.id, **data})
    return rel


def do_delete_relation(
    session: Session, version_id: int, relation_id: int, *, actor: Actor
) -> None:
    row = draft_of(session, KnowledgeVersion, version_id, actor)
    rel = _relation(session, row, relation_id)
    audit_change(session, actor, row, "relation.delete", before={"id": rel.id, **rel.body})
    session.delete(rel)
    session.flush()


def do_put_restrictions(
    session: Session, version_id: int, code: str, body: RestrictionIn, *, actor: Actor
) -> KnowledgeRestriction:
    """Set an item's restrictions in a draft (they replace the catalogue entry's)."""
    row = draft_of(session, KnowledgeVersion, version_id, actor)
    rules = restriction_data(code, body.restrictions)
    stored = session.scalar(
        select(KnowledgeRestriction).where(
            KnowledgeRestriction.version_id == row.id, KnowledgeRestriction.code == code
        )
    )
    before = {"code": code, "restrictions": stored.restrictions} if stored else None
    if stored is None:
        stored = KnowledgeRestriction(
            version_id=row.id, code=code, name=body.name, restrictions=rules
        )
        session.add(stored)
    else:
        stored.name, stored.restrictions = body.name or stored.name, rules
    session.flush()
    audit_change(
        session,
        actor,
        row,
        "restriction.put",
        before=before,
        after={"code": code, "restrictions": rules},
    )
    return stored


def do_delete_restrictions(session: Session, version_id: int, code: str, *, actor: Actor) -> None:
    """Drop an item from a draft (the catalogue entry's restrictions apply again)."""
    row = draft_of(session, KnowledgeVersion, version_id, actor)
    stored = session.scalar(
        select(KnowledgeRestriction).where(
            KnowledgeRestriction.version_id == row.id, KnowledgeRestriction.code == code
        )
    )
    if stored is None:
        raise ValidationFailed(f"code：项目 {code} 在这个版本中没有使用限制", field="code")
    audit_change(
        session,
        actor,
        row,
        "restriction.delete",
        before={"code": code, "restrictions": stored.restrictions},
    )
    session.delete(stored)
    session.flush()
