"""The rule base (规则库) as the bureau's data (ADR 0021), and what knowledge versions and
rule sets share: create a draft (a copy of the version before it), publish it
(immutable from then on; the next version closes the open earlier one), retire a
rule set, delete a draft.  Every ``do_…`` writes its audit row and never commits;
publishing and retiring announce the change to every server process
(:mod:`yibao.supervision.notify`).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable
from datetime import date
from typing import Any, TypeVar

from pydantic import ValidationError
from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from yibao.audit.service import Actor, record
from yibao.db.versioning import check_manages, close_earlier
from yibao.engines.audit import FAMILIES, AuditError, Rule, compile_rules
from yibao.engines.audit.errors import explain
from yibao.kit.errors import Conflict, ValidationFailed
from yibao.kit.timeutil import utcnow
from yibao.supervision import notify
from yibao.supervision.models import (
    KnowledgeRelation,
    KnowledgeRestriction,
    KnowledgeVersion,
    RuleSetVersion,
    StoredRule,
)
from yibao.supervision.repository import (
    WHAT,
    get_version,
    in_force,
    knowledge_content,
    knowledge_for,
    rules_of,
)
from yibao.supervision.schemas import RuleIn, TestIn, VersionIn

V = TypeVar("V", KnowledgeVersion, RuleSetVersion)
_OBJECT = {KnowledgeVersion: "knowledge_version", RuleSetVersion: "rule_set_version"}
_ACTION = {KnowledgeVersion: "supervision.knowledge", RuleSetVersion: "supervision.rules"}
#: rule fields compared to decide whether an edit makes a new rule version
RULE_FIELDS = tuple(f for f in RuleIn.model_fields)


def snapshot(row: KnowledgeVersion | RuleSetVersion) -> dict[str, Any]:
    """What an audit row records of a version."""
    return {
        "region_code": row.region_code,
        "version": row.version,
        "name": row.name,
        "valid_from": row.valid_from,
        "valid_to": row.valid_to,
        "status": row.status,
        "checksum": row.checksum,
    }


def audit_change(session: Session, actor: Actor, row: V, verb: str, **changes: Any) -> None:
    record(
        session,
        actor,
        f"{_ACTION[type(row)]}.{verb}",
        _OBJECT[type(row)],
        row.id,
        **changes,
        region_code=row.region_code,
    )


def draft_of(session: Session, model: type[V], version_id: int, actor: Actor) -> V:
    """A draft the actor may edit (409 once published, naming the way out)."""
    row = get_version(session, model, version_id, None)
    check_manages(actor, row.region_code, WHAT[model])
    if row.status != "draft":
        raise Conflict(
            f"{WHAT[model]} {row.name}（第 {row.version} 版）{row.status_label}，不能修改："
            "请以它为基础新建草稿版本",
            field="status",
        )
    return row


def do_create_version(session: Session, model: type[V], data: VersionIn, *, actor: Actor) -> V:
    """A new draft: a copy of ``data.based_on`` (default: the region's newest
    non-draft version) unless ``data.empty``."""
    check_manages(actor, data.region_code, WHAT[model])
    base: V | None = None
    if data.based_on is not None:
        base = get_version(session, model, data.based_on, None)
        if base.region_code != data.region_code:
            raise ValidationFailed("based_on：只能以本区划的版本为基础", field="based_on")
    elif not data.empty:
        base = session.scalar(
            select(model)
            .where(model.region_code == data.region_code, model.status != "draft")
            .order_by(model.version.desc())
            .limit(1)
        )
    number = session.scalar(
        select(func.max(model.version)).where(model.region_code == data.region_code)
    )
    row = model(
        region_code=data.region_code,
        version=(number or 0) + 1,
        name=data.name,
        valid_from=data.valid_from,
        valid_to=data.valid_to,
        status="draft",
        based_on_id=base.id if base else None,
        note=data.note,
        created_by=actor.name,
    )
    session.add(row)
    session.flush()
    if base is not None:
        _copy(session, base, row)
    audit_change(
        session, actor, row, "create", after={**snapshot(row), "based_on": row.based_on_id}
    )
    return row


def _copy(session: Session, base: V, row: V) -> None:
    if isinstance(base, RuleSetVersion):
        for r in rules_of(session, base.id):
            session.add(StoredRule(set_id=row.id, **{**r.data(), "params": dict(r.params)}))
    else:
        for rel in session.scalars(
            select(KnowledgeRelation)
            .where(KnowledgeRelation.version_id == base.id)
            .order_by(KnowledgeRelation.id)
        ):
            session.add(
                KnowledgeRelation(version_id=row.id, kind=rel.kind, body=rel.body, note=rel.note)
            )
        for res in session.scalars(
            select(KnowledgeRestriction).where(KnowledgeRestriction.version_id == base.id)
        ):
            session.add(
                KnowledgeRestriction(
                    version_id=row.id, code=res.code, name=res.name, restrictions=res.restrictions
                )
            )
    session.flush()


def content_checksum(rows: Iterable[dict[str, Any]]) -> str:
    """SHA-256 of a version's content (rows in a stable order, canonical JSON)."""
    digest = hashlib.sha256()
    for row in rows:
        digest.update(json.dumps(row, ensure_ascii=False, sort_keys=True, default=str).encode())
        digest.update(b"\n")
    return digest.hexdigest()


def do_publish(
    session: Session, model: type[V], version_id: int, *, actor: Actor, reason: str = ""
) -> V:
    """Publish a draft after checking it reads (rules compile against the knowledge in
    force on its first day, when there is a catalogue); the open earlier version of the
    region is closed the day before; every server process reloads."""
    row = draft_of(session, model, version_id, actor)
    content = _check_publishable(session, row)
    close_earlier(
        session,
        row,
        [model.region_code == row.region_code],
        actor=actor,
        action=f"{_ACTION[model]}.close",
        object_type=_OBJECT[model],
        conflict=lambda prev: (
            f"{WHAT[model]}第 {row.version} 版的有效期（{row.valid_from} 起）与已发布的第 "
            f"{prev.version} 版（{prev.valid_from} 至 {prev.valid_to or '长期'}）重叠：同一区划"
            "同一天只能有一个生效版本"
        ),
    )
    before = snapshot(row)
    row.checksum = content_checksum(content)
    row.status = "published"
    row.published_by = actor.name
    row.published_at = utcnow()
    session.flush()
    audit_change(
        session, actor, row, "publish", before=before, after={**snapshot(row), "reason": reason}
    )
    notify.announce(session, f"{_OBJECT[model]}:{row.id}:published")
    return row


def _check_publishable(session: Session, row: V) -> list[dict[str, Any]]:
    if isinstance(row, KnowledgeVersion):
        content = knowledge_content(session, row.id)
        knowledge_for(session, row.region_code, row.valid_from, row)  # reads, or 422
        return content
    rules = [r.data() for r in rules_of(session, row.id)]
    if not rules:
        raise Conflict(f"规则库第 {row.version} 版还没有规则：请先添加规则", field="rules")
    for i, data in enumerate(rules):
        checked_rule(data, f"rules[{i}]")
    try:
        knowledge = knowledge_for(session, row.region_code, row.valid_from, None)
    except Exception:  # no catalogue yet: the rules are checked one by one above
        knowledge = None
    if knowledge is not None:
        kn = in_force(session, KnowledgeVersion, row.region_code, row.valid_from)
        knowledge = knowledge_for(session, row.region_code, row.valid_from, kn)
        try:
            compile_rules(rules, knowledge, row.valid_from)
        except AuditError as exc:
            raise ValidationFailed(exc.message, field=exc.field) from None
    return rules


def checked_rule(data: dict[str, Any], field: str = "") -> Rule:
    """The engine's rule of ``data``, or 422 naming the rule and the field (parameters
    are read by the family's model first, so the message names ``params.<field>``)."""
    head = f"规则 {data.get('rule_id', '?')}（第 {data.get('version', '?')} 版）"
    info = FAMILIES.get(str(data.get("family")))
    if info is not None and isinstance(data.get("params"), dict):
        try:
            info.params.model_validate(data["params"])
        except ValidationError as exc:
            err = explain(exc, head, "params")
            raise ValidationFailed(err.message, field=_at(field, err.field)) from None
    try:
        return Rule.from_data(data, head)
    except AuditError as exc:
        raise ValidationFailed(exc.message, field=_at(field, exc.field)) from None


def _at(root: str, field: str | None) -> str | None:
    return f"{root}.{field or ''}".strip(".") or None


def do_retire(session: Session, set_id: int, *, actor: Actor, reason: str = "") -> RuleSetVersion:
    """Retire a published rule set: no audit uses it from now on."""
    row = get_version(session, RuleSetVersion, set_id, None)
    check_manages(actor, row.region_code, WHAT[RuleSetVersion])
    if row.status != "published":
        raise Conflict(
            f"规则库第 {row.version} 版{row.status_label}：只能停用已发布的版本", field="status"
        )
    before = snapshot(row)
    row.status = "retired"
    row.retired_by = actor.name
    row.retired_at = utcnow()
    session.flush()
    audit_change(
        session, actor, row, "retire", before=before, after={**snapshot(row), "reason": reason}
    )
    notify.announce(session, f"rule_set_version:{row.id}:retired")
    return row


def do_delete_draft(session: Session, model: type[V], version_id: int, *, actor: Actor) -> None:
    """Delete a draft and its content (a published version stays for ever)."""
    row = draft_of(session, model, version_id, actor)
    audit_change(session, actor, row, "delete", before=snapshot(row))
    if model is RuleSetVersion:
        session.execute(delete(StoredRule).where(StoredRule.set_id == row.id))
    else:
        session.execute(delete(KnowledgeRelation).where(KnowledgeRelation.version_id == row.id))
        session.execute(
            delete(KnowledgeRestriction).where(KnowledgeRestriction.version_id == row.id)
        )
    session.delete(row)
    session.flush()


# ---------------------------------------------------------------------------- rules


def next_rule_version(session: Session, row: RuleSetVersion, data: dict[str, Any]) -> int:
    """The number of the region's earlier version of this rule with the same content
    (an unchanged rule keeps its version, in a copy or a re-import), else one past the
    highest number the rule id has had in the region."""
    earlier = session.scalars(
        select(StoredRule)
        .join(RuleSetVersion, RuleSetVersion.id == StoredRule.set_id)
        .where(RuleSetVersion.region_code == row.region_code, StoredRule.rule_id == data["rule_id"])
        .where(RuleSetVersion.id != row.id)
        .order_by(StoredRule.version.desc())
    ).all()
    for rule in earlier:
        if _same(rule.data(), data):
            return rule.version
    return (earlier[0].version if earlier else 0) + 1


def _same(a: dict[str, Any], b: dict[str, Any]) -> bool:
    keys = list(RULE_FIELDS)
    return json.dumps({k: a.get(k) for k in keys}, sort_keys=True, default=str) == json.dumps(
        {k: b.get(k) for k in keys}, sort_keys=True, default=str
    )


def do_put_rule(session: Session, set_id: int, data: RuleIn, *, actor: Actor) -> StoredRule:
    """Add a rule to a draft or replace the draft's rule of the same id; checked by the
    engine (422 naming the rule and field)."""
    row = draft_of(session, RuleSetVersion, set_id, actor)
    raw = data.model_dump()
    raw["version"] = next_rule_version(session, row, raw)
    rule = checked_rule(raw)
    stored = session.scalar(
        select(StoredRule).where(StoredRule.set_id == row.id, StoredRule.rule_id == rule.rule_id)
    )
    before = stored.data() if stored else None
    values = rule.model_dump(mode="json")
    values["params"] = dict(raw["params"])
    values["valid_from"], values["valid_to"] = rule.valid_from, rule.valid_to
    if stored is None:
        stored = StoredRule(set_id=row.id, **values)
        session.add(stored)
    else:
        for key, value in values.items():
            setattr(stored, key, value)
    session.flush()
    audit_change(session, actor, row, "rule.put", before=before, after=stored.data())
    return stored


def do_delete_rule(session: Session, set_id: int, rule_id: str, *, actor: Actor) -> None:
    row = draft_of(session, RuleSetVersion, set_id, actor)
    stored = session.scalar(
        select(StoredRule).where(StoredRule.set_id == row.id, StoredRule.rule_id == rule_id)
    )
    if stored is None:
        raise ValidationFailed(f"rule_id：规则 {rule_id} 不在这个版本中", field="rule_id")
    audit_change(session, actor, row, "rule.delete", before=stored.data())
    session.delete(stored)
    session.flush()


def test_rules(
    session: Session, set_id: int, region_code: str | None, body: TestIn
) -> tuple[int, list[Any]]:
    """Audit sample claims with a version's rules (a draft too) against the knowledge in
    force for its region on ``body.on``; nothing is stored.  Returns (rules, findings)."""
    row = get_version(session, RuleSetVersion, set_id, region_code)
    try:
        claims = [c.to_engine() for c in body.claims]
    except AuditError as exc:
        raise ValidationFailed(f"claims：{exc.message}", field=f"claims.{exc.field}") from None
    on = body.on or claims[0].encounter.begin_date
    rules = [r.data() for r in rules_of(session, row.id)]
    kn = in_force(session, KnowledgeVersion, row.region_code, on)
    knowledge = knowledge_for(session, row.region_code, on, kn)
    try:
        ruleset = compile_rules(rules, knowledge, on)
        findings = []
        for i, claim in enumerate(claims):
            history = claims[:i] + claims[i + 1 :]
            same = [c for c in history if c.patient.psn_no == claim.patient.psn_no]
            findings.extend(
                ruleset.audit(
                    claim,
                    stage=body.stage,
                    trig_scen=body.trig_scen,
                    rule_ids=body.rule_ids,
                    history=same,
                )
            )
    except AuditError as exc:
        raise ValidationFailed(exc.message, field=exc.field) from None
    return len(ruleset.rules), findings


def diff(session: Session, base_id: int, other_id: int, region_code: str | None) -> dict[str, Any]:
    """What changed from one rule-set version to another: rule ids added, removed, and
    per changed rule the fields that differ."""
    a = {
        r.rule_id: r.data()
        for r in rules_of(session, get_version(session, RuleSetVersion, base_id, region_code).id)
    }
    b = {
        r.rule_id: r.data()
        for r in rules_of(session, get_version(session, RuleSetVersion, other_id, region_code).id)
    }
    changed = {}
    for rid in sorted(a.keys() & b.keys()):
        fields = [k for k in ("version", *RULE_FIELDS) if a[rid].get(k) != b[rid].get(k)]
        if fields:
            changed[rid] = fields
    return {
        "base_id": base_id,
        "other_id": other_id,
        "added": sorted(b.keys() - a.keys()),
        "removed": sorted(a.keys() - b.keys()),
        "changed": changed,
    }


def in_force_on(session: Session, admdvs: str, on: date) -> RuleSetVersion | None:
    return in_force(session, RuleSetVersion, admdvs, on)
