"""Test-data builders with keyword overrides (no generator, small and explicit)."""

from __future__ import annotations

import itertools
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy.orm import Session

from yibao.accounts.models import User
from yibao.accounts.service import do_create_user
from yibao.audit.service import Actor
from yibao.cases.models import Case, CaseDiagnosis, CaseProcedure
from yibao.engines.caseframe import FEE_COLUMNS
from yibao.regions.models import Hospital, Region

PASSWORD = "Passw0rd!x"
TEST_ACTOR = Actor(None, "test")
_seq = itertools.count(1)


def region(session: Session, code: str = "990100", **kw: Any) -> Region:
    existing = session.get(Region, code)
    if existing:
        return existing
    level = "city" if code.endswith("00") else "district"
    parent = None if level == "city" else code[:4] + "00"
    if parent and session.get(Region, parent) is None:
        region(session, parent)
    r = Region(
        code=code,
        name=kw.pop("name", f"测试区划{code}"),
        level=kw.pop("level", level),
        parent_code=parent,
        **kw,
    )
    session.add(r)
    session.flush()
    return r


def hospital(session: Session, region_code: str = "990102", **kw: Any) -> Hospital:
    region(session, region_code)
    n = next(_seq)
    h = Hospital(
        code=kw.pop("code", f"H{region_code}{n:05d}"),
        name=kw.pop("name", f"测试医院{n}"),
        level=kw.pop("level", "3"),
        region_code=region_code,
        **kw,
    )
    session.add(h)
    session.flush()
    return h


def user(
    session: Session,
    role: str,
    *,
    hospital: Hospital | None = None,
    region_code: str | None = None,
    username: str | None = None,
) -> User:
    return do_create_user(
        session,
        username=username or f"u{next(_seq)}",
        password=PASSWORD,
        role=role,
        region_code=None if hospital else (region_code or "990100"),
        hospital_code=hospital.code if hospital else None,
        actor=TEST_ACTOR,
    )


def case(session: Session, hospital: Hospital, **kw: Any) -> Case:
    n = next(_seq)
    total = Decimal(kw.pop("total_cost", "10000.00"))
    fees = {c: Decimal("0.00") for c in FEE_COLUMNS}
    fees["fee_western_medicine"] = total
    discharge = kw.pop("discharge_date", date(2025, 3, 10))
    los = kw.pop("los_days", 5)
    dt = datetime(discharge.year, discharge.month, discharge.day, 10, tzinfo=UTC)
    c = Case(
        setl_id=kw.pop("setl_id", f"S{n:012d}"),
        mdtrt_id=f"M{n:012d}",
        hospital_id=hospital.id,
        hospital_code=hospital.code,
        region_code=hospital.region_code,
        psn_no=f"P{n:010d}",
        psn_name=f"测试{n}",
        sex=kw.pop("sex", "1"),
        age_years=kw.pop("age_years", 50),
        insutype=kw.pop("insutype", "310"),
        insured_region_code=hospital.region_code,
        admission_time=dt - timedelta(days=los),
        discharge_time=dt,
        discharge_date=discharge,
        los_days=los,
        discharge_way="1",
        total_cost=total,
        fund_payment=total * Decimal("0.7"),
        account_payment=Decimal("0.00"),
        cash_payment=total * Decimal("0.3"),
        self_pay_full=Decimal("0.00"),
        self_pay_first=Decimal("0.00"),
        **fees,
        **kw,
    )
    c.diagnoses = [
        CaseDiagnosis(seq=0, code="I21.000", is_principal=True),
        CaseDiagnosis(seq=1, code="E11.900", is_principal=False),
    ]
    c.procedures = [
        CaseProcedure(seq=0, code="36.0700", is_principal=True, procedure_date=discharge)
    ]
    session.add(c)
    session.flush()
    return c


def benefit_policies(session: Session, policies: Any = None) -> int:
    """Publish benefit policies through the bureau's path (default: the demo policies
    of 990100 and 990200 shipped with the engine); what intake prices lists with."""
    from yibao.benefits.service import do_seed_policies
    from yibao.engines.settlement import demo_policies

    return do_seed_policies(session, policies or demo_policies(), actor=TEST_ACTOR)
