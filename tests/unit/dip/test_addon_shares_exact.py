"""The dynamic Xiamen add-ons (domain.md §2.6 L2, ADR 0030 addendum: "exceeds
the mean by 10 %" read as value ÷ level mean − 1, full steps, "exact rational
arithmetic") must count a share that is exactly one step above its level's mean.

Hand computation: two 三级 hospitals of 30 cases each; H1 has 11 patients aged ≤ 6
(share 11/30), H2 has 9 (share 9/30).  Level mean = (11/30 + 9/30) ÷ 2 = 1/3;
H1 ÷ mean − 1 = (11/30) ÷ (1/3) − 1 = 1/10 = exactly one full 10 % step → +0.01
(cap 0.06).  As a float (0.36666666666666664, below 11/30) the step was lost and H1
got 0; `hospital_inputs` now gives exact ratios."""

from __future__ import annotations

from decimal import Decimal
from types import SimpleNamespace
from typing import Any

import polars as pl

from yibao.dip.auxiliary import hospital_inputs
from yibao.engines.dip.addons import dynamic_add_ons

D = Decimal


class _Rows:
    """A stand-in for the session: ``hospital_inputs`` reads one query of case rows
    (id, age in years, total cost, herbal pieces, patent medicine)."""

    def __init__(self, rows: list[tuple[Any, ...]]) -> None:
        self.rows = rows

    def execute(self, _stmt: object) -> list[tuple[Any, ...]]:
        return self.rows


def test_child_share_exactly_one_step_above_the_level_mean_adds_001() -> None:
    rows, frame = [], []
    for hospital, children in (("H1", 11), ("H2", 9)):
        for i in range(30):
            sid = f"{hospital}-{i}"
            rows.append((sid, 3 if i < children else 40, D("1000.00"), D(0), D(0)))
            frame.append((sid, hospital, "3", D("1000.00")))
    cases = pl.DataFrame(
        frame,
        schema={
            "setl_id": pl.String,
            "hospital_code": pl.String,
            "hospital_level": pl.String,
            "score": pl.Decimal(18, 2),
        },
        orient="row",
    )
    catalogue = SimpleNamespace(params={"scores": {"scale": "1000"}}, region_code="350200")
    inputs = hospital_inputs(_Rows(rows), catalogue, 2025, cases)  # type: ignore[arg-type]
    out = dynamic_add_ons(inputs).rows_by_key("code", named=True, unique=True)
    assert out["H1"]["l2_children"] == D("0.01")
    assert out["H2"]["l2_children"] == D(0)
