"""The catalogue as the bureau's data (ADR 0016): create a draft version, import its
entries from Excel (all or nothing), publish it (immutable from then on), export it.

Who sees what: a user sees the versions of its own pooling region and province and of
the regions under it (a hospital user: its hospital's region).  Who changes what: a
bureau admin, for versions of regions under its own.  Every ``do_…`` writes its audit
row and never commits.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy import delete, insert, select
from sqlalchemy.orm import Session

from yibao.audit.service import Actor, record
from yibao.catalogue.models import CatalogueEntry, CatalogueVersion
from yibao.catalogue.repository import (
    entries_of,
    get_version,
    to_item,
    visible_filter,
)
from yibao.catalogue.schemas import VersionIn
from yibao.catalogue.sheets import read_entries, workbook
from yibao.engines.catalogue import CatalogueItem, dump_restrictions
from yibao.kit.errors import Conflict, Forbidden, ValidationFailed
from yibao.kit.tables import TableLimits, read_table
from yibao.kit.timeutil import utcnow
from yibao.regions.models import region_prefix


def list_versions(
    session: Session, region_code: str | None, *, drafts: bool = True
) -> list[CatalogueVersion]:
    """Versions a user of ``region_code`` sees (all for ``None``), newest first per
    region; drafts only for those who maintain the catalogue."""
    stmt = select(CatalogueVersion).order_by(
        CatalogueVersion.region_code,
        CatalogueVersion.valid_from.desc(),
        CatalogueVersion.id.desc(),
    )
    if region_code:
        stmt = stmt.where(visible_filter(region_code))
    if not drafts:
        stmt = stmt.where(CatalogueVersion.status == "published")
    return list(session.scalars(stmt))


def _check_manages(actor: Actor, region_code: str) -> None:
    if actor.region_code and not region_code.startswith(region_prefix(actor.region_code)):
        raise Forbidden(
            f"无权维护区划 {region_code} 的医保目录：只能维护本辖区（{actor.region_code}）的目录",
            code="region",
        )
    if actor.hospital_id is not None:
        raise Forbidden("医疗机构不能维护医保目录", code="region")


def snapshot(row: CatalogueVersion) -> dict[str, Any]:
    """What an audit row records of a version."""
    return {
        "name": row.name,
        "region_code": row.region_code,
        "valid_from": row.valid_from,
        "valid_to": row.valid_to,
        "status": row.status,
        "entries": row.entry_count,
        "checksum": row.checksum,
    }


def do_create_version(session: Session, data: VersionIn, *, actor: Actor) -> CatalogueVersion:
    """A new draft version without entries."""
    _check_manages(actor, data.region_code)
    row = CatalogueVersion(
        region_code=data.region_code,
        region_name=data.region_name,
        name=data.name,
        valid_from=data.valid_from,
        valid_to=data.valid_to,
        status="draft",
        entry_count=0,
        source=data.source,
        note=data.note,
        created_by=actor.name,
    )
    session.add(row)
    session.flush()
    record(
        session,
        actor,
        "catalogue.version.create",
        "catalogue_version",
        row.id,
        after=snapshot(row),
        region_code=row.region_code,
    )
    return row


def _draft(session: Session, version_id: int, actor: Actor) -> CatalogueVersion:
    row = get_version(session, version_id, None)
    _check_manages(actor, row.region_code)
    if row.status != "draft":
        raise Conflict(
            f"目录版本 {row.name}（{row.id}）已发布，不能修改；请新建版本导入修改后的目录",
            field="status",
        )
    return row


def entry_row(version_id: int, item: CatalogueItem) -> dict[str, Any]:
    """The stored columns of one entry."""
    return {
        "version_id": version_id,
        "code": item.code,
        "name": item.name,
        "kind": item.kind,
        "fee_type": item.fee_type,
        "chrgitm_lv": item.chrgitm_lv,
        "selfpay_prop": item.selfpay_prop,
        "cap_lv1": item.cap("1"),
        "cap_lv2": item.cap("2"),
        "cap_lv3": item.cap("3"),
        "unit": item.unit,
        "spec": item.spec,
        "limit_text": item.limit_text,
        "restrictions": dump_restrictions(item.restrictions),
    }


def checksum(items: Sequence[CatalogueItem]) -> str:
    """SHA-256 of the entries in code order (what a published version is)."""
    digest = hashlib.sha256()
    for item in sorted(items, key=lambda i: i.code):
        row = entry_row(0, item)
        del row["version_id"]
        canon = {k: f"{v.normalize():f}" if isinstance(v, Decimal) else v for k, v in row.items()}
        digest.update(json.dumps(canon, ensure_ascii=False, sort_keys=True).encode())
        digest.update(b"\n")
    return digest.hexdigest()


def do_replace_entries(
    session: Session,
    version_id: int,
    items: Sequence[CatalogueItem],
    *,
    actor: Actor,
    source: str,
) -> CatalogueVersion:
    """Replace every entry of a draft with ``items`` (checked already)."""
    row = _draft(session, version_id, actor)
    if not items:
        raise ValidationFailed("没有可导入的目录条目", field="file")
    codes = [i.code for i in items]
    if len(set(codes)) != len(codes):
        raise ValidationFailed("目录条目的医保编码重复", field="code")
    before = snapshot(row)
    session.execute(delete(CatalogueEntry).where(CatalogueEntry.version_id == row.id))
    for start in range(0, len(items), 2000):
        chunk = items[start : start + 2000]
        session.execute(insert(CatalogueEntry), [entry_row(row.id, i) for i in chunk])
    row.entry_count = len(items)
    row.checksum = checksum(items)
    row.source = source[:200]
    session.flush()
    record(
        session,
        actor,
        "catalogue.entries.import",
        "catalogue_version",
        row.id,
        before=before,
        after={**snapshot(row), "source": row.source},
        region_code=row.region_code,
    )
    return row


def do_import_file(
    session: Session,
    version_id: int,
    content: bytes,
    filename: str,
    *,
    actor: Actor,
    limits: TableLimits,
) -> CatalogueVersion:
    """Read a sheet (.xlsx / .csv, the export's layout) and replace the draft's entries;
    a file with any problem changes nothing."""
    _draft(session, version_id, actor)  # refuse early, before reading the file
    if not filename:
        raise ValidationFailed("文件：请选择要导入的 .xlsx 或 .csv 文件", field="file")
    items = read_entries(read_table(content, filename, limits), filename)
    return do_replace_entries(
        session, version_id, items, actor=actor, source=f"导入 {filename}"[:200]
    )


def do_publish_version(
    session: Session, version_id: int, *, actor: Actor, reason: str = ""
) -> CatalogueVersion:
    """Publish a draft with entries.  An open earlier published version of the same
    region is closed the day before this one starts (audited); any other overlap
    with a published version is refused."""
    row = _draft(session, version_id, actor)
    if row.entry_count == 0:
        raise Conflict(f"目录版本 {row.name} 还没有条目：请先导入目录文件", field="entries")
    for prev in _overlapping(session, row):
        before = {"valid_to": prev.valid_to}
        prev.valid_to = row.valid_from - timedelta(days=1)
        record(
            session,
            actor,
            "catalogue.version.close",
            "catalogue_version",
            prev.id,
            before=before,
            after={"valid_to": prev.valid_to, "closed_by_version": row.id},
            region_code=prev.region_code,
        )
    before = snapshot(row)
    row.checksum = checksum([to_item(e) for e in entries_of(session, row.id)])
    row.status = "published"
    row.published_by = actor.name
    row.published_at = utcnow()
    session.flush()
    record(
        session,
        actor,
        "catalogue.version.publish",
        "catalogue_version",
        row.id,
        before=before,
        after={**snapshot(row), "reason": reason.strip() or None},
        region_code=row.region_code,
    )
    return row


def _overlapping(session: Session, row: CatalogueVersion) -> list[CatalogueVersion]:
    out = []
    for prev in session.scalars(
        select(CatalogueVersion).where(
            CatalogueVersion.region_code == row.region_code,
            CatalogueVersion.status == "published",
            CatalogueVersion.id != row.id,
        )
    ):
        ends = prev.valid_to or date.max
        if not (prev.valid_from <= (row.valid_to or date.max) and row.valid_from <= ends):
            continue
        if prev.valid_from >= row.valid_from or prev.valid_to is not None:
            raise Conflict(
                f"目录版本 {row.name} 的有效期（{row.valid_from} 起）与已发布的 {prev.name}"
                f"（{prev.valid_from} 至 {prev.valid_to or '长期'}）重叠：同一区划同一天只能有"
                "一个生效的目录",
                field="valid_from",
            )
        out.append(prev)
    return out


def do_delete_draft(session: Session, version_id: int, *, actor: Actor) -> None:
    """Delete a draft and its entries (a published version stays for ever)."""
    row = _draft(session, version_id, actor)
    record(
        session,
        actor,
        "catalogue.version.delete",
        "catalogue_version",
        row.id,
        before=snapshot(row),
        region_code=row.region_code,
    )
    session.execute(delete(CatalogueEntry).where(CatalogueEntry.version_id == row.id))
    session.delete(row)
    session.flush()


def export_version(session: Session, row: CatalogueVersion) -> bytes:
    """The version as a workbook the import reads back."""
    items = [to_item(e) for e in entries_of(session, row.id)]
    about = {
        "目录名称": row.name,
        "区划": f"{row.region_name} {row.region_code}".strip(),
        "有效期": f"{row.valid_from} 至 {row.valid_to or '长期'}",
        "状态": row.status_label,
        "条目数": str(row.entry_count),
        "校验和（SHA-256）": row.checksum or "",
        "来源": row.source,
        "说明": row.note,
    }
    return workbook(items, about)
