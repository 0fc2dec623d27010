"""Fixtures for the golden grouper tests: compiled package plans and the shared case files.

Every plan folder counts: the plans shipped in ``src/yibao/plans`` and the plan
folders of ``../shared/data`` (the truth for which plans exist; a folder there that
is not shipped fails).  The fixtures are module-scoped, so pytest runs the tests
plan by plan and keeps one compiled plan (≈ 50 MB) in memory at a time.
"""

from __future__ import annotations

from pathlib import Path

import polars as pl
import pytest

from yibao.engines.grouper import CompiledPlan, compile_plan, load_plan, read_cases

REPO = Path(__file__).resolve().parents[1].parent
PLANS_DIR = REPO / "src" / "yibao" / "plans"
SHARED_DATA = REPO / ".." / "shared" / "data"


def plan_folders(root: Path) -> list[str]:
    """Names of the sub-folders of ``root`` that hold a ``plan.json``."""
    if not root.is_dir():
        return []
    return sorted(p.name for p in root.iterdir() if (p / "plan.json").is_file())


PLAN_IDS = sorted(set(plan_folders(PLANS_DIR)) | set(plan_folders(SHARED_DATA)))


@pytest.fixture(scope="module", params=PLAN_IDS)
def plan_id(request: pytest.FixtureRequest) -> str:
    """Each plan folder (package plans and ../shared/data plans)."""
    return str(request.param)


@pytest.fixture(scope="module")
def golden_plan(plan_id: str) -> CompiledPlan:
    """The package plan ``plan_id``, compiled once per plan."""
    folder = PLANS_DIR / plan_id
    if not (folder / "plan.json").is_file():
        pytest.fail(f"方案 {plan_id} 在 ../shared/data 中，但没有随包发布 (not in src/yibao/plans)")
    return compile_plan(load_plan(folder))


@pytest.fixture(scope="module")
def golden_cases(plan_id: str) -> pl.DataFrame:
    """``cases-public.csv`` of the plan (input columns + expected results), or skip."""
    path = SHARED_DATA / plan_id / "cases-public.csv"
    if not path.is_file():
        pytest.skip(f"{path} not found: the golden cases live in ../shared, outside the repo")
    cases: pl.DataFrame = read_cases(path, keep_extra=True)
    return cases
