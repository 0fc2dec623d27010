"""Crash safety of the period confirmation (SQLite file / PostgreSQL).

3,000 approved or adjusted lists of one period are loaded in bulk.  A separate Python
process confirms the period in chunks of 50 with a pause inside each chunk's
transaction; it is SIGKILLed once some chunks have committed.  The confirmation is
then run again in this process: it must resume the same batch and leave every list
confirmed exactly once, with one confirmation row each and the right amounts.
"""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

from sqlalchemy import Engine, func, insert, select, text
from sqlalchemy.orm import Session

from tests import builders as b
from yibao.audit.models import AuditLog
from yibao.audit.service import Actor
from yibao.cases.models import Case
from yibao.db.scoping import SYSTEM_SCOPE, set_scope
from yibao.db.session import session_factory
from yibao.engines.caseframe import FEE_COLUMNS
from yibao.settlement.models import (
    CasePricing,
    SettlementAdjustment,
    SettlementConfirmation,
    SettlementConfirmBatch,
    SettlementList,
    SettlementListEvent,
    SettlementPeriod,
)
from yibao.settlement.tasks import DELAY_ENV, confirm_period

PERIOD = "2024-03"
N_LISTS = 3_000
N_PENDING = 7  # under review in the period: reported, never confirmed
N_OTHER_MONTH = 20  # approved, but discharged in April
CHUNK = 50
CENT = Decimal("0.01")

CHILD = """
import sys
import yibao.db.models  # noqa: F401  (all mappers)
from yibao.audit.service import Actor
from yibao.db.session import make_engine, session_factory
from yibao.settlement.tasks import confirm_period

engine = make_engine(sys.argv[1])
confirm_period(
    session_factory(engine),
    region_code="990100",
    period_code=sys.argv[2],
    actor=Actor(None, "crash-child"),
    chunk_size=int(sys.argv[3]),
)
print("finished")
"""


def _load(db: Session) -> dict[int, Decimal]:
    """Hospitals, cases, priced lists (10 % adjusted); returns list id → payable."""
    hospitals = [b.hospital(db, code) for code in ("990102", "990103", "990105")]
    rng = random.Random(7)
    cases, lists, pricings, adjustments = [], [], [], []
    payable: dict[int, Decimal] = {}
    now = datetime.now(UTC)
    total = N_LISTS + N_PENDING + N_OTHER_MONTH
    for i in range(1, total + 1):
        h = hospitals[i % 3]
        month = 4 if i > N_LISTS + N_PENDING else 3
        day = date(2024, month, 1 + i % 28)
        cost = Decimal(rng.randint(300_000, 5_000_000)) / 100
        payment = Decimal(rng.randint(200_000, 4_000_000)) / 100
        fund = (payment * Decimal("0.7")).quantize(CENT)
        discharge = datetime(day.year, day.month, day.day, 10, tzinfo=UTC)
        fees = dict.fromkeys(FEE_COLUMNS, Decimal("0.00"))
        fees["fee_western_medicine"] = cost
        cases.append(
            {
                "id": i,
                "setl_id": f"CR{i:010d}",
                "mdtrt_id": f"MD{i:010d}",
                "hospital_id": h.id,
                "hospital_code": h.code,
                "region_code": h.region_code,
                "psn_no": f"P{i:08d}",
                "psn_name": f"测试{i}",
                "sex": "1",
                "age_years": 50,
                "insutype": "310",
                "insured_region_code": h.region_code,
                "admission_time": discharge - timedelta(days=5),
                "discharge_time": discharge,
                "discharge_date": day,
                "los_days": 5,
                "discharge_way": "1",
                "total_cost": cost,
                "fund_payment": (cost * Decimal("0.7")).quantize(CENT),
                "account_payment": Decimal("0.00"),
                "cash_payment": cost - (cost * Decimal("0.7")).quantize(CENT),
                "self_pay_full": Decimal("0.00"),
                "self_pay_first": Decimal("0.00"),
                "source": "test",
                "created_at": now,
                **fees,
            }
        )
        if month == 4:
            state = "approved"
        elif i > N_LISTS:
            state = "under_review"
        elif i % 10 == 0:
            state = "adjusted"
        else:
            state = "approved"
        lists.append(
            {
                "id": i,
                "setl_id": f"CR{i:010d}",
                "hospital_id": h.id,
                "hospital_code": h.code,
                "region_code": h.region_code,
                "version": 1,
                "state": state,
                "case_id": i,
                "blocking": 0,
                "warnings": 0,
                "source": "test",
                "discharge_month": None,
                "received_at": now,
            }
        )
        pricings.append(
            {
                "case_id": i,
                "hospital_id": h.id,
                "region_code": h.region_code,
                "plan_id": "chs-drg-1.1",
                "drg": "FR23",
                "payment_class": "normal",
                "payment_standard": payment,
                "drg_payment": payment,
                "fund_amount": fund,
                "explanation": "测试",
                "terms": {},
                "priced_at": now,
            }
        )
        amount = payment
        if state == "adjusted":
            amount = (payment * Decimal("0.8")).quantize(CENT)
            adjustments.append(
                {
                    "list_id": i,
                    "case_id": i,
                    "hospital_id": h.id,
                    "region_code": h.region_code,
                    "version": 1,
                    "original_payment": payment,
                    "adjusted_payment": amount,
                    "original_fund": fund,
                    "adjusted_fund": (fund * Decimal("0.8")).quantize(CENT),
                    "reason": "测试扣减",
                    "actor_name": "test",
                    "created_at": now,
                }
            )
        if i <= N_LISTS:
            payable[i] = amount
    for model, rows in (
        (Case, cases),
        (SettlementList, lists),
        (CasePricing, pricings),
        (SettlementAdjustment, adjustments),
    ):
        db.execute(insert(model.__table__), rows)
    if db.get_bind().dialect.name == "postgresql":
        for table in ("cases", "settlement_lists"):
            db.execute(text(f"SELECT setval('{table}_id_seq', (SELECT max(id) FROM {table}))"))
    db.commit()
    return payable


def _count(engine: Engine, sql: str) -> int:
    with engine.connect() as conn:
        return int(conn.execute(text(sql)).scalar() or 0)


def test_confirm_resumes_after_sigkill(db, engine, database_url):  # type: ignore[no-untyped-def]
    set_scope(db, SYSTEM_SCOPE)
    payable = _load(db)
    env = {**os.environ, DELAY_ENV: "0.05"}
    child = subprocess.Popen(
        [sys.executable, "-c", CHILD, database_url, PERIOD, str(CHUNK)],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    try:
        deadline = time.monotonic() + 60
        while _count(engine, "SELECT count(*) FROM settlement_confirmations") < 5 * CHUNK:
            assert child.poll() is None, child.communicate()
            assert time.monotonic() < deadline, "the child confirmed nothing in 60 s"
            time.sleep(0.02)
        child.send_signal(signal.SIGKILL)
    finally:
        if child.poll() is None:
            child.kill()
        child.wait(10)
    assert child.returncode == -signal.SIGKILL
    # killed mid-way: some chunks committed, the chunk in flight is gone entirely
    confirmed = _count(engine, "SELECT count(*) FROM settlement_confirmations")
    flipped = _count(engine, "SELECT count(*) FROM settlement_lists WHERE state = 'confirmed'")
    assert 5 * CHUNK <= confirmed < N_LISTS
    assert confirmed == flipped and confirmed % CHUNK == 0
    batch_id = _count(engine, "SELECT id FROM settlement_confirm_batches")
    assert _count(engine, "SELECT confirmed FROM settlement_confirm_batches") == confirmed

    report = confirm_period(
        session_factory(engine),
        region_code="990100",
        period_code=PERIOD,
        actor=Actor(None, "resume"),
        chunk_size=500,
    )
    assert report["batch_id"] == batch_id and report["runs"] == 2
    assert report["status"] == "done" and report["confirmed"] == N_LISTS

    db.expire_all()
    rows = db.execute(select(SettlementConfirmation.list_id, SettlementConfirmation.amount_paid))
    paid = dict(rows.all())
    assert set(paid) == set(payable)  # no list lost, none extra (no April, no pending)
    assert db.scalar(select(func.count()).select_from(SettlementConfirmation)) == N_LISTS
    assert sum(paid.values()) == sum(payable.values())
    assert all(paid[i] == payable[i] for i in payable)
    states = dict(
        db.execute(select(SettlementList.state, func.count()).group_by(SettlementList.state)).all()
    )
    assert states == {
        "confirmed": N_LISTS,
        "under_review": N_PENDING,
        "approved": N_OTHER_MONTH,
    }
    events = db.scalar(
        select(func.count())
        .select_from(SettlementListEvent)
        .where(SettlementListEvent.action == "confirm")
    )
    assert events == N_LISTS
    batch = db.get(SettlementConfirmBatch, batch_id)
    assert batch.status == "done" and batch.running_key is None
    assert batch.amount_total == sum(payable.values())
    assert batch.pending["total"] == N_PENDING
    assert batch.pending["by_state"] == {"under_review": N_PENDING}
    chunks = db.scalar(
        select(func.count()).select_from(AuditLog).where(AuditLog.action == "settlement.confirm")
    )
    assert chunks >= N_LISTS // 500  # one audit row per committed chunk
    period = db.scalar(select(SettlementPeriod).where(SettlementPeriod.code == PERIOD))
    assert period.status == "open"  # lists under review keep the period open

    # the pending lists get approved; a second confirmation closes the period
    db.execute(
        SettlementList.__table__.update()
        .where(SettlementList.state == "under_review")
        .values(state="approved")
    )
    db.commit()
    again = confirm_period(
        session_factory(engine),
        region_code="990100",
        period_code=PERIOD,
        actor=Actor(None, "second"),
    )
    assert again["batch_id"] != batch_id and again["confirmed"] == N_PENDING
    assert again["period_status"] == "closed" and again["pending"]["total"] == 0
    db.expire_all()
    assert db.scalar(select(func.count()).select_from(SettlementConfirmation)) == (
        N_LISTS + N_PENDING
    )
