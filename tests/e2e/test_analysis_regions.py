"""The DRG indices of a city's decision-analysis summaries are the city's own: another
city's cases in the same database do not move its regional means or risk levels,
whatever the scope of the session that refreshes (the demo seed and a system job
refresh with the system scope)."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from sqlalchemy import select
from sqlalchemy.orm import make_transient

from tests.builders.settlement import plan_registry
from yibao.analysis.models import DrgYear
from yibao.analysis.performance import weight_plan_of
from yibao.analysis.refresh import do_refresh
from yibao.cases.models import Case
from yibao.db.scoping import SYSTEM_SCOPE, set_scope
from yibao.demo.seed import CITY, SEED_ACTOR, seed_demo
from yibao.demo.standards import publish_demo_standards
from yibao.engines.measure.frames import DEATH
from yibao.grouping.models import CaseGrouping
from yibao.measurement.models import MeasurementRun
from yibao.regions.models import Hospital, Region

OTHER_CITY = "990200"


def _drg_rows(db) -> dict[tuple[str, int], tuple[object, ...]]:  # type: ignore[no-untyped-def]
    return {
        (r.hospital_code, r.year): (r.cases, r.cmi, r.cost_index, r.time_index, r.low_risk_cases)
        for r in db.scalars(select(DrgYear))
    }


def _copy_to_other_city(db, plan_id: str) -> int:  # type: ignore[no-untyped-def]
    """Each grouped case of the city once more in another city's hospital, ten times
    dearer, twice as long and dead: a very different region."""
    parent = db.get(Region, CITY).parent_code
    db.add(Region(code=OTHER_CITY, name="另一市", level="city", parent_code=parent))
    db.flush()
    other = Hospital(code="H99020000001", name="另一市医院", level="3", region_code=OTHER_CITY)
    db.add(other)
    db.flush()
    pairs = db.execute(
        select(Case, CaseGrouping).join(
            CaseGrouping, (CaseGrouping.case_id == Case.id) & (CaseGrouping.plan_id == plan_id)
        )
    ).all()
    copied = []
    for case, grouping in pairs:
        db.expunge(case)
        make_transient(case)
        case.id, case.setl_id = None, f"OTHER-{case.setl_id}"[:40]
        case.hospital_id, case.hospital_code, case.region_code = other.id, other.code, OTHER_CITY
        case.total_cost = case.total_cost * 10
        case.los_days = case.los_days * 2 + 1
        case.discharge_way = DEATH
        copied.append((case, grouping))
    db.add_all([c for c, _ in copied])
    db.flush()
    for case, grouping in copied:
        db.add(
            CaseGrouping(
                case_id=case.id,
                hospital_id=other.id,
                region_code=OTHER_CITY,
                plan_id=grouping.plan_id,
                plan_version=grouping.plan_version,
                plan_checksum=grouping.plan_checksum,
                status=grouping.status,
                mdc=grouping.mdc,
                adrg=grouping.adrg,
                drg=grouping.drg,
                drg_name=grouping.drg_name,
            )
        )
    db.flush()
    return len(copied)


def test_refresh_reads_the_city_cases_only(db) -> None:  # type: ignore[no-untyped-def]
    set_scope(db, SYSTEM_SCOPE)
    seed_demo(db, seed=11, years=[2025], cases_per_year=300)
    publish_demo_standards(
        db,
        plan_registry(),
        region_code=CITY,
        years=[2025],
        valid_from=date(2025, 1, 1),
        actor=SEED_ACTOR,
    )
    do_refresh(db, CITY, SEED_ACTOR, registry=plan_registry())
    db.commit()
    alone = _drg_rows(db)
    assert alone and any(v[2] is not None for v in alone.values())

    plan = weight_plan_of(db, CITY)
    run = db.get(MeasurementRun, plan.run_id)
    assert _copy_to_other_city(db, run.plan_id) > 0
    db.commit()
    do_refresh(db, CITY, SEED_ACTOR, registry=plan_registry())
    db.commit()
    again = _drg_rows(db)
    assert set(again) == set(alone)
    for key, (cases, cmi, cost, time, low) in alone.items():
        assert again[key] == (cases, cmi, cost, time, low), key
    assert all(isinstance(v[1], Decimal) for v in again.values())
