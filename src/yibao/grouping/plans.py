"""Grouping plans for the running service: one registry per process, plan choice, labels."""

from __future__ import annotations

import json
import threading
from datetime import date
from pathlib import Path
from typing import Any

from yibao.engines.grouper import (
    CompiledPlan,
    PlanError,
    PlanInfo,
    PlanNotFoundError,
    PlanRegistry,
)
from yibao.kit.errors import DomainError, NotFound
from yibao.kit.timeutil import local, utcnow

STATUS_LABELS = {
    "ok": "入组",
    "ungroupable": "无法入组",
    "ambiguous_qy": "歧义病案（QY）",
    "check_failed": "信息校验不通过",
    "dx_not_mapped": "诊断编码不能转换",
    "proc_not_mapped": "手术操作编码不能转换",
}
PLAN_STATUS_LABELS = {"published": "已发布", "retired": "已停用", "draft": "草稿"}
PLAN_REASONS = {
    "requested": "指定方案",
    "discharge_date": "按出院日期选择",
    "region": "本地区付费方案（按出院日期）",
    "default": "当前有效的最新方案",
}

_registries: dict[tuple[str, ...], PlanRegistry] = {}
_registries_lock = threading.Lock()
_counts: dict[tuple[str, float], dict[str, int]] = {}


def plan_registry(settings: Any) -> PlanRegistry:
    """The process-wide registry for ``settings.plans_dir`` (+ package plans).

    Created on first use (never at import) and cached per directory list, so compiled
    plans are shared by all requests and jobs of the process.
    """
    extra = [settings.plans_dir] if getattr(settings, "plans_dir", None) else []
    if getattr(settings, "var_dir", None) is not None:  # the bureau's local plans (ADR 0040)
        extra.append(Path(settings.var_dir) / "local-plans")
    dirs = tuple(str(Path(d).resolve()) for d in extra)
    with _registries_lock:
        registry = _registries.get(dirs)
        if registry is None:
            registry = PlanRegistry([Path(d) for d in dirs])
            _registries[dirs] = registry
        return registry


def plan_counts(info: PlanInfo) -> dict[str, int]:
    """MDC / ADRG / DRG counts from ``plan.json`` (read once per file version)."""
    path = info.path / "plan.json"
    key = (str(path), path.stat().st_mtime)
    counts = _counts.get(key)
    if counts is None:
        head = json.loads(path.read_text(encoding="utf-8")).get("plan", {})
        counts = {
            "mdc": int(head.get("mdc_count", 0)),
            "adrg": int(head.get("adrg_count", 0)),
            "drg": int(head.get("drg_count", 0)),
        }
        _counts[key] = counts
    return counts


def plan_payload(info: PlanInfo) -> dict[str, Any]:
    """A plan as ``schemas.PlanOut``."""
    m = info.meta
    return {
        "id": m.id,
        "title": m.title,
        "version": m.version,
        "valid_from": m.valid_from,
        "valid_to": m.valid_to,
        "status": m.status,
        "status_label": PLAN_STATUS_LABELS.get(m.status, m.status),
        "counts": plan_counts(info),
    }


def list_plans(registry: PlanRegistry) -> list[PlanInfo]:
    """Plans, newest validity first."""
    return list(reversed(registry.list_plans()))


def plan_info(registry: PlanRegistry, plan_id: str) -> PlanInfo:
    """A plan by id; an unknown id is a 404 with the engine's Chinese message."""
    try:
        return registry.info(plan_id)
    except PlanNotFoundError as exc:
        raise NotFound(str(exc), code="plan_not_found", field="plan") from None


def default_plan(registry: PlanRegistry) -> PlanInfo:
    """The plan valid today, else the newest plan that is not a draft."""
    try:
        return registry.info_for_date(local(utcnow()).date())
    except PlanNotFoundError:
        candidates = [i for i in list_plans(registry) if i.meta.status != "draft"]
        if not candidates:
            raise NotFound("没有可用的分组方案 / no grouping plan", code="plan_not_found") from None
        return candidates[0]


def plan_for_date(registry: PlanRegistry, day: date) -> PlanInfo | None:
    try:
        return registry.info_for_date(day)
    except PlanNotFoundError:
        return None


def choose_plan(
    registry: PlanRegistry,
    plan_id: str | None = None,
    day: date | None = None,
    own_plan: str | None = None,
) -> tuple[PlanInfo, str]:
    """(plan, reason): the requested plan, else the region's own plan for the day
    (``own_plan``, ADR 0039), else the one valid on ``day``, else the default."""
    if plan_id:
        return plan_info(registry, plan_id), "requested"
    if own_plan:
        return plan_info(registry, own_plan), "region"
    if day is not None:
        try:
            return registry.info_for_date(day), "discharge_date"
        except PlanNotFoundError as exc:
            raise NotFound(str(exc), code="plan_not_found", field="discharge_date") from None
    return default_plan(registry), "default"


def compiled_plan(registry: PlanRegistry, info: PlanInfo) -> CompiledPlan:
    """The compiled plan (cached by the registry); a broken plan folder is a 500."""
    try:
        return registry.get(info.id)
    except PlanError as exc:
        raise DomainError(str(exc), code="plan_error", http_status=500) from exc
