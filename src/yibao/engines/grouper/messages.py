"""Per-row Chinese messages for a batch result (why a row did not group)."""

from __future__ import annotations

import polars as pl

from yibao.engines.grouper.compiler import CompiledPlan
from yibao.engines.grouper.results import OK
from yibao.engines.grouper.single import group_one

OK_MESSAGE = "分组成功"


def with_messages(
    compiled: CompiledPlan, cases: pl.DataFrame, grouped: pl.DataFrame
) -> pl.DataFrame:
    """Add a ``message`` column to ``grouped`` (the output of ``group_batch(cases)``).

    Rows that grouped get ``分组成功``; the others (usually few) are re-run through
    :func:`group_one` for the specific reason: which code could not be mapped, which
    input check failed, or why no MDC/ADRG took the case.
    """
    status = grouped.get_column("status")
    messages = [OK_MESSAGE] * grouped.height
    bad = (status != OK).arg_true().to_list()
    if bad:
        rows = cases[bad].to_dicts()
        for i, row in zip(bad, rows, strict=True):
            messages[i] = group_one(compiled, row).message
    return grouped.with_columns(pl.Series("message", messages, dtype=pl.String))
