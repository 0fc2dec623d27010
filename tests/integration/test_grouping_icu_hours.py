"""Stored cases keep their ICU hours on the way to the grouper.

Foshan 2022 splits by ``icu_hours`` (PLAN-FORMAT-ADDITIONS.md §2/§8).  A case stored
with its ICU hours must group as the public reference case does, both in the bulk
run over stored cases (``do_group_stored_cases``) and when one stored case is
regrouped (``case_input_of`` + ``group_case_input``).  Public case P000120 of
foshan-2022 groups to GC12 with its 56 ICU hours; without them it becomes GC11.
"""

from __future__ import annotations

from datetime import date

import polars as pl
import pytest
from sqlalchemy import select

from tests import builders as b
from tests.conftest import SHARED
from tests.integration.test_grouping_stored import stored_case
from yibao.db.scoping import SYSTEM_SCOPE, set_scope
from yibao.grouping.models import CaseGrouping
from yibao.grouping.plans import plan_registry
from yibao.grouping.service import case_input_of, do_group_stored_cases, group_case_input

FOSHAN = SHARED / "data" / "foshan-2022" / "cases-public.csv"
ACTOR = b.TEST_ACTOR


def _row(case_id: str) -> dict[str, str | None]:
    if not FOSHAN.exists():
        pytest.skip("needs ../shared/data")
    df = pl.read_csv(FOSHAN, infer_schema=False)
    return df.filter(pl.col("case_id") == case_id).to_dicts()[0]


def _stored_icu_case(db):  # type: ignore[no-untyped-def]
    row = _row("P000120")
    assert (row["icu_hours"], row["drg"]) == ("56", "GC12")
    hospital = b.hospital(db, "990102")
    case = stored_case(db, hospital, row, discharge=date(2024, 3, 1))
    case.icu_hours = int(row["icu_hours"])
    db.commit()
    return case


def test_bulk_stored_grouping_reads_icu_hours(db, settings) -> None:  # type: ignore[no-untyped-def]
    case = _stored_icu_case(db)
    set_scope(db, SYSTEM_SCOPE)
    do_group_stored_cases(db, plan_registry(settings), plan_id="foshan-2022", actor=ACTOR)
    db.commit()
    db.expire_all()
    g = db.scalars(
        select(CaseGrouping)
        .where(CaseGrouping.case_id == case.id)
        .execution_options(skip_scope=True)
    ).one()
    # expected GC12 (ICU hours 56 read); got GC11 (icu_hours not selected from the case)
    assert (g.status, g.drg) == ("ok", "GC12")


def test_single_stored_regroup_reads_icu_hours(db, settings) -> None:  # type: ignore[no-untyped-def]
    case = _stored_icu_case(db)
    single = group_case_input(plan_registry(settings), case_input_of(case, "foshan-2022"))
    # expected GC12; got GC11 (CaseInput has no icu_hours)
    assert (single.result.status, single.result.drg) == ("ok", "GC12")
