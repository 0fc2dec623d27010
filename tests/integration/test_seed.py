"""The demo seed: synthetic region, users for every role, cases that group realistically."""

from __future__ import annotations

import polars as pl
import pytest
from sqlalchemy import func, select

from tests.builders.demo import demo_region
from yibao.accounts.login import do_login
from yibao.accounts.models import ApiToken, User
from yibao.accounts.roles import Role
from yibao.cases.models import Case, CaseDiagnosis, CaseProcedure
from yibao.cases.service import export_parquet
from yibao.db.scoping import SYSTEM_SCOPE, set_scope
from yibao.demo.seed import DEMO_PASSWORD, reset_demo, seed_demo
from yibao.engines.caseframe import FEE_COLUMNS, to_grouper_input
from yibao.engines.grouper import PlanRegistry, group_batch
from yibao.kit.errors import Conflict
from yibao.regions.models import Hospital, Region
from yibao.settlement.models import SettlementPeriod

YEARS = [2023, 2024, 2025]


@pytest.fixture()
def seeded(db):  # type: ignore[no-untyped-def]
    """The seed's rows and result; seeded by the first test of the process that asks,
    an exact copy for the others (the seed is deterministic, see the last test)."""
    return demo_region(db, seed=7, years=YEARS, cases_per_year=400)


def test_seed_creates_region_users_periods_and_cases(db, seeded):  # type: ignore[no-untyped-def]
    assert seeded.hospitals == 30 and seeded.cases == 1200
    assert db.scalar(select(func.count()).select_from(Hospital)) == 30
    levels = dict(db.execute(select(Hospital.level, func.count()).group_by(Hospital.level)).all())
    assert set(levels) == {"1", "2", "3"}
    assert all(len(c) == 12 for c in db.scalars(select(Hospital.code)))
    districts = db.scalars(select(Region.code).where(Region.level == "district")).all()
    assert len(districts) >= 3
    roles = set(db.scalars(select(User.role)))
    assert roles == {r.value for r in Role}
    assert db.scalar(select(func.count()).select_from(ApiToken)) == 1
    assert seeded.his_token and seeded.his_token.startswith("ybt_")
    assert db.scalar(select(func.count()).select_from(SettlementPeriod)) == 36
    years = db.execute(select(func.min(Case.discharge_date), func.max(Case.discharge_date))).one()
    assert years[0].year == 2023 and years[1].year == 2025
    assert db.scalar(select(func.count()).select_from(CaseDiagnosis)) == seeded.diagnoses
    assert db.scalar(select(func.count()).select_from(CaseProcedure)) == seeded.procedures
    # exactly one principal diagnosis per case
    per_case = db.execute(
        select(func.count()).select_from(CaseDiagnosis).where(CaseDiagnosis.is_principal.is_(True))
    ).scalar()
    assert per_case == seeded.cases
    # demo logins work
    user = do_login(db, "hosp01", DEMO_PASSWORD)
    assert user.hospital is not None and user.hospital.level == "3"


def test_seeded_money_adds_up(db, seeded, tmp_path):  # type: ignore[no-untyped-def]
    export_parquet(db, tmp_path)
    cases = pl.read_parquet(tmp_path / "cases.parquet")
    fees = cases.select(pl.sum_horizontal(FEE_COLUMNS).alias("s"), "total_cost")
    assert (fees["s"] == fees["total_cost"]).all()
    paid = cases.select(
        (pl.col("fund_payment") + pl.col("account_payment") + pl.col("cash_payment")).alias("p"),
        "total_cost",
    )
    assert (paid["p"] == paid["total_cost"]).all()
    assert (cases["los_days"] >= 1).all()
    assert (cases["discharge_time"] >= cases["admission_time"]).all()


def test_seeded_cases_group_realistically(db, seeded, tmp_path):  # type: ignore[no-untyped-def]
    export_parquet(db, tmp_path)
    frame = to_grouper_input(
        pl.read_parquet(tmp_path / "cases.parquet"),
        pl.read_parquet(tmp_path / "diagnoses.parquet"),
        pl.read_parquet(tmp_path / "procedures.parquet"),
    )
    grouped = group_batch(PlanRegistry().get("chs-drg-1.1"), frame)
    ok = grouped.filter(pl.col("status") == "ok").height / grouped.height
    assert ok >= 0.99
    assert grouped["drg"].n_unique() >= 200  # a broad case mix
    assert grouped["mdc"].n_unique() >= 20


def test_seed_twice_conflicts_and_reset_removes(db, seeded):  # type: ignore[no-untyped-def]
    with pytest.raises(Conflict):
        seed_demo(db, seed=7, years=YEARS, cases_per_year=10)
    db.rollback()
    set_scope(db, SYSTEM_SCOPE)
    assert reset_demo(db) == 1200
    db.commit()
    assert db.scalar(select(func.count()).select_from(Case)) == 0
    assert db.scalar(select(func.count()).select_from(User)) == 0
    result = seed_demo(db, seed=7, years=YEARS, cases_per_year=50)
    db.commit()
    assert result.cases == 150


def test_seed_is_deterministic(db, tmp_path):  # type: ignore[no-untyped-def]
    set_scope(db, SYSTEM_SCOPE)
    seed_demo(db, seed=11, years=[2025], cases_per_year=200)
    db.commit()
    export_parquet(db, tmp_path / "a")
    reset_demo(db)
    db.commit()
    seed_demo(db, seed=11, years=[2025], cases_per_year=200)
    db.commit()
    export_parquet(db, tmp_path / "b")
    a = pl.read_parquet(tmp_path / "a" / "cases.parquet")
    b = pl.read_parquet(tmp_path / "b" / "cases.parquet")
    assert a.equals(b)
