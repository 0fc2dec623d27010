"""ICU hours reach the grouper from the case model (issue 16 item 2): Foshan 2022 splits
by hours in intensive care; its public cases, put in the case model's columns and
joined by ``to_grouper_input`` as stored cases are, group as expected — and without
their ICU hours some of them group differently."""

from __future__ import annotations

from pathlib import Path

import polars as pl
import pytest

from yibao.engines.caseframe import to_grouper_input
from yibao.engines.grouper import PlanRegistry, group_batch

CASES_FILE = Path(__file__).resolve().parents[3] / "shared/data/foshan-2022/cases-public.csv"


def _frames(public: pl.DataFrame) -> tuple[pl.DataFrame, pl.DataFrame, pl.DataFrame]:
    num = {
        c: pl.col(c).cast(pl.Int64, strict=False)
        for c in ("age_years", "age_days", "birth_weight_g", "los_days", "icu_hours")
    }
    cases = public.select(
        pl.col("case_id").alias("setl_id"),
        pl.col("sex"),
        num["age_years"].alias("age_years"),
        num["age_days"].alias("age_days"),
        num["birth_weight_g"].alias("birth_weight_g"),
        pl.col("dept").alias("discharge_dept"),
        num["los_days"].alias("los_days"),
        pl.col("discharge_type").alias("discharge_way"),
        num["icu_hours"].cast(pl.Int32).alias("icu_hours"),
    )

    def codes(column: str) -> pl.DataFrame:
        return (
            public.select(pl.col("case_id").alias("setl_id"), pl.col(column).str.split("|"))
            .explode(column)
            .filter(pl.col(column).is_not_null() & (pl.col(column) != ""))
            .with_columns(pl.int_range(pl.len()).over("setl_id").cast(pl.Int16).alias("seq"))
            .rename({column: "code"})
        )

    return cases, codes("diagnoses"), codes("procedures")


@pytest.mark.skipif(not CASES_FILE.exists(), reason="needs ../shared/data")
def test_icu_hours_from_the_case_model_reach_the_grouper() -> None:
    public = pl.read_csv(CASES_FILE, infer_schema_length=0).fill_null("")
    plan = PlanRegistry().get("foshan-2022")
    cases, dx, px = _frames(public)
    got = group_batch(plan, to_grouper_input(cases, dx, px)).sort("case_id")
    want = public.sort("case_id")
    assert got["drg"].to_list() == want["drg"].to_list()
    blind = group_batch(
        plan,
        to_grouper_input(cases.with_columns(pl.lit(None, pl.Int32).alias("icu_hours")), dx, px),
    ).sort("case_id")
    assert (blind["drg"] != got["drg"]).sum() > 0  # the ICU hours decide some groups
