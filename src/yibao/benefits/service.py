"""Benefit policies as the bureau's data (ADR 0013).

A policy version is imported as a draft (from Excel, JSON or the demo files), checked
by the settlement engine's :class:`BenefitPolicy` model, and published by a bureau
admin of its region.  A published version never changes; publishing a later version of
the same insured place and insurance type closes the open earlier one the day before it
starts (audited), and a version that would overlap a later published one is refused.
Intake prices every list with :func:`policy_set`: the published policies, the one valid
on the discharge date for the insured place being chosen by the engine.
"""

from __future__ import annotations

import io
import json
from collections.abc import Iterable, Sequence
from datetime import date, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from yibao.audit.service import Actor, record
from yibao.benefits.models import StoredPolicy
from yibao.benefits.sheets import in_words, policies_frame, read_policies
from yibao.engines.settlement import BenefitPolicy, PolicySet, SettlementError, parse_policy
from yibao.engines.settlement.policy import INSUTYPE_NAMES, load_policies
from yibao.kit.errors import Conflict, Forbidden, NotFound, ValidationFailed
from yibao.kit.exports import write_xlsx
from yibao.kit.tables import TableLimits, read_table
from yibao.kit.timeutil import utcnow
from yibao.regions.models import region_prefix

#: policy fields kept in ``body`` (the rest are columns)
BODY_FIELDS = (
    "levels",
    "annual_cap",
    "cross_region",
    # ADR 0017: the basic fund's code, deductible per year or stay, and the layers
    "fund_pay_type",
    "deductible_per",
    "large_amount",
    "civil_servant",
    "medical_aid",
    "outpatient",
)


def to_engine(row: StoredPolicy) -> BenefitPolicy:
    """The engine's policy of a stored row."""
    return parse_policy(
        {
            **row.body,
            "code": row.code,
            "version": row.version,
            "name": row.name,
            "region_code": row.region_code,
            "region_name": row.region_name,
            "insutype": row.insutype,
            "valid_from": row.valid_from,
            "valid_to": row.valid_to,
            "status": row.status,
            "source": row.source,
        },
        f"政策 {row.key}",
    )


def policy_names(session: Session, keys: Iterable[str]) -> dict[str, str]:
    """``<code>@v<version>`` → the policy's name, for the keys given (unknown keys are
    left out: the page shows the key)."""
    wanted = {k for k in keys if k}
    codes = {k.rsplit("@v", 1)[0] for k in wanted}
    rows = session.scalars(select(StoredPolicy).where(StoredPolicy.code.in_(sorted(codes))))
    return {r.key: r.name for r in rows if r.key in wanted}


def policy_set(session: Session, *, include_drafts: bool = False) -> PolicySet:
    """The policies pricing may use: published (and retired, for their own window);
    drafts too when asked (simulation)."""
    stmt = select(StoredPolicy).order_by(StoredPolicy.id)
    if not include_drafts:
        stmt = stmt.where(StoredPolicy.status != "draft")
    return PolicySet(to_engine(r) for r in session.scalars(stmt))


def list_policies(session: Session, region_code: str | None) -> list[StoredPolicy]:
    """Every version a user of ``region_code`` may see: its own pooling region's (a
    district sees its city's), a province's cities, or all (``None``)."""
    stmt = select(StoredPolicy).order_by(
        StoredPolicy.region_code,
        StoredPolicy.insutype,
        StoredPolicy.valid_from.desc(),
        StoredPolicy.version.desc(),
    )
    if region_code:
        stmt = stmt.where(StoredPolicy.region_code.startswith(_visible_prefix(region_code)))
    return list(session.scalars(stmt))


def get_policy(session: Session, policy_id: int, region_code: str | None) -> StoredPolicy:
    row = session.get(StoredPolicy, policy_id)
    if row is None or (
        region_code and not row.region_code.startswith(_visible_prefix(region_code))
    ):
        raise NotFound(f"待遇政策 {policy_id} 不存在 / benefit policy not found")
    return row


def _visible_prefix(region_code: str) -> str:
    """A district user sees its city's policies (policies are per pooling region)."""
    return region_prefix(region_code if region_code.endswith("00") else region_code[:4] + "00")


def _check_manages(actor: Actor, policy_region: str) -> None:
    if actor.region_code and not policy_region.startswith(region_prefix(actor.region_code)):
        raise Forbidden(
            f"无权维护参保地 {policy_region} 的待遇政策：只能维护本统筹区（{actor.region_code}）"
            "的政策 / outside your region",
            code="region",
        )


def snapshot(row: StoredPolicy) -> dict[str, Any]:
    """What an audit row records of a policy version."""
    return {
        "key": row.key,
        "name": row.name,
        "region_code": row.region_code,
        "insutype": row.insutype,
        "valid_from": row.valid_from,
        "valid_to": row.valid_to,
        "status": row.status,
        **{k: row.body.get(k) for k in BODY_FIELDS},
    }


def do_import_policies(
    session: Session, policies: Sequence[BenefitPolicy], *, actor: Actor, source: str
) -> list[StoredPolicy]:
    """Store each policy as a draft version.  A draft of the same code and version is
    replaced (that is how a draft is edited); a published one is never touched: the
    import is refused and names it.  Nothing is stored unless every policy is fine."""
    if not policies:
        raise ValidationFailed("没有可导入的待遇政策 / no policies", field="file")
    keys = [p.key for p in policies]
    twice = sorted({k for k in keys if keys.count(k) > 1})
    if twice:
        raise ValidationFailed(
            f"文件中政策版本重复：{'、'.join(twice)}（同一编码和版本只能出现一次）", field="file"
        )
    out = []
    for policy in policies:
        _check_manages(actor, policy.region_code)
        row = session.scalar(
            select(StoredPolicy).where(
                StoredPolicy.code == policy.code, StoredPolicy.version == policy.version
            )
        )
        if row is not None and row.status != "draft":
            raise Conflict(
                f"政策 {policy.key} 已发布，不能修改；请以新版本号导入修改后的政策"
                " / a published version is immutable",
                field="version",
            )
        before = snapshot(row) if row is not None else None
        if row is None:
            row = StoredPolicy(code=policy.code, version=policy.version, created_by=actor.name)
            session.add(row)
        row.name = policy.name
        row.region_code = policy.region_code
        row.region_name = policy.region_name
        row.insutype = policy.insutype
        row.valid_from = policy.valid_from
        row.valid_to = policy.valid_to
        row.status = "draft"
        row.source = (policy.source or source)[:200]
        row.body = policy.model_dump(mode="json", include=set(BODY_FIELDS))
        session.flush()
        record(
            session,
            actor,
            "benefits.policy.import",
            "benefit_policy",
            row.id,
            before=before,
            after=snapshot(row),
            region_code=row.region_code,
        )
        out.append(row)
    return out


def do_publish_policy(
    session: Session, policy_id: int, *, actor: Actor, reason: str = ""
) -> StoredPolicy:
    """Publish a draft.  An open earlier published version of the same insured place and
    insurance type is closed the day before this one starts (audited); overlapping a
    later published version, or a closed one, is refused."""
    row = get_policy(session, policy_id, None)
    _check_manages(actor, row.region_code)
    if row.status != "draft":
        raise Conflict(f"政策 {row.key} 已是{row.status_label}状态，只能发布草稿", field="status")
    to_engine(row)  # a stored draft that no longer reads is refused here, in Chinese
    earlier = _overlapping(session, row)
    for prev in earlier:
        before = {"valid_to": prev.valid_to}
        prev.valid_to = row.valid_from - timedelta(days=1)
        record(
            session,
            actor,
            "benefits.policy.close",
            "benefit_policy",
            prev.id,
            before=before,
            after={"valid_to": prev.valid_to, "closed_by_version": row.key},
            region_code=prev.region_code,
        )
    before = snapshot(row)
    row.status = "published"
    row.published_by = actor.name
    row.published_at = utcnow()
    session.flush()
    record(
        session,
        actor,
        "benefits.policy.publish",
        "benefit_policy",
        row.id,
        before=before,
        after={**snapshot(row), "reason": reason.strip() or None},
        region_code=row.region_code,
    )
    return row


def _overlapping(session: Session, row: StoredPolicy) -> list[StoredPolicy]:
    """Published versions of the same place and insutype whose window meets ``row``'s:
    the open earlier ones (to close); 409 for any other."""
    out = []
    for prev in session.scalars(
        select(StoredPolicy).where(
            StoredPolicy.region_code == row.region_code,
            StoredPolicy.insutype == row.insutype,
            StoredPolicy.status != "draft",
            StoredPolicy.id != row.id,
        )
    ):
        ends = prev.valid_to or date.max
        if not (prev.valid_from <= (row.valid_to or date.max) and row.valid_from <= ends):
            continue
        if prev.valid_from >= row.valid_from or prev.valid_to is not None:
            kind = INSUTYPE_NAMES.get(row.insutype, row.insutype)
            raise Conflict(
                f"政策 {row.key} 的有效期（{row.valid_from} 起）与已发布的 {prev.key}"
                f"（{prev.valid_from} 至 {prev.valid_to or '长期'}）重叠：参保地 {row.region_code}"
                f"{kind}同一天只能有一个生效版本 / validity overlaps a published version",
                field="valid_from",
            )
        out.append(prev)
    return out


def do_delete_draft(session: Session, policy_id: int, *, actor: Actor) -> None:
    """Delete a draft version (a published one stays for ever)."""
    row = get_policy(session, policy_id, None)
    _check_manages(actor, row.region_code)
    if row.status != "draft":
        raise Conflict(f"政策 {row.key} 已发布，不能删除", field="status")
    record(
        session,
        actor,
        "benefits.policy.delete",
        "benefit_policy",
        row.id,
        before=snapshot(row),
        region_code=row.region_code,
    )
    session.delete(row)
    session.flush()


def do_seed_policies(session: Session, policies: PolicySet, *, actor: Actor) -> int:
    """Import and publish ``policies`` in validity order (the demo seed's path)."""
    rows = do_import_policies(session, policies.policies, actor=actor, source="演示数据")
    for row in sorted(rows, key=lambda r: (r.region_code, r.insutype, r.valid_from)):
        do_publish_policy(session, row.id, actor=actor, reason="演示数据初始化")
    return len(rows)


# ----------------------------------------------------------------- files (Excel, CSV)


def do_import_policy_file(
    session: Session, content: bytes, filename: str, *, actor: Actor, limits: TableLimits
) -> list[StoredPolicy]:
    """Import a worksheet (xlsx / csv, the layout of :func:`export_policies`) or a JSON
    document of policies as drafts; all or nothing."""
    if not filename:
        raise ValidationFailed("文件：请选择要导入的 .xlsx、.csv 或 .json 文件", field="file")
    if filename.lower().endswith(".json"):
        policies = _json_policies(content, filename)
    else:
        policies = read_policies(read_table(content, filename, limits), filename)
    return do_import_policies(session, policies, actor=actor, source=f"导入 {filename}"[:200])


def _json_policies(content: bytes, filename: str) -> list[BenefitPolicy]:
    """Policies of a JSON document (a list, or ``{"policies": [...]}``), as drafts."""
    try:
        doc = json.loads(content)
    except (ValueError, UnicodeDecodeError):
        raise ValidationFailed(f"{filename}：不是有效的 JSON 文件", field="file") from None
    items = doc.get("policies") if isinstance(doc, dict) else doc
    if isinstance(items, list):
        items = [{**i, "status": "draft"} if isinstance(i, dict) else i for i in items]
    try:
        return list(load_policies(json.dumps(items, ensure_ascii=False)).policies)
    except SettlementError as exc:
        raise ValidationFailed(f"{filename}：{in_words(str(exc))}", field="file") from None


def export_policies(rows: Sequence[StoredPolicy]) -> bytes:
    """The rows as the policy worksheet (Chinese headers; the import reads it back)."""
    buf = io.BytesIO()
    write_xlsx(policies_frame(to_engine(r) for r in rows), buf, worksheet="待遇政策", autofit=True)
    return buf.getvalue()
