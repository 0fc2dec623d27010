"""Discover plan folders, compile plans on demand (cached), pick the plan valid on a date."""

from __future__ import annotations

import functools
import hashlib
import json
import threading
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

from yibao.engines.grouper.compiler import CompiledPlan, compile_plan
from yibao.engines.grouper.errors import PlanNotFoundError
from yibao.engines.grouper.plan import PlanMeta, load_plan, read_meta

#: the plans shipped with the package (``src/yibao/plans``)
PACKAGE_PLANS_DIR = Path(__file__).resolve().parents[2] / "plans"


@dataclass(frozen=True, slots=True)
class PlanInfo:
    """A discovered plan folder and its metadata (no tables loaded)."""

    meta: PlanMeta
    path: Path

    @property
    def id(self) -> str:
        """The plan id, e.g. ``chs-drg-1.1``."""
        return self.meta.id

    @property
    def checksum(self) -> str:
        """The plan's :func:`content_checksum` (recorded with each grouping result)."""
        return plan_checksum(self.path / "plan.json")


#: what a plan's checksum leaves out: its name and where its data came from
_IDENTITY_KEYS = ("source",)
_IDENTITY_PLAN_KEYS = ("id", "title")
_IDENTITY_TABLE_KEYS = ("file", "source")


def content_checksum(raw: dict[str, Any]) -> str:
    """SHA-256 of a plan's grouping content: ``plan.json`` (which holds every table's
    SHA-256) in a canonical form (keys sorted, no spaces) without the plan's id and
    title and the provenance notes.  Two plans that group alike by construction — a
    plan and its unchanged Excel round trip, whatever id it is imported under — have
    the same checksum; any change to a condition, list, split, table or setting
    changes it (ADR 0040)."""
    content = {k: v for k, v in raw.items() if k not in _IDENTITY_KEYS}
    content["plan"] = {k: v for k, v in raw.get("plan", {}).items() if k not in _IDENTITY_PLAN_KEYS}
    content["tables"] = {
        name: {k: v for k, v in spec.items() if k not in _IDENTITY_TABLE_KEYS}
        for name, spec in raw.get("tables", {}).items()
    }
    text = json.dumps(content, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def plan_checksum(path: Path) -> str:
    """:func:`content_checksum` of a ``plan.json`` file (cached per file version)."""
    stat = path.stat()
    return _checksum(str(path), stat.st_mtime_ns, stat.st_size)


@functools.lru_cache(maxsize=256)
def _checksum(path: str, _mtime_ns: int, _size: int) -> str:
    return content_checksum(json.loads(Path(path).read_text(encoding="utf-8")))


class PlanRegistry:
    """Plans found in some directories; each sub-folder with a ``plan.json`` is a plan.

    ``dirs`` (e.g. ``YIBAO_PLANS_DIR``, read by the caller) are searched before the
    package plans; when two folders carry the same id the first one found wins.
    Compiled plans are cached; the registry is safe to share between threads.

    >>> plans = PlanRegistry([Path("/srv/yibao/plans")])
    >>> plans.for_date(date(2023, 5, 1)).id  # doctest: +SKIP
    'chs-drg-1.1'
    """

    def __init__(self, dirs: Iterable[Path] = (), *, include_package: bool = True) -> None:
        self.dirs = [Path(d) for d in dirs]
        if include_package:
            self.dirs.append(PACKAGE_PLANS_DIR)
        self._lock = threading.Lock()
        #: plan id → (content checksum, compiled plan)
        self._compiled: dict[str, tuple[str, CompiledPlan]] = {}
        self._infos: dict[str, PlanInfo] = {}
        self.refresh()

    def refresh(self) -> None:
        """Re-scan the directories (compiled plans already cached are kept)."""
        found: dict[str, PlanInfo] = {}
        for root in self.dirs:
            if not root.is_dir():
                continue
            for folder in sorted(p for p in root.iterdir() if (p / "plan.json").is_file()):
                meta = read_meta(folder)
                found.setdefault(meta.id, PlanInfo(meta, folder))
        with self._lock:
            self._infos = found

    def list_plans(self) -> list[PlanInfo]:
        """All plans, oldest validity first."""
        return sorted(self._infos.values(), key=lambda i: (i.meta.valid_from or date.min, i.id))

    def info(self, plan_id: str) -> PlanInfo:
        """Metadata of one plan; :class:`PlanNotFoundError` if unknown."""
        found = self._infos.get(plan_id)
        if found is None:  # a plan folder added since (a bureau's local plan): look again
            self.refresh()
            found = self._infos.get(plan_id)
        if found is None:
            known = "、".join(sorted(self._infos)) or "无"
            raise PlanNotFoundError(
                f'找不到分组方案 "{plan_id}"（已有：{known}） (unknown plan "{plan_id}")'
            )
        return found

    def get(self, plan_id: str) -> CompiledPlan:
        """The compiled plan ``plan_id``, loaded and compiled on first use."""
        info = self.info(plan_id)
        checksum = info.checksum  # a replaced draft (new content) is compiled afresh
        with self._lock:
            cached = self._compiled.get(plan_id)
            if cached is None or cached[0] != checksum:
                cached = (checksum, compile_plan(load_plan(info.path)))
                self._compiled[plan_id] = cached
            return cached[1]

    def forget(self, plan_id: str) -> None:
        """Drop a removed plan folder (a deleted draft) and its compiled form."""
        with self._lock:
            self._compiled.pop(plan_id, None)
        self.refresh()

    def info_for_date(self, day: date, region: str | None = None) -> PlanInfo:
        """The plan valid on ``day`` (discharge date).

        Drafts are never chosen; retired plans still are for dates in their range.
        When several plans are valid the one with the latest ``valid_from`` wins.
        Regional plans (``meta.json`` ``region``) are only chosen for their
        ``region``, before the national plans; without ``region`` only national
        plans are chosen.
        """
        valid = [
            i
            for i in self._infos.values()
            if i.meta.status != "draft" and i.meta.valid_on(day) and i.meta.region is None
        ]
        if region is not None:
            own = [
                i
                for i in self._infos.values()
                if i.meta.status != "draft" and i.meta.valid_on(day) and i.meta.region == region
            ]
            valid = own or valid
        if not valid:
            raise PlanNotFoundError(
                f"没有在 {day.isoformat()} 有效的分组方案 (no plan valid on {day.isoformat()})"
            )
        return max(valid, key=lambda i: (i.meta.valid_from or date.min, i.id))

    def for_date(self, day: date, region: str | None = None) -> CompiledPlan:
        """The compiled plan valid on ``day``; see :meth:`info_for_date`."""
        return self.get(self.info_for_date(day, region).id)
