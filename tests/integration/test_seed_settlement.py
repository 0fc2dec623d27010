"""The demo seed's settlement workload: standards measured from the history, two months
of lists received through the intake, the older month reviewed and confirmed, the newer
month waiting in the reviewer's queue."""

from __future__ import annotations

from decimal import Decimal

import pytest
from sqlalchemy import func, select

from tests.builders.settlement import plan_registry
from tests.builders.snapshot import cached
from yibao.cases.models import Case
from yibao.db.scoping import SYSTEM_SCOPE, set_scope
from yibao.demo.seed import CITY, reset_demo, seed_demo
from yibao.demo.settlement import seed_settlement, settlement_months
from yibao.demo.standards import DEMO_BUDGET_TOLERANCE
from yibao.grouping.models import CaseGrouping
from yibao.kit.timeutil import local, utcnow
from yibao.measurement.models import (
    MeasurementRun,
    PaymentStandardSet,
    RatePlanRow,
    Simulation,
    WeightPlan,
)
from yibao.settlement.models import (
    QcFinding,
    SettlementAdjustment,
    SettlementConfirmation,
    SettlementConfirmBatch,
    SettlementList,
    SettlementPeriod,
    SpecialCaseApplication,
)
from yibao.settlement.review import ReviewFilter, parse_period, review_queue
from yibao.settlement.statements.service import period_statements

YEARS = [2023, 2024, 2025]
PER_MONTH = 60


def _seed(db, tmp_path):  # type: ignore[no-untyped-def]
    set_scope(db, SYSTEM_SCOPE)
    seed_demo(db, seed=7, years=YEARS, cases_per_year=400)
    result = seed_settlement(
        db,
        seed=7,
        years=YEARS,
        registry=plan_registry(),
        var_dir=tmp_path,
        lists_per_month=PER_MONTH,
    )
    db.commit()
    return result


@pytest.fixture()
def seeded(db, tmp_path):  # type: ignore[no-untyped-def]
    """Seeded by the first test of the process that asks, an exact copy for the others
    (the last test seeds again after a reset and compares)."""
    return cached(db, "seed-settlement-7", lambda _s: _seed(db, tmp_path))


def _states(db, month: str) -> dict[str, int]:  # type: ignore[no-untyped-def]
    rows = db.execute(
        select(SettlementList.state, func.count())
        .where(SettlementList.discharge_month == month)
        .group_by(SettlementList.state)
    ).all()
    return {state: int(n) for state, n in rows}


def test_standards_are_measured_and_published(db, seeded):  # type: ignore[no-untyped-def]
    older, _ = settlement_months(local(utcnow()).date())
    (standards,) = db.scalars(select(PaymentStandardSet)).all()
    assert standards.status == "published" and standards.source == "measured"
    assert standards.id == seeded.standard_set_id and seeded.standards > 100
    assert standards.valid_from <= parse_period(older)[0] and standards.valid_to is None
    plan = db.get(WeightPlan, standards.weight_plan_id)
    assert plan is not None and plan.status == "published"
    run = db.get(MeasurementRun, plan.run_id)
    assert run is not None and run.status == "succeeded" and run.years == YEARS
    rate = db.get(RatePlanRow, standards.rate_plan_id)
    assert rate is not None and rate.status == "published"
    # the published rate is the one a simulation solved for the budget (issue 10.2)
    (sim,) = db.scalars(select(Simulation)).all()
    assert "solved" in sim.results and rate.plan == sim.rates
    gap = abs(Decimal(sim.results["totals"]["budget_gap"]))
    assert gap <= Decimal(sim.results["totals"]["budget"]) * DEMO_BUDGET_TOLERANCE
    # and the budget covers every case the simulation pays (ADR 0011)
    assert Decimal(rate.params["last_total"]) == Decimal(sim.results["totals"]["total_cost"])
    # every list with a case was priced with the measured standards
    assert not db.scalar(
        select(func.count())
        .select_from(SettlementList)
        .where(SettlementList.case_id.is_not(None), SettlementList.state == "grouped")
    )


def test_two_months_of_lists_in_the_expected_states(db, seeded):  # type: ignore[no-untyped-def]
    older, newer = settlement_months(local(utcnow()).date())
    assert (seeded.older, seeded.newer) == (older, newer)
    old, new = _states(db, older), _states(db, newer)
    assert set(old) <= {"confirmed", "returned", "qc_failed"}, old
    assert set(new) == {"priced", "qc_failed"}, new
    for counts in (old, new):
        total = sum(counts.values())
        assert PER_MONTH * 0.6 <= total <= PER_MONTH * 1.4
        assert 0 < counts["qc_failed"] <= total * 0.25
    assert seeded.refused == 0 and seeded.received >= sum(old.values()) + sum(new.values())
    # held lists carry Chinese findings
    messages = db.scalars(
        select(QcFinding.message)
        .join(SettlementList, SettlementList.id == QcFinding.list_id)
        .where(SettlementList.state == "qc_failed", QcFinding.severity == "blocking")
    ).all()
    assert messages and all("规则 QC" in m for m in messages)
    # discharge dates inside the months
    lo, hi = parse_period(older)[0], parse_period(newer)[1]
    dates = db.execute(
        select(func.min(Case.discharge_date), func.max(Case.discharge_date)).join(
            SettlementList, SettlementList.case_id == Case.id
        )
    ).one()
    assert lo <= dates[0] and dates[1] <= hi
    assert db.scalar(select(func.count()).where(SettlementPeriod.code.in_([older, newer]))) == 2


def test_older_month_is_reviewed_and_confirmed(db, seeded):  # type: ignore[no-untyped-def]
    older, _ = settlement_months(local(utcnow()).date())
    (batch,) = db.scalars(select(SettlementConfirmBatch)).all()
    assert batch.period_code == older and batch.status == "done"
    confirmed = _states(db, older)["confirmed"]
    assert batch.confirmed == confirmed == seeded.confirmed
    assert seeded.returned >= 1 and seeded.adjusted >= 1
    assert db.scalar(select(func.count()).select_from(SettlementAdjustment)) == seeded.adjusted
    (special,) = db.scalars(select(SpecialCaseApplication)).all()
    assert special.status == "approved" and special.method == "items"
    assert special.period_code == older and special.setl_id == seeded.special_setl_id
    assert special.quota["rule"] == "ACCEPTED"
    statements, cases = period_statements(db, CITY, older)
    assert cases.height == confirmed
    assert "special" in set(cases["payment_class"]) and cases["adjusted"].sum() == seeded.adjusted
    assert statements.height == cases["hospital_code"].n_unique()
    paid = db.scalar(select(func.sum(SettlementConfirmation.amount_paid)))
    assert str(paid) == seeded.amount_paid == str(batch.amount_total)
    # returned and held lists are reported, so the period stays open
    assert batch.pending["total"] == seeded.pending > 0
    period = db.scalar(select(SettlementPeriod).where(SettlementPeriod.code == older))
    assert period is not None and period.status == "open"


def test_newer_month_waits_in_the_review_queue(db, seeded):  # type: ignore[no-untyped-def]
    _, newer = settlement_months(local(utcnow()).date())
    page = review_queue(db, ReviewFilter(period=newer), 1, 20)
    assert page.total == _states(db, newer)["priced"] > 0
    assert all(item["drg_payment"] is not None for item in page.items)
    assert not db.scalar(select(func.count()).where(SettlementConfirmation.period_code == newer))
    assert "待审核" in seeded.summary() and newer in seeded.summary()


def test_reset_removes_the_workload_and_reseeds_the_same(db, seeded, tmp_path):  # type: ignore[no-untyped-def]
    lists = db.execute(select(SettlementList.setl_id, SettlementList.state)).all()
    checksum = db.scalar(select(PaymentStandardSet.checksum))
    reset_demo(db)
    db.commit()
    for model in (SettlementList, PaymentStandardSet, MeasurementRun, CaseGrouping, Case):
        assert db.scalar(select(func.count()).select_from(model)) == 0, model
    again = _seed(db, tmp_path)
    assert db.scalar(select(PaymentStandardSet.checksum)) == checksum
    assert sorted(db.execute(select(SettlementList.setl_id, SettlementList.state)).all()) == sorted(
        lists
    )
    assert again.states == seeded.states
