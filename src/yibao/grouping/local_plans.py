"""Local plans a bureau derives without code (issue 16 item 4, ADR 0040).

A bureau exports a national or regional plan as an Excel workbook
(:func:`plan_workbook`), edits it (a DRG split by age or ICU hours, codes moved
between lists, groups renamed), and imports it as a draft (:func:`do_import_plan`):
the workbook is read and the plan loaded and compiled, every problem refused with its
sheet, row and reason and nothing stored; a good workbook becomes a draft with its
content checksum and the changes against its base plan.  The draft can be replaced by
a new import, tried on stored cases (:mod:`yibao.settlement.plan_trial`), deleted, or
published (:func:`do_publish_plan`); a published plan is immutable and can then be
set as the plan a region pays by (ADR 0039).

The database row holds the plan folder as a zip; every server process unpacks the
plans into ``<var>/local-plans`` (:func:`sync_local_plans`, at start and after each
change) where the plan registry finds them.
"""

from __future__ import annotations

import io
import json
import re
import shutil
import tempfile
import zipfile
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from yibao.audit.service import Actor, record
from yibao.engines.grouper import PlanError, PlanRegistry, diff_plans, load_plan
from yibao.engines.grouper.registry import plan_checksum
from yibao.engines.grouper.workbook import export_workbook
from yibao.engines.grouper.workbook_read import (
    Issue,
    WorkbookError,
    build_plan_folder,
    read_workbook,
)
from yibao.grouping.models import LocalPlan
from yibao.grouping.plans import plan_info
from yibao.kit.errors import Conflict, Forbidden, NotFound, ValidationFailed
from yibao.kit.timeutil import local, utcnow
from yibao.regions.models import region_prefix

LOCAL_DIR = "local-plans"
PLAN_ID = re.compile(r"[a-z0-9][a-z0-9.\-]{2,39}")
_COPIED = ("NOTICE", "LICENSE-APACHE-2.0.txt")


class WorkbookInvalid(ValidationFailed):
    """A workbook refused: every problem with its sheet and row (``issues``)."""

    code = "plan_workbook_invalid"

    def __init__(self, issues: list[Issue]) -> None:
        self.issues = issues
        shown = "；".join(str(i) for i in issues[:3])
        more = f"（共 {len(issues)} 处，见 issues）" if len(issues) > 3 else ""
        super().__init__(f"工作簿有误，未导入：{shown}{more}", field="file")

    def to_dict(self) -> dict[str, Any]:
        issues = [{"sheet": i.sheet, "row": i.row, "message": i.message} for i in self.issues]
        return {**super().to_dict(), "issues": issues}


def local_plans_dir(settings: Any) -> Path:
    """Where this process keeps the unpacked local plans."""
    return Path(getattr(settings, "var_dir", "var")) / LOCAL_DIR


def plan_workbook(registry: PlanRegistry, plan_id: str) -> tuple[bytes, str]:
    """Any plan as an ``.xlsx`` workbook and its file name."""
    info = plan_info(registry, plan_id)
    return export_workbook(info.path), f"分组方案-{info.id}.xlsx"


def list_local_plans(session: Session) -> list[LocalPlan]:
    return list(session.scalars(select(LocalPlan).order_by(LocalPlan.created_at.desc())))


def local_plan(session: Session, plan_id: str) -> LocalPlan:
    row = session.scalar(select(LocalPlan).where(LocalPlan.plan_id == plan_id))
    if row is None:
        raise NotFound(f"找不到本地分组方案 {plan_id}", code="plan_not_found", field="plan_id")
    return row


def _bureau_region(actor: Actor, user: Any) -> str:
    region = getattr(user, "region_code", None)
    if getattr(user, "hospital_id", None) is not None or not region:
        raise Forbidden("只有医保局用户可以制定本地分组方案")
    return str(region)


def _check_new_id(session: Session, registry: PlanRegistry, plan_id: str) -> LocalPlan | None:
    """The existing draft ``plan_id`` (to be replaced), None for a free id."""
    if not PLAN_ID.fullmatch(plan_id):
        raise ValidationFailed(
            "plan_id：方案编号须为 3–40 位小写字母、数字、“.”或“-”（如 city-2026）",
            field="plan_id",
        )
    existing = session.scalar(
        select(LocalPlan).where(LocalPlan.plan_id == plan_id).with_for_update()
    )
    if existing is not None:
        if existing.status != "draft":
            raise Conflict(
                f"方案 {plan_id} 已发布，不能修改；请用新的方案编号导入", field="plan_id"
            )
        return existing
    if any(i.id == plan_id for i in registry.list_plans()):
        raise Conflict(f"方案编号 {plan_id} 已被使用", field="plan_id")
    return None


def _zip(folder: Path) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as zf:
        for path in sorted(folder.iterdir()):
            zf.write(path, path.name)
    return out.getvalue()


def _changes(registry: PlanRegistry, base_id: str | None, folder: Path) -> dict[str, Any]:
    if not base_id or base_id not in {i.id for i in registry.list_plans()}:
        return {"base": base_id, "text": "无可对比的基础方案", "empty": None}
    try:
        diff = diff_plans(load_plan(registry.info(base_id).path), load_plan(folder))
    except PlanError as exc:
        return {"base": base_id, "text": f"无法对比：{exc}", "empty": None}
    return {"base": base_id, "text": diff.to_text(), "empty": diff.is_empty}


def _notice(base: Path | None, folder: Path, plan_id: str, base_id: str | None, who: str) -> None:
    for name in _COPIED:
        if base is not None and (base / name).is_file():
            shutil.copy2(base / name, folder / name)
    lines = [
        f"{plan_id}：由 {who} 于 {local(utcnow()):%Y-%m-%d} 以 Yibao 分组方案工作簿导入，",
        f"基础方案 {base_id or '（未知）'}；以下为基础方案的来源与许可说明。",
        "",
    ]
    old = (folder / "NOTICE").read_text(encoding="utf-8") if (folder / "NOTICE").is_file() else ""
    (folder / "NOTICE").write_text("\n".join(lines) + old, encoding="utf-8")


# long: read, build and check the plan, then store it — nothing is stored on any refusal
def do_import_plan(
    session: Session,
    registry: PlanRegistry,
    settings: Any,
    *,
    data: bytes,
    filename: str,
    plan_id: str,
    title: str | None,
    reason: str,
    actor: Actor,
    user: Any,
) -> LocalPlan:
    """Import an edited workbook as the draft ``plan_id`` (new, or replacing a draft)."""
    region = _bureau_region(actor, user)
    plan_id = (plan_id or "").strip()
    text = (reason or "").strip()
    if len(text) < 2:
        raise ValidationFailed("reason：请填写导入依据（如文件号、修改说明）", field="reason")
    existing = _check_new_id(session, registry, plan_id)
    if existing is not None:
        check_owner(existing, user)
    try:
        content = read_workbook(data)
    except WorkbookError as exc:
        raise WorkbookInvalid(exc.issues) from None
    base_id = content.raw["plan"]["id"] or None
    title = (title or "").strip() or f"{content.raw['plan']['title']}（{plan_id}）"
    base_info = next((i for i in registry.list_plans() if i.id == base_id), None)
    meta = {
        "version": local(utcnow()).strftime("%Y%m%d%H%M"),
        "status": "draft",
        "region": region,
        "base_plan": base_id,
        "note": "本地分组方案（草稿），由分组方案工作簿导入",
    }
    root = local_plans_dir(settings)
    root.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=root, prefix=".import-") as tmp:
        folder = Path(tmp) / plan_id
        try:
            _plan, checksum = build_plan_folder(content, folder, plan_id, title[:200], meta)
        except WorkbookError as exc:
            raise WorkbookInvalid(exc.issues) from None
        _notice(base_info.path if base_info else None, folder, plan_id, base_id, actor.name)
        changes = _changes(registry, base_id, folder)
        bundle = _zip(folder)
    before = None
    row = existing or LocalPlan(plan_id=plan_id, status="draft")
    if existing is not None:
        before = {"checksum": existing.checksum, "workbook": existing.workbook_name}
    else:
        session.add(row)
    row.title, row.base_plan_id, row.region_code = title[:200], base_id, region
    row.checksum, row.workbook_name, row.bundle = checksum, filename[:200], bundle
    row.changes, row.trial, row.reason = changes, None, text[:500]
    row.created_by, row.created_at = actor.name, utcnow()
    session.flush()
    after = {"plan_id": plan_id, "base": base_id, "checksum": checksum, "reason": text[:500]}
    record(session, actor, "grouping.local_plan_import", "local_plan", row.id, before, after)
    unpack(row, settings, registry)
    return row


def do_publish_plan(
    session: Session,
    registry: PlanRegistry,
    settings: Any,
    *,
    plan_id: str,
    reason: str,
    actor: Actor,
    user: Any,
) -> LocalPlan:
    """Publish the draft ``plan_id``: from now on it is immutable and can be paid by."""
    _bureau_region(actor, user)
    text = (reason or "").strip()
    if len(text) < 2:
        raise ValidationFailed("reason：请填写发布依据（如文件号）", field="reason")
    row = session.scalar(select(LocalPlan).where(LocalPlan.plan_id == plan_id).with_for_update())
    if row is None:
        raise NotFound(f"找不到本地分组方案 {plan_id}", code="plan_not_found", field="plan_id")
    check_owner(row, user)
    if row.status != "draft":
        raise Conflict(f"方案 {plan_id} 已发布", field="plan_id")
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp) / plan_id
        _extract(row.bundle, folder)
        meta = json.loads((folder / "meta.json").read_text(encoding="utf-8"))
        meta.update(status="published", note="本地分组方案（已发布，不可修改）")
        (folder / "meta.json").write_text(
            json.dumps(meta, ensure_ascii=False, indent=2) + "\n", encoding="utf-8"
        )
        if plan_checksum(folder / "plan.json") != row.checksum:
            raise Conflict(f"方案 {plan_id} 的内容与校验和不符，不能发布", field="plan_id")
        row.bundle = _zip(folder)
    row.status, row.published_by, row.published_at = "published", actor.name, utcnow()
    session.flush()
    after = {"plan_id": plan_id, "checksum": row.checksum, "reason": text[:500]}
    record(
        session,
        actor,
        "grouping.local_plan_publish",
        "local_plan",
        row.id,
        {"status": "draft"},
        {**after, "status": "published"},
    )
    unpack(row, settings, registry)
    return row


def do_delete_draft(
    session: Session,
    registry: PlanRegistry,
    settings: Any,
    *,
    plan_id: str,
    actor: Actor,
    user: Any,
) -> None:
    """Delete a draft (a published plan stays for ever)."""
    _bureau_region(actor, user)
    row = local_plan(session, plan_id)
    check_owner(row, user)
    if row.status != "draft":
        raise Conflict(f"方案 {plan_id} 已发布，不能删除", field="plan_id")
    before = {"plan_id": plan_id, "checksum": row.checksum, "status": row.status}
    record(session, actor, "grouping.local_plan_delete", "local_plan", row.id, before, None)
    session.delete(row)
    session.flush()
    shutil.rmtree(local_plans_dir(settings) / plan_id, ignore_errors=True)
    registry.forget(plan_id)


def _extract(bundle: bytes, folder: Path) -> None:
    folder.mkdir(parents=True)
    with zipfile.ZipFile(io.BytesIO(bundle)) as zf:
        for name in zf.namelist():
            if "/" in name or "\\" in name or name.startswith("."):
                continue  # only plain file names, as :func:`_zip` writes them
            (folder / name).write_bytes(zf.read(name))


def unpack(row: LocalPlan, settings: Any, registry: PlanRegistry) -> None:
    """Write the plan folder of ``row`` (replacing an older one) and tell the registry."""
    _unpack_into(local_plans_dir(settings), row, registry)


def _unpack_into(root: Path, row: LocalPlan, registry: PlanRegistry) -> None:
    root.mkdir(parents=True, exist_ok=True)
    target = root / row.plan_id
    with tempfile.TemporaryDirectory(dir=root, prefix=".unpack-") as tmp:
        folder = Path(tmp) / row.plan_id
        _extract(row.bundle, folder)
        old = Path(tmp) / "old"
        if target.exists():
            target.rename(old)
        folder.rename(target)
    registry.refresh()


def ensure_local_plan(session: Session, registry: PlanRegistry, plan_id: str) -> None:
    """Make a stored local plan known to this process, in its stored status, if it is
    not yet (another server imported or published it; ADR 0040).  Ids that are not
    local plans are left alone (the caller's lookup answers 404 for unknown ones)."""
    row = session.scalar(select(LocalPlan).where(LocalPlan.plan_id == plan_id))
    roots = [d for d in registry.dirs if d.name == LOCAL_DIR]
    if row is None or not roots:
        return
    held = next((i for i in registry.list_plans() if i.id == plan_id), None)
    if held is None or held.meta.status != row.status:
        _unpack_into(roots[0], row, registry)


def sync_local_plans(session: Session, settings: Any, registry: PlanRegistry) -> int:
    """Unpack every stored local plan this process lacks or holds in another version
    (status or content); remove folders of deleted drafts.  Returns plans unpacked."""
    root = local_plans_dir(settings)
    rows = {r.plan_id: r for r in session.scalars(select(LocalPlan))}
    done = 0
    for plan_id, row in rows.items():
        folder = root / plan_id
        meta = folder / "meta.json"
        current = (
            meta.is_file()
            and (folder / "plan.json").is_file()
            and json.loads(meta.read_text(encoding="utf-8")).get("status") == row.status
            and plan_checksum(folder / "plan.json") == row.checksum
        )
        if not current:
            unpack(row, settings, registry)
            done += 1
    if root.is_dir():
        for folder in root.iterdir():
            if folder.is_dir() and not folder.name.startswith(".") and folder.name not in rows:
                shutil.rmtree(folder, ignore_errors=True)
                registry.forget(folder.name)
    return done


def sees_trial(row: LocalPlan, user: Any) -> bool:
    """A trial's figures are the region's cases: only its bureau (and the bureaus above
    it) see them, never a hospital."""
    mine = getattr(user, "region_code", None)
    if getattr(user, "hospital_id", None) is not None or not mine:
        return False
    return row.region_code.startswith(region_prefix(mine))


def check_owner(row: LocalPlan, user: Any) -> None:
    """Only the bureau that imported a plan (or one above it) may try, publish or
    delete it."""
    if not sees_trial(row, user):
        raise Forbidden(f"方案 {row.plan_id} 属于区划 {row.region_code}，只能由该地医保局操作")


def local_plan_payload(row: LocalPlan, user: Any) -> dict[str, Any]:
    """A local plan as ``schemas.LocalPlanOut`` (the trial only for those who may see it)."""
    return {
        "plan_id": row.plan_id,
        "title": row.title,
        "base_plan_id": row.base_plan_id,
        "region_code": row.region_code,
        "status": row.status,
        "status_label": {"draft": "草稿", "published": "已发布"}.get(row.status, row.status),
        "checksum": row.checksum,
        "workbook_name": row.workbook_name,
        "changes": row.changes,
        "trial": row.trial if sees_trial(row, user) else None,
        "reason": row.reason,
        "created_by": row.created_by,
        "created_at": row.created_at,
        "published_by": row.published_by,
        "published_at": row.published_at,
    }
