"""Excel import and export of knowledge versions and rule sets: an import replaces a
draft's whole content, all or nothing (every row is checked before anything is
written); the export of a version reads back unchanged."""

from __future__ import annotations

from sqlalchemy import delete
from sqlalchemy.orm import Session

from yibao.audit.service import Actor
from yibao.kit.errors import ValidationFailed
from yibao.kit.tables import TableLimits
from yibao.supervision import sheets
from yibao.supervision.knowledge import (
    relation_data,
    relation_text,
    restriction_data,
    restriction_text,
)
from yibao.supervision.models import (
    KnowledgeRelation,
    KnowledgeRestriction,
    KnowledgeVersion,
    RuleSetVersion,
    StoredRule,
)
from yibao.supervision.repository import relations_of, restrictions_of, rules_of
from yibao.supervision.schemas import RuleIn
from yibao.supervision.service import audit_change, checked_rule, draft_of, next_rule_version


def export_knowledge(session: Session, row: KnowledgeVersion) -> bytes:
    restrictions = [
        (r.code, r.name, r.restrictions, restriction_text(r.restrictions))
        for r in restrictions_of(session, row.id)
    ]
    relations = [
        sheets.relation_row(r.kind, r.body, r.note, relation_text(r))
        for r in relations_of(session, row.id)
    ]
    return sheets.knowledge_workbook(restrictions, relations)


def do_import_knowledge(
    session: Session,
    version_id: int,
    content: bytes,
    filename: str,
    *,
    actor: Actor,
    limits: TableLimits,
) -> KnowledgeVersion:
    row = draft_of(session, KnowledgeVersion, version_id, actor)
    if not filename:
        raise ValidationFailed("文件：请选择要导入的 .xlsx 文件", field="file")
    res_rows, rel_rows = sheets.read_knowledge(content, filename, limits)
    restrictions, seen = [], set()
    for n, code, name, raw in res_rows:
        if code in seen:
            raise sheets.bad(sheets.RESTRICTIONS, n, f"医保编码 {code} 重复")
        seen.add(code)
        try:
            restrictions.append((code, name, restriction_data(code, raw)))
        except ValidationFailed as exc:
            raise sheets.bad(sheets.RESTRICTIONS, n, exc.message) from None
    relations = []
    for n, body, note in rel_rows:
        try:
            relations.append((relation_data(body), note))
        except ValidationFailed as exc:
            raise sheets.bad(sheets.RELATIONS, n, exc.message) from None
    session.execute(delete(KnowledgeRelation).where(KnowledgeRelation.version_id == row.id))
    session.execute(delete(KnowledgeRestriction).where(KnowledgeRestriction.version_id == row.id))
    for code, name, rules in restrictions:
        session.add(
            KnowledgeRestriction(version_id=row.id, code=code, name=name, restrictions=rules)
        )
    for data, note in relations:
        session.add(KnowledgeRelation(version_id=row.id, kind=data["kind"], body=data, note=note))
    session.flush()
    audit_change(
        session,
        actor,
        row,
        "import",
        after={
            "file": filename[:200],
            "restrictions": len(restrictions),
            "relations": len(relations),
        },
    )
    return row


def export_rules(session: Session, row: RuleSetVersion) -> bytes:
    return sheets.rules_workbook([r.data() for r in rules_of(session, row.id)])


def do_import_rules(
    session: Session,
    set_id: int,
    content: bytes,
    filename: str,
    *,
    actor: Actor,
    limits: TableLimits,
) -> RuleSetVersion:
    row = draft_of(session, RuleSetVersion, set_id, actor)
    if not filename:
        raise ValidationFailed("文件：请选择要导入的 .xlsx 文件", field="file")
    parsed = []
    seen: set[str] = set()
    for n, data in sheets.read_rules(content, filename, limits):
        try:
            shaped = RuleIn.model_validate(data).model_dump()
        except Exception:
            shaped = data
        if shaped["rule_id"] in seen:
            raise sheets.bad(sheets.RULES, n, f"规则编码 {shaped['rule_id']} 重复")
        seen.add(shaped["rule_id"])
        shaped["version"] = next_rule_version(session, row, shaped)
        try:
            rule = checked_rule(shaped)
        except ValidationFailed as exc:
            raise sheets.bad(sheets.RULES, n, exc.message) from None
        values = rule.model_dump(mode="json")
        values["params"] = dict(shaped["params"])
        values["valid_from"], values["valid_to"] = rule.valid_from, rule.valid_to
        parsed.append(values)
    session.execute(delete(StoredRule).where(StoredRule.set_id == row.id))
    for values in parsed:
        session.add(StoredRule(set_id=row.id, **values))
    session.flush()
    audit_change(
        session, actor, row, "import", after={"file": filename[:200], "rules": len(parsed)}
    )
    return row
