"""Attachments of answers and 复审 requests: bounded in number, size and type, stored in
the database (they commit or roll back with the step that carries them)."""

from __future__ import annotations

import hashlib
from pathlib import PurePath

from sqlalchemy import select
from sqlalchemy.orm import Session

from yibao.kit.errors import NotFound, ValidationFailed
from yibao.supervision.findings.models import Finding, FindingAttachment, FindingEvent
from yibao.supervision.findings.rules import FindingRules

CONTENT_TYPES = {
    "pdf": "application/pdf",
    "jpg": "image/jpeg",
    "jpeg": "image/jpeg",
    "png": "image/png",
    "docx": "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    "txt": "text/plain; charset=utf-8",
}
#: what a file of each type starts with (a renamed file of another kind is refused)
_MAGIC = {
    "pdf": (b"%PDF",),
    "jpg": (b"\xff\xd8\xff",),
    "jpeg": (b"\xff\xd8\xff",),
    "png": (b"\x89PNG\r\n\x1a\n",),
    "docx": (b"PK\x03\x04",),
    "xlsx": (b"PK\x03\x04",),
}

Upload = tuple[str, bytes]


def _name(raw: str, i: int) -> str:
    name = PurePath(raw.replace("\\", "/")).name.strip()
    return (name or f"附件{i}")[:200]


def check_files(files: list[Upload], rules: FindingRules) -> list[tuple[str, str, bytes]]:
    """(name, extension, bytes) of each upload, or a Chinese error naming ``files``."""
    if len(files) > rules.max_attachments:
        raise ValidationFailed(
            f"附件 files 最多 {rules.max_attachments} 个（收到 {len(files)} 个）", field="files"
        )
    out = []
    for i, (raw, data) in enumerate(files, start=1):
        name = _name(raw, i)
        ext = name.rsplit(".", 1)[-1].lower() if "." in name else ""
        if ext not in rules.attachment_types or ext not in CONTENT_TYPES:
            raise ValidationFailed(
                f"附件 {name} 的类型不允许：只接受 {'、'.join(rules.attachment_types)} 文件",
                field="files",
            )
        if not data:
            raise ValidationFailed(f"附件 {name} 是空文件", field="files")
        if len(data) > rules.max_attachment_bytes:
            raise ValidationFailed(
                f"附件 {name} 为 {len(data)} 字节，超过上限 {rules.max_attachment_bytes} 字节",
                field="files",
            )
        magic = _MAGIC.get(ext)
        if magic and not data.startswith(magic):
            raise ValidationFailed(f"附件 {name} 的内容与扩展名 .{ext} 不符", field="files")
        if ext == "txt":
            try:
                data.decode("utf-8")
            except UnicodeDecodeError:
                raise ValidationFailed(
                    f"附件 {name}：文本文件须为 UTF-8 编码", field="files"
                ) from None
        out.append((name, ext, data))
    return out


def store(
    session: Session, finding: Finding, event: FindingEvent, files: list[tuple[str, str, bytes]]
) -> list[FindingAttachment]:
    rows = [
        FindingAttachment(
            finding_id=finding.id,
            event_id=event.id,
            hospital_id=finding.hospital_id,
            region_code=finding.region_code,
            name=name,
            content_type=CONTENT_TYPES[ext],
            size=len(data),
            sha256=hashlib.sha256(data).hexdigest(),
            data=data,
            uploaded_by=event.actor_name,
            uploaded_at=event.created_at,
        )
        for name, ext, data in files
    ]
    session.add_all(rows)
    return rows


def attachments_of(session: Session, finding_id: int) -> list[FindingAttachment]:
    stmt = (
        select(FindingAttachment)
        .where(FindingAttachment.finding_id == finding_id)
        .order_by(FindingAttachment.id)
    )
    return list(session.scalars(stmt))


def attachment(session: Session, finding_id: int, attachment_id: int) -> FindingAttachment:
    """One attachment with its bytes, in the caller's scope (another hospital's: 404)."""
    row = session.scalar(
        select(FindingAttachment).where(
            FindingAttachment.id == attachment_id, FindingAttachment.finding_id == finding_id
        )
    )
    if row is None:
        raise NotFound(f"疑点 {finding_id} 的附件 {attachment_id} 不存在 / not found")
    return row
