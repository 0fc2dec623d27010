"""diff_plans: DRG, ADRG, condition, code-list and CC/MCC changes between plans."""

from __future__ import annotations

import dataclasses

from yibao.engines.grouper import Plan, diff_plans
from yibao.engines.grouper.model import CcEntry, DrgSpec


def test_a_plan_does_not_differ_from_itself(plan11: Plan) -> None:
    diff = diff_plans(plan11, plan11)
    assert diff.is_empty
    assert diff.to_text() == "方案对比 chs-drg-1.1 → chs-drg-1.1：无差异"


def test_edits_are_found(plan11: Plan) -> None:
    lists = dict(plan11.code_lists)
    removed = lists["YR1.dx"][0]
    lists["YR1.dx"] = (*lists["YR1.dx"][1:], "ZZZ.999")
    drgs = dict(plan11.drgs)
    drgs["YR11"] = dataclasses.replace(drgs["YR11"], name="新名称")
    drgs["YR13"] = dataclasses.replace(drgs["YR13"], split="mcc")
    drgs["YR19"] = DrgSpec("YR19", "YR1", "always", "新组")
    del drgs["YR15"]
    cc = dict(plan11.cc_mcc)
    cc["K11.901"] = CcEntry("MCC", "110")
    new = dataclasses.replace(plan11, id="edited", code_lists=lists, drgs=drgs, cc_mcc=cc)

    diff = diff_plans(plan11, new)
    assert diff.drgs_added == (("YR19", "新组"),)
    assert [c for c, _ in diff.drgs_removed] == ["YR15"]
    assert [(r.code, r.name_b) for r in diff.drgs_renamed] == [("YR11", "新名称")]
    assert [(v.code, v.a, v.b) for v in diff.drg_splits_changed] == [("YR13", "cc_or_mcc", "mcc")]
    (change,) = diff.code_sets_changed
    assert (change.owner, change.test, change.added) == (
        "ADRG YR1",
        "principal_dx_in #1",
        ("ZZZ.999",),
    )
    assert change.removed == (() if removed in lists["YR1.dx"] else (removed,))
    assert [(c.code, c.level_a, c.level_b) for c in diff.cc_changes] == [("K11.901", "CC", "MCC")]
    text = diff.to_text()
    assert "新增 DRG：1 项" in text and "YR19 新组" in text
    assert "DRG 更名：1 项" in text and "CC/MCC 级别改变：1 项" in text


def test_versions_1_0_to_1_1(plan10: Plan, plan11: Plan) -> None:
    diff = diff_plans(plan10, plan11)
    assert {c for c, _ in diff.drgs_added} == set(plan11.drgs) - set(plan10.drgs)
    assert {c for c, _ in diff.drgs_removed} == set(plan10.drgs) - set(plan11.drgs)
    assert len(plan10.drgs) - len(diff.drgs_removed) + len(diff.drgs_added) == 628
    assert diff.cc_changes and diff.code_sets_changed and diff.conditions_changed
    assert any(c.owner == "ADRG JA1" for c in diff.conditions_changed)  # tags in 1.1
    text = diff.to_text()
    assert text.startswith("方案对比 chs-drg-1.0 → chs-drg-1.1")
    assert "编码表改变" in text and "…… 另" in text


def test_a_changed_split_condition_is_found() -> None:
    from yibao.engines.grouper import PlanRegistry
    from yibao.engines.grouper.plan import load_plan

    beijing = load_plan(PlanRegistry().info("beijing-2022").path)
    cd1d = beijing.drgs["CD1D"]  # 除眼眶外的外眼手术，小于等于6岁
    assert cd1d.split == "condition" and cd1d.condition is not None
    older = dataclasses.replace(cd1d.condition, le=14)  # age ≤ 14 instead of ≤ 6
    edited = dataclasses.replace(
        beijing,
        id="edited",
        drgs={**beijing.drgs, "CD1D": dataclasses.replace(cd1d, condition=older)},
    )
    diff = diff_plans(beijing, edited)
    assert [c.owner for c in diff.conditions_changed] == ["DRG CD1D 细分条件"]
    assert "DRG CD1D 细分条件" in diff.to_text()
