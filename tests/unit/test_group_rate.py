"""The DRG performance report's 入组率 follows domain.md §1.2 (S14) and
ADR 0004 item 1 — grouped ÷ (all cases − data exclusions: LOS out of range, cost
below the floor …), as :func:`yibao.engines.measure.base.grouping_rate` computes it.
The summary divided by every discharged case, so a hospital whose only ungrouped case
is a LOS-70-day case (excluded from the denominator by the spec) read 66.67 % instead
of 100 %; it now keeps the eligible count."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from tests.builders import case, hospital
from yibao.analysis.models import DrgYear
from yibao.analysis.performance import _grouped_counts
from yibao.analysis.performance_reports import drg
from yibao.analysis.reports import Filters
from yibao.db.scoping import SYSTEM_SCOPE, set_scope
from yibao.grouping.models import CaseGrouping

PLAN = "chs-drg-1.1"


def _group(db, c, status: str, drg_code: str) -> None:  # type: ignore[no-untyped-def]
    db.add(
        CaseGrouping(
            case_id=c.id,
            hospital_id=c.hospital_id,
            region_code=c.region_code,
            plan_id=PLAN,
            plan_version="1",
            status=status,
            mdc=drg_code[:1],
            adrg=drg_code[:3],
            drg=drg_code,
        )
    )


def test_group_rate_leaves_data_exclusions_out_of_the_denominator(db) -> None:  # type: ignore[no-untyped-def]
    set_scope(db, SYSTEM_SCOPE)
    h = hospital(db, "990102")
    day = date(2025, 3, 10)
    for _ in range(2):
        _group(db, case(db, h, discharge_date=day, los_days=5), "ok", "FM19")
    # LOS 70 days: outside the default 1–60 range → a data exclusion (ADR 0004 item 1)
    _group(db, case(db, h, discharge_date=day, los_days=70), "ungroupable", "0000")
    db.flush()

    n_all, n_eligible, n_grouped, n_drgs = _grouped_counts(db, "99", PLAN, 2025)[h.code]
    assert (n_all, n_eligible, n_grouped, n_drgs) == (3, 2, 2, 1)
    # the row exactly as drg_year_rows writes it from these counts
    db.add(
        DrgYear(
            hospital_id=h.id,
            region_code=h.region_code,
            hospital_code=h.code,
            year=2025,
            plan_id=PLAN,
            weight_plan_id=1,
            cases_all=n_all,
            eligible=n_eligible,
            grouped=n_grouped,
            cases=2,
            drgs=n_drgs,
            total_weight=Decimal("2.0000"),
            cmi=Decimal("1.0000"),
            cost_index=Decimal("1.0000"),
            time_index=Decimal("1.0000"),
            low_risk_cases=0,
            low_risk_deaths=0,
        )
    )
    db.flush()
    (row,) = drg(db, None, Filters(year=2025)).rows
    # spec: 2 grouped ÷ (3 cases − 1 LOS exclusion) = 1.0000 (before: 2 ÷ 3 = 0.6667)
    assert row["group_rate"] == Decimal("1.0000")
