"""PlanRegistry: discovery, metadata, caching and the plan valid on a date."""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Any

import pytest

from yibao.engines.grouper import PlanNotFoundError, PlanRegistry


def test_package_plans_are_listed_with_their_metadata() -> None:
    infos = {i.id: i for i in PlanRegistry().list_plans()}
    assert {"chs-drg-1.0", "chs-drg-1.1"} <= set(infos)
    assert infos["chs-drg-1.1"].meta.valid_from == date(2022, 1, 1)
    assert infos["chs-drg-1.1"].meta.valid_to is None
    assert infos["chs-drg-1.0"].meta.valid_to == date(2021, 12, 31)


@pytest.mark.parametrize(
    ("day", "plan_id"),
    [
        (date(2020, 6, 1), "chs-drg-1.0"),
        (date(2021, 12, 31), "chs-drg-1.0"),
        (date(2022, 1, 1), "chs-drg-1.1"),
        (date(2030, 1, 1), "chs-drg-1.1"),
    ],
)
def test_plan_valid_on_a_discharge_date(day: date, plan_id: str) -> None:
    assert PlanRegistry().info_for_date(day).id == plan_id


def test_no_plan_before_the_first_validity() -> None:
    with pytest.raises(PlanNotFoundError, match="没有在 2019-12-31 有效的分组方案"):
        PlanRegistry().info_for_date(date(2019, 12, 31))


def test_unknown_id_lists_the_known_ones() -> None:
    with pytest.raises(PlanNotFoundError, match=r'找不到分组方案 "chs-drg-9".*chs-drg-1\.1'):
        PlanRegistry().get("chs-drg-9")


def test_extra_directory_adds_and_overrides_plans(
    tmp_path: Path, copy_plan: Any, edit_json: Any
) -> None:
    extra = tmp_path / "plans"
    local = copy_plan("chs-drg-1.1", extra / "local", new_id="local-2024")
    edit_json(local / "meta.json", lambda m: m.update(version="2024", valid_from="2024-01-01"))
    draft = copy_plan("chs-drg-1.1", extra / "draft", new_id="draft-2025")
    edit_json(draft / "meta.json", lambda m: m.update(valid_from="2025-01-01", status="draft"))
    shadow = copy_plan("chs-drg-1.0", extra / "mine-1.0")  # same id as a package plan
    registry = PlanRegistry([extra])

    assert registry.info("chs-drg-1.0").path == shadow
    assert registry.info_for_date(date(2023, 6, 1)).id == "chs-drg-1.1"
    assert registry.info_for_date(date(2024, 6, 1)).id == "local-2024"
    assert registry.info_for_date(date(2026, 6, 1)).id == "local-2024"  # drafts never chosen
    compiled = registry.for_date(date(2024, 6, 1))
    assert compiled.id == "local-2024"
    assert registry.get("local-2024") is compiled  # cached
    assert (
        not PlanRegistry([extra], include_package=False)
        .info("local-2024")
        .path.is_relative_to(Path(__file__).parents[3] / "src")
    )
