"""Every plan folder of ../shared/data is shipped in the package, byte for byte."""

from __future__ import annotations

import json

import pytest

from tests.golden.conftest import PLANS_DIR, SHARED_DATA, plan_folders

SHARED_PLANS = plan_folders(SHARED_DATA)


@pytest.mark.parametrize("plan_id", SHARED_PLANS)
def test_shared_plan_is_shipped_unchanged(plan_id: str) -> None:
    source, shipped = SHARED_DATA / plan_id, PLANS_DIR / plan_id
    assert (shipped / "plan.json").is_file(), f"{plan_id} is not in src/yibao/plans"
    names = {p.name for p in source.iterdir()} - {"cases-public.csv"}
    assert {"NOTICE", "plan.json", "README.md"} <= names
    assert any(n.startswith("LICENSE") for n in names)
    for name in sorted(names):
        assert (shipped / name).read_bytes() == (source / name).read_bytes(), name
    meta = json.loads((shipped / "meta.json").read_text(encoding="utf-8"))
    assert meta["id"] == plan_id
    if not plan_id.startswith("chs-drg-"):
        assert meta.get("region"), "a regional plan names its region"


def test_every_package_plan_has_notice_and_licence() -> None:
    for plan_id in plan_folders(PLANS_DIR):
        files = {p.name for p in (PLANS_DIR / plan_id).iterdir()}
        assert "NOTICE" in files and any(f.startswith("LICENSE") for f in files), plan_id


def test_shared_data_present_or_skip() -> None:
    if not SHARED_PLANS:
        pytest.skip("../shared/data not found")
    assert {"chs-drg-1.1", "chs-drg-1.0"} <= set(SHARED_PLANS)
