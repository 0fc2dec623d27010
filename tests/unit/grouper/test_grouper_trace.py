"""The explained path: step codes and Chinese texts, and agreement with the fast path."""

from __future__ import annotations

from yibao.engines.grouper import TRACE_CODES, CompiledPlan, GroupResult, group_one

ADULT = {"sex": 1, "age_years": 50, "age_days": None, "birth_weight_g": None, "procedures": ""}


def _traced(plan: CompiledPlan, **case: object) -> GroupResult:
    result = group_one(plan, {**ADULT, **case}, trace=True)
    fast = group_one(plan, {**ADULT, **case})
    assert result[:6] == fast[:6]  # same result (and message) as the fast path
    assert fast.trace is None
    assert result.trace is not None
    assert {step.code for step in result.trace} <= set(TRACE_CODES)
    return result


def _codes(result: GroupResult) -> list[str]:
    assert result.trace is not None
    return [step.code for step in result.trace]


def test_cc_excluded_by_the_principal_diagnosis_table(grouper11: CompiledPlan) -> None:
    # README example: principal K22.301 has exclusion table 111; K11.901 is a CC of
    # table 110 (valid); K22.300 is an MCC of table 111 (excluded).
    result = _traced(grouper11, diagnoses="K22.301|K22.300|K11.901")
    assert (result.status, result.mdc, result.adrg, result.drg) == ("ok", "MDCG", "GZ1", "GZ13")
    assert result.trace is not None
    steps = {step.code: step for step in result.trace}
    codes = _codes(result)
    assert codes[:2] == ["MAP_DX", "MAP_DX"]
    assert codes.index("MDC_ENTRY") < codes.index("ADRG_MATCH") < codes.index("CC_EXCLUDED")
    assert codes[-2:] == ["DRG_SPLIT", "RESULT"]
    excluded = steps["CC_EXCLUDED"]
    assert not excluded.ok
    assert dict(excluded.data) == {"code": "K22.300", "level": "MCC", "table": "111"}
    assert "K22.300" in excluded.text and "排除表 111" in excluded.text
    found = steps["CC_FOUND"]
    assert dict(found.data) == {"code": "K11.901", "level": "CC", "table": "110"}
    assert "有效 CC" in found.text
    assert "MDCG" in steps["MDC_ENTRY"].text and "GZ1" in steps["ADRG_MATCH"].text
    assert steps["DRG_SPLIT"].text == "ADRG GZ1 细分：GZ13（需有效 CC 或 MCC）满足 → GZ13"
    assert steps["RESULT"].data["drg"] == "GZ13"


def test_only_excluded_complication_gives_the_plain_drg(grouper11: CompiledPlan) -> None:
    result = _traced(grouper11, diagnoses="K22.301|K22.300")
    assert result.drg == "GZ15"
    assert "CC_EXCLUDED" in _codes(result) and "CC_FOUND" not in _codes(result)


def test_mdcs_before_the_match_are_skipped_with_a_reason(grouper11: CompiledPlan) -> None:
    result = _traced(grouper11, diagnoses="K22.301")
    assert result.trace is not None
    skipped = [s for s in result.trace if s.code == "MDC_SKIP"]
    assert [s.data["mdc"] for s in skipped][:3] == ["MDCA", "MDCP", "MDCY"]
    assert "没有手术操作" in skipped[0].text  # MDCA needs an OR procedure
    assert any(s.code == "CC_NONE" and "只有主要诊断" in s.text for s in result.trace)


def test_failed_input_check_is_the_last_step_before_the_result(grouper11: CompiledPlan) -> None:
    result = _traced(grouper11, diagnoses="K22.301", sex="3")
    assert result.status == "check_failed"
    assert result.trace is not None
    assert [s.code for s in result.trace[-2:]] == ["CHECK_SEX", "RESULT"]
    assert not result.trace[-2].ok and "“3”" in result.trace[-2].text
    assert "性别" in result.message


def test_unmapped_code_is_named(grouper11: CompiledPlan) -> None:
    result = _traced(grouper11, diagnoses="K22.301|NOPE.1")
    assert result.status == "dx_not_mapped"
    assert result.trace is not None
    assert any(s.code == "MAP_DX" and not s.ok and "NOPE.1" in s.text for s in result.trace)
    assert "NOPE.1" in result.message


def test_mapped_code_shows_old_and_new_code(grouper11: CompiledPlan) -> None:
    plan = grouper11.plan
    source, target = next((k, v) for k, v in plan.dx_map.items() if k != v and v in plan.dx_names)
    result = _traced(grouper11, diagnoses=source)
    assert result.trace is not None
    assert f"{source} 映射为 {target}" in result.trace[0].text


def test_ungroupable_case_falls_through(grouper11: CompiledPlan) -> None:
    # an MDCM (male) principal diagnosis for a woman: MDCM is skipped, nothing else takes it
    letter_m = grouper11.plan.code_lists["MDCM.dx"][0]
    result = _traced(grouper11, diagnoses=letter_m, sex=2)
    assert result.status == "ungroupable"
    assert (result.mdc, result.adrg, result.drg) == ("0000", "00", "0000")
    assert _codes(result)[-1] == "RESULT"
