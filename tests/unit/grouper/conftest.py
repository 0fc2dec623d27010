"""Fixtures for the grouper unit tests."""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from yibao.engines.grouper import CompiledPlan, Plan, compile_plan, load_plan

REPO = Path(__file__).resolve().parents[3]
PLANS_DIR = REPO / "src" / "yibao" / "plans"
SHARED_DATA = REPO / ".." / "shared" / "data"

_plans: dict[str, Plan] = {}
_compiled: dict[str, CompiledPlan] = {}

JsonEdit = Callable[[Path, Callable[[dict[str, Any]], None]], None]
PlanCopy = Callable[..., Path]


def _plan(plan_id: str) -> Plan:
    if plan_id not in _plans:
        _plans[plan_id] = load_plan(PLANS_DIR / plan_id)
    return _plans[plan_id]


@pytest.fixture
def plan11() -> Plan:
    """The package plan CHS-DRG 1.1 (loaded once per session)."""
    return _plan("chs-drg-1.1")


@pytest.fixture
def plan10() -> Plan:
    """The package plan CHS-DRG 1.0 (loaded once per session)."""
    return _plan("chs-drg-1.0")


@pytest.fixture
def grouper11(plan11: Plan) -> CompiledPlan:
    """CHS-DRG 1.1 compiled (once per session)."""
    if "chs-drg-1.1" not in _compiled:
        _compiled["chs-drg-1.1"] = compile_plan(plan11)
    return _compiled["chs-drg-1.1"]


def _copy_plan(plan_id: str, target: Path, new_id: str | None = None) -> Path:
    """Copy a package plan folder to ``target`` (optionally renaming the plan id)."""
    shutil.copytree(PLANS_DIR / plan_id, target)
    if new_id is not None:
        _edit_json(target / "plan.json", lambda raw: raw["plan"].update(id=new_id))
        meta = target / "meta.json"
        if meta.exists():
            _edit_json(meta, lambda raw: raw.update(id=new_id))
    return target


def _edit_json(path: Path, change: Callable[[dict[str, Any]], None]) -> None:
    """Load a JSON file, apply ``change`` in place and write it back."""
    raw = json.loads(path.read_text(encoding="utf-8"))
    change(raw)
    path.write_text(json.dumps(raw, ensure_ascii=False), encoding="utf-8")


@pytest.fixture
def edit_json() -> JsonEdit:
    """``edit_json(path, change)``: apply ``change`` to a JSON file in place."""
    return _edit_json


@pytest.fixture
def copy_plan() -> PlanCopy:
    """``copy_plan(plan_id, target, new_id=None)``: copy a package plan folder."""
    return _copy_plan


@pytest.fixture
def plan_copy(tmp_path: Path) -> Path:
    """A private copy of the CHS-DRG 1.1 folder to break."""
    return _copy_plan("chs-drg-1.1", tmp_path / "chs-drg-1.1")
