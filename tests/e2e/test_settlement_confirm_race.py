"""Two reviewers press 确认结算 for the same period at the same moment, over HTTP
(SQLite file / PostgreSQL): one request starts the confirmation (202), the other gets
a 409 in Chinese naming the period — never a 500 from the unique-key violation.

Both requests are made to pass the "no running batch yet" check before either inserts
(a barrier just before the period row is created), which is the race of two first
requests; after that the database decides who wins.
"""

from __future__ import annotations

import re
import threading
from concurrent.futures import ThreadPoolExecutor

from fastapi.testclient import TestClient
from sqlalchemy import func, select

from tests import builders as b
from tests.builders.settlement import login
from tests.e2e.test_grouping_api import wait_job
from yibao.accounts.roles import Role
from yibao.settlement import confirm
from yibao.settlement.models import SettlementConfirmBatch, SettlementPeriod

PERIOD = "2025-03"


def test_simultaneous_first_confirm_requests(client, db, monkeypatch):  # type: ignore[no-untyped-def]
    b.region(db, "990100")
    b.user(db, Role.BUREAU_REVIEWER, region_code="990100", username="reviewer1")
    b.user(db, Role.BUREAU_REVIEWER, region_code="990100", username="reviewer2")
    db.commit()
    other = TestClient(client.app)
    login(client, "reviewer1")
    login(other, "reviewer2")

    barrier = threading.Barrier(2, timeout=20)
    period_row = confirm._period_row

    def together(*args, **kwargs):  # type: ignore[no-untyped-def]
        barrier.wait()  # both have found no running batch and no period row
        return period_row(*args, **kwargs)

    monkeypatch.setattr(confirm, "_period_row", together)
    url = f"/api/settlement/periods/{PERIOD}/confirm"
    with ThreadPoolExecutor(2) as pool:
        answers = list(pool.map(lambda c: c.post(url, json={}), [client, other]))
    statuses = sorted(r.status_code for r in answers)
    assert statuses == [202, 409], [r.text for r in answers]
    refused = next(r for r in answers if r.status_code == 409).json()["error"]
    assert PERIOD in refused["message"] and "正在确认中" in refused["message"], refused
    assert re.search(r"[\u4e00-\u9fff]", refused["message"])
    started = next(r for r in answers if r.status_code == 202).json()
    assert wait_job(client, started["job_id"])["status"] == "succeeded"

    db.expire_all()
    assert db.scalar(select(func.count()).select_from(SettlementPeriod)) == 1
    batches = db.scalars(select(SettlementConfirmBatch)).all()
    assert [x.id for x in batches] == [started["batch_id"]]
    # once the first is done, the period can be confirmed again (a new batch)
    monkeypatch.setattr(confirm, "_period_row", period_row)
    again = other.post(url, json={})
    assert again.status_code == 202, again.text
    assert wait_job(other, again.json()["job_id"])["status"] == "succeeded"
