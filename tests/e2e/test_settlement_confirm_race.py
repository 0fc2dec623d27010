"""Two reviewers press 确认结算 for the same period at the same moment, over HTTP
(SQLite file / PostgreSQL): one request starts the confirmation (202), the other gets
a 409 in Chinese naming the period — never a 500 from the unique-key violation.

On PostgreSQL both requests are made to pass the "no running batch yet" check before
either inserts (a barrier just before the period row is created), which is the race of
two first requests; after that the database decides who wins.  On SQLite writing
transactions are serialised (BEGIN IMMEDIATE), so the second request only starts once
the first has committed: the barrier cannot be met and is skipped.
"""

from __future__ import annotations

import re
import threading
from concurrent.futures import ThreadPoolExecutor

from fastapi.testclient import TestClient
from sqlalchemy import func, select

from tests import builders as b
from tests.builders.settlement import approved_list, login
from tests.e2e.test_grouping_api import wait_job
from yibao.accounts.roles import Role
from yibao.settlement import confirm
from yibao.settlement.models import SettlementConfirmBatch, SettlementPeriod

PERIOD = "2025-03"


def test_simultaneous_first_confirm_requests(client, db, monkeypatch):  # type: ignore[no-untyped-def]
    b.region(db, "990100")
    b.user(db, Role.BUREAU_REVIEWER, region_code="990100", username="reviewer1")
    b.user(db, Role.BUREAU_REVIEWER, region_code="990100", username="reviewer2")
    approved_list(db, b.hospital(db, "990102"))  # something to confirm in the period
    db.commit()
    other = TestClient(client.app)
    login(client, "reviewer1")
    login(other, "reviewer2")

    barrier = threading.Barrier(2, timeout=20)
    period_row = confirm._period_row
    serialised = db.get_bind().dialect.name == "sqlite"

    def together(*args, **kwargs):  # type: ignore[no-untyped-def]
        if not serialised:
            barrier.wait()  # both have found no running batch and no period row
        return period_row(*args, **kwargs)

    monkeypatch.setattr(confirm.service, "_period_row", together)
    url = f"/api/settlement/periods/{PERIOD}/confirm"
    with ThreadPoolExecutor(2) as pool:
        answers = list(pool.map(lambda c: c.post(url, json={}), [client, other]))
    statuses = sorted(r.status_code for r in answers)
    # serialised (SQLite), the second may also come after the first's job has finished:
    # then nothing is left to confirm (422); never a second batch, never a 500
    allowed = ([202, 409], [202, 422]) if serialised else ([202, 409],)
    assert statuses in allowed, [r.text for r in answers]
    refused = next(r for r in answers if r.status_code != 202).json()["error"]
    expected = "正在确认中" if 409 in statuses else "没有待确认的清单"
    assert PERIOD in refused["message"] and expected in refused["message"], refused
    assert re.search(r"[\u4e00-\u9fff]", refused["message"])
    started = next(r for r in answers if r.status_code == 202).json()
    assert wait_job(client, started["job_id"])["status"] == "succeeded"

    db.expire_all()
    assert db.scalar(select(func.count()).select_from(SettlementPeriod)) == 1
    batches = db.scalars(select(SettlementConfirmBatch)).all()
    assert [x.id for x in batches] == [started["batch_id"]]
    # once the first is done, a list approved later can be confirmed (a new batch)
    monkeypatch.setattr(confirm.service, "_period_row", period_row)
    nothing = other.post(url, json={})
    assert nothing.status_code == 422 and "没有待确认的清单" in nothing.text, nothing.text
    approved_list(db, b.hospital(db, "990102"))
    db.commit()
    again = other.post(url, json={})
    assert again.status_code == 202, again.text
    assert wait_job(other, again.json()["job_id"])["status"] == "succeeded"
