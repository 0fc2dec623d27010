"""Fixtures for the golden grouper tests: compiled package plans and the shared case files."""

from __future__ import annotations

from pathlib import Path

import polars as pl
import pytest

from yibao.engines.grouper import CompiledPlan, compile_plan, load_plan, read_cases

REPO = Path(__file__).resolve().parents[1].parent
PLANS_DIR = REPO / "src" / "yibao" / "plans"
SHARED_DATA = REPO / ".." / "shared" / "data"

_compiled: dict[str, CompiledPlan] = {}


@pytest.fixture(params=["chs-drg-1.1", "chs-drg-1.0"])
def plan_id(request: pytest.FixtureRequest) -> str:
    """Each plan version that has a golden case file."""
    return str(request.param)


@pytest.fixture
def golden_plan(plan_id: str) -> CompiledPlan:
    """The package plan ``plan_id``, compiled once per test session."""
    if plan_id not in _compiled:
        _compiled[plan_id] = compile_plan(load_plan(PLANS_DIR / plan_id))
    return _compiled[plan_id]


@pytest.fixture
def golden_cases(plan_id: str) -> pl.DataFrame:
    """``cases-public.csv`` of the plan (input columns + expected results), or skip."""
    path = SHARED_DATA / plan_id / "cases-public.csv"
    if not path.is_file():
        pytest.skip(f"{path} not found: the golden cases live in ../shared, outside the repo")
    cases: pl.DataFrame = read_cases(path, keep_extra=True)
    return cases
