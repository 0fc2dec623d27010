"""Golden tests: every public case of each plan groups exactly as the reference grouper.

The expected status / mdc / adrg / drg come from OpenDRG's CHS-DRG grouper and its
regional packages (see each plan's README).  For every plan folder all three paths
must reproduce 100 % of them, with no exception list: the fast single-case path,
the traced (reference) interpreter and the batch path.  An empty expected code
(Yunnan's ``input_failure`` codes) is an empty cell of the case file.
"""

from __future__ import annotations

import polars as pl

from yibao.engines.caseframe import GROUPER_INPUT
from yibao.engines.grouper import CompiledPlan, group_batch, group_one

EXPECTED = ("status", "mdc", "adrg", "drg")
INPUT = list(GROUPER_INPUT)


def _mismatches(got: list[tuple[str, ...]], cases: pl.DataFrame) -> list[str]:
    want = cases.select(pl.col(col).fill_null("") for col in EXPECTED).rows()
    ids = cases.get_column("case_id").to_list()
    return [f"{i}: got {g}, expected {w}" for i, g, w in zip(ids, got, want, strict=True) if g != w]


def test_group_one_reproduces_every_public_case(
    golden_plan: CompiledPlan, golden_cases: pl.DataFrame
) -> None:
    plan, cases = golden_plan, golden_cases
    got = [tuple(group_one(plan, row)[:4]) for row in cases.select(INPUT).iter_rows(named=True)]
    bad = _mismatches(got, cases)
    assert not bad, f"{len(bad)} of {cases.height} cases differ, e.g. {bad[:5]}"


def test_traced_interpreter_reproduces_every_public_case(
    golden_plan: CompiledPlan, golden_cases: pl.DataFrame
) -> None:
    plan, cases = golden_plan, golden_cases
    got = []
    for row in cases.select(INPUT).iter_rows(named=True):
        result = group_one(plan, row, trace=True)
        assert result.trace is not None and result.trace[-1].code == "RESULT"
        got.append(tuple(result[:4]))
    bad = _mismatches(got, cases)
    assert not bad, f"{len(bad)} of {cases.height} cases differ, e.g. {bad[:5]}"


def test_group_batch_reproduces_every_public_case(
    golden_plan: CompiledPlan, golden_cases: pl.DataFrame
) -> None:
    cases = golden_cases
    out = group_batch(golden_plan, cases.select(INPUT))
    assert out.columns == [*INPUT, "status", "mdc", "adrg", "drg", "drg_name"]
    bad = _mismatches(out.select(EXPECTED).rows(), cases)
    assert not bad, f"{len(bad)} of {cases.height} cases differ, e.g. {bad[:5]}"


def test_single_and_batch_agree_on_every_field(
    golden_plan: CompiledPlan, golden_cases: pl.DataFrame
) -> None:
    """Parity on the public cases written differently: int sex, "," separators."""
    cases = golden_cases.select(INPUT)
    variant = cases.with_columns(
        pl.col("sex").cast(pl.Int64, strict=False),
        pl.col("diagnoses").str.replace_all("|", ",", literal=True),
    )
    plan = golden_plan
    for frame in (cases, variant):
        batch = group_batch(plan, frame).select("status", "mdc", "adrg", "drg", "drg_name").rows()
        single = [tuple(group_one(plan, row)[:5]) for row in frame.iter_rows(named=True)]
        diff = [(i, s, b) for i, (s, b) in enumerate(zip(single, batch, strict=True)) if s != b]
        assert not diff, f"{len(diff)} rows differ, e.g. {diff[:5]}"
