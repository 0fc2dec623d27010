"""The QY (ambiguous case) step, switched off in the shipped plans, switched on here."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import polars as pl
import pytest

from yibao.engines.caseframe import GROUPER_INPUT
from yibao.engines.grouper import Plan, compile_plan, group_batch, group_one, read_cases

SHARED_CASES = (
    Path(__file__).resolve().parents[3]
    / ".."
    / "shared"
    / "data"
    / "chs-drg-1.1"
    / "cases-public.csv"
)


def _with_qy(plan: Plan) -> Plan:
    mdcs = {
        letter: dataclasses.replace(mdc, qy=dataclasses.replace(mdc.qy, enabled=True))
        for letter, mdc in plan.mdcs.items()
    }
    return dataclasses.replace(plan, mdcs=mdcs)


def test_qy_when_enabled_all_paths_agree(plan11: Plan) -> None:
    if not SHARED_CASES.is_file():
        pytest.skip(f"{SHARED_CASES} not found (shared data lives outside the repo)")
    compiled = compile_plan(_with_qy(plan11))
    cases = read_cases(SHARED_CASES).head(3000)
    rows = list(cases.iter_rows(named=True))
    single = [tuple(group_one(compiled, row)[:6]) for row in rows]
    traced = [tuple(group_one(compiled, row, trace=True)[:6]) for row in rows]
    batch = group_batch(compiled, cases.select(list(GROUPER_INPUT)))
    assert single == traced
    assert batch.select("status", "mdc", "adrg", "drg", "drg_name").rows() == [
        s[:5] for s in single
    ]
    qy = [s for s in single if s[0] == "ambiguous_qy"]
    assert qy, "some public cases have an OR procedure outside their MDC's surgical ADRGs"
    _, mdc, adrg, drg, name, message = qy[0]
    assert adrg == "QY" and drg == f"{mdc[-1]}QY" and name is None and "歧义病案" in message


def test_qy_case_is_explained(plan11: Plan) -> None:
    compiled = compile_plan(_with_qy(plan11))
    # K22.301 (MDCG, medical) with an OR procedure that no MDCG surgical ADRG lists
    or_code = next(
        code
        for code in sorted(plan11.or_procedures)
        if code in plan11.proc_map
        and not any(code in codes for name, codes in plan11.code_lists.items() if name[0] in "AG")
    )
    case = {"sex": 1, "age_years": 50, "diagnoses": "K22.301", "procedures": or_code}
    result = group_one(compiled, case, trace=True)
    assert (result.status, result.mdc, result.adrg, result.drg) in {
        ("ambiguous_qy", "MDCG", "QY", "GQY"),
        ("ambiguous_qy", "MDCA", "QY", "AQY"),
    }
    assert result.trace is not None and result.trace[-2].code == "QY_MATCH"
    assert group_one(compiled, case)[:6] == result[:6]
    frame = pl.DataFrame([case], schema={k: GROUPER_INPUT[k] for k in case})
    assert group_batch(compiled, frame).get_column("status").to_list() == ["ambiguous_qy"]
