"""A year-end clearing names the months it covers and misses, and a year not wholly
confirmed is saved only when the bureau says so (ADR 0048)."""

from __future__ import annotations

from decimal import Decimal

import polars as pl
import pytest

from yibao.engines.settlement.clearing import ClearingResult
from yibao.kit.errors import ValidationFailed
from yibao.settlement.clearing.service import _whole_year, month_spans


def _result(missing: tuple[str, ...]) -> ClearingResult:
    zero = Decimal(0)
    done = tuple(f"2025-{m:02d}" for m in range(1, 13) if f"2025-{m:02d}" not in missing)
    return ClearingResult(
        "rate", zero, zero, zero, zero, {}, zero, pl.DataFrame(), pl.DataFrame(), done, missing
    )


def test_month_spans_join_runs_across_the_year_end() -> None:
    assert month_spans([]) == ""
    assert month_spans(["2025-03"]) == "2025-03"
    assert month_spans(["2025-05", "2025-03", "2025-04", "2025-09"]) == (
        "2025-03 至 2025-05、2025-09"
    )
    assert month_spans(["2024-11", "2024-12", "2025-01"]) == "2024-11 至 2025-01"
    assert month_spans(["2025-01", "2025-03"]) == "2025-01、2025-03"


def test_part_of_a_year_is_saved_only_when_said() -> None:
    whole = _result(())
    _whole_year(whole, partial=False)  # twelve months confirmed: nothing to say
    part = _result(("2025-11", "2025-12"))
    with pytest.raises(ValidationFailed) as exc:
        _whole_year(part, partial=False)
    assert exc.value.field == "partial"
    assert "2 个月未完成结算确认（2025-11 至 2025-12）" in exc.value.message
    _whole_year(part, partial=True)
