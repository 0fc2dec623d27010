"""Cross-check with the real grouper engine: every generated case must land in the DRG it
was built for."""

from __future__ import annotations

import polars as pl

from yibao.engines.caseframe import to_grouper_input
from yibao.engines.grouper import PlanRegistry, group_batch
from yibao.engines.synth import CaseBatch


def test_grouper_puts_cases_in_their_target_drg(sample: CaseBatch) -> None:
    plan = PlanRegistry().get("chs-drg-1.1")
    grouped = group_batch(plan, to_grouper_input(sample.cases, sample.diagnoses, sample.procedures))
    joined = grouped.join(sample.targets, left_on="case_id", right_on="setl_id")
    assert joined.height == sample.cases.height
    wrong = joined.filter((pl.col("status") != "ok") | (pl.col("drg") != pl.col("target_drg")))
    assert wrong.height == 0, wrong.head(5)
