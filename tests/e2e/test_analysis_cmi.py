"""One CMI for a hospital-year (ADR 0037, amendment "one CMI"): the hospital's home
page and 决策分析 › DRG 绩效 show the same figure on the same cases — Σ weights ÷ cases
over the year's cases grouped under the weight plan's grouping plan, with a stay of
1–60 days and a cost of at least 5 yuan, whose DRG has a weight.  A stay of 63 days is
left out of both.  The figure is computed here from the cases, their groupings and the
weight plan's items (SQLite, or PostgreSQL with YIBAO_TEST_DATABASE_URL)."""

from __future__ import annotations

import re
from decimal import ROUND_HALF_UP, Decimal

import pytest
from sqlalchemy import select

from tests.builders.demo import settled_region
from tests.builders.settlement import plan_registry
from tests.e2e.test_maps import _as
from yibao.accounts.models import User
from yibao.analysis.refresh import do_refresh
from yibao.cases.models import Case
from yibao.demo.seed import CITY, SEED_ACTOR
from yibao.grouping.models import CaseGrouping
from yibao.measurement.models import MeasurementRun, WeightPlan, WeightPlanItem
from yibao.regions.models import Hospital
from yibao.settlement.models import CasePricing

HTML = {"accept": "text/html"}


@pytest.fixture()
def world(client, db, tmp_path):  # type: ignore[no-untyped-def]
    settled_region(db, years=[2024, 2025], var_dir=tmp_path)
    return client


def _plan(db) -> tuple[str, dict[str, Decimal]]:  # type: ignore[no-untyped-def]
    """The grouping plan and the weights of the region's newest published weight plan."""
    plan = db.scalar(
        select(WeightPlan)
        .where(WeightPlan.region_code == CITY, WeightPlan.status == "published")
        .order_by(WeightPlan.published_at.desc(), WeightPlan.id.desc())
        .limit(1)
    )
    items = db.scalars(select(WeightPlanItem).where(WeightPlanItem.plan_id == plan.id))
    weights = {i.drg: i.relative_weight for i in items if i.relative_weight is not None}
    return db.get(MeasurementRun, plan.run_id).plan_id, weights


def test_home_and_drg_performance_show_one_cmi(world, db) -> None:  # type: ignore[no-untyped-def]
    hospital = db.scalar(
        select(Hospital)
        .join(User, User.hospital_id == Hospital.id)
        .where(User.username == "hosp01")
    )
    plan_id, weights = _plan(db)
    grouped = (CaseGrouping.case_id == Case.id) & (CaseGrouping.plan_id == plan_id)
    rows = db.execute(
        select(Case, CaseGrouping)
        .join(CaseGrouping, grouped)
        .where(Case.hospital_id == hospital.id)
    ).all()
    # a priced, grouped case of the hospital's latest year (the settlement workload's)
    # becomes a 63-day stay; the summaries are rebuilt
    year = max(c.discharge_date.year for c, _ in rows)
    priced = set(db.scalars(select(CasePricing.case_id)))
    long_stay = next(
        c
        for c, g in rows
        if c.discharge_date.year == year
        and c.id in priced
        and g.status == "ok"
        and g.drg in weights
    )
    long_stay.los_days = 63
    db.commit()
    do_refresh(db, CITY, SEED_ACTOR, registry=plan_registry())
    db.commit()

    counted = [
        weights[g.drg]
        for c, g in rows
        if c.discharge_date.year == year
        and g.status == "ok"
        and 1 <= c.los_days <= 60
        and c.total_cost >= 5
        and g.drg in weights
    ]
    cmi = (sum(counted) / len(counted)).quantize(Decimal("0.0001"), ROUND_HALF_UP)
    assert long_stay.id not in {c.id for c, _ in rows if c.los_days <= 60}

    home = _as(world, "hosp01").get("/", headers=HTML).text
    label = re.search(r"CMI（[^）]*）", home).group(0)
    shown = re.search(r'data-testid="todo-cmi">([^<]*)<', home).group(1)
    assert (label, shown) == (f"CMI（{year} 年，{len(counted)} 例）", f"{cmi:.4f}")

    report = _as(world, "analyst").get("/api/analysis/reports/drg", params={"year": year}).json()
    row = next(r for r in report["rows"] if r["hospital_code"] == hospital.code)
    assert (Decimal(row["cmi"]), row["cases"]) == (cmi, len(counted))
    page = world.get("/analysis/drg", params={"year": year}, headers=HTML).text
    assert f'data-col="cmi">{cmi:.4f}</td>' in page
