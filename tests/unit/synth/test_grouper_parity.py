"""Cross-check with the real grouper engine, when it is present: every generated case
must land in the DRG it was built for."""

from __future__ import annotations

import polars as pl
import pytest

from yibao.engines.caseframe import to_grouper_input
from yibao.engines.synth import CaseBatch


def test_grouper_puts_cases_in_their_target_drg(sample: CaseBatch) -> None:
    grouper = pytest.importorskip("yibao.engines.grouper")
    if not hasattr(grouper, "PlanRegistry") or not hasattr(grouper, "group_batch"):
        pytest.skip("grouper engine API not available")
    plan = grouper.PlanRegistry().get("chs-drg-1.1")
    grouped = grouper.group_batch(
        plan, to_grouper_input(sample.cases, sample.diagnoses, sample.procedures)
    )
    joined = grouped.join(sample.targets, left_on="case_id", right_on="setl_id")
    assert joined.height == sample.cases.height
    wrong = joined.filter((pl.col("status") != "ok") | (pl.col("drg") != pl.col("target_drg")))
    assert wrong.height == 0, wrong.head(5)
