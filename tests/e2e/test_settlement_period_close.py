"""Periods close (issue 10.5): a month confirmed except for held or returned lists is
closed by a reviewer — its open lists carried to the next period (and settled there)
or closed out with a reason — and every page shows the true state."""

from __future__ import annotations

import re

from sqlalchemy import select

from tests.e2e.test_grouping_api import wait_job
from tests.e2e.test_settlement_review import _as, _error, world  # noqa: F401  (fixture)
from yibao.db.scoping import SYSTEM_SCOPE, set_scope
from yibao.settlement.confirm import next_period
from yibao.settlement.models import (
    SettlementConfirmation,
    SettlementList,
    SettlementListEvent,
)

HTML = {"accept": "text/html"}


def _confirm(client, period: str) -> None:  # type: ignore[no-untyped-def]
    r = client.post(f"/api/settlement/periods/{period}/confirm", json={})
    assert r.status_code == 202, r.text
    assert wait_job(client, r.json()["job_id"])["status"] == "succeeded"


def _list(db, list_id: int) -> SettlementList:  # type: ignore[no-untyped-def]
    db.expire_all()
    set_scope(db, SYSTEM_SCOPE)
    row = db.get(SettlementList, list_id)
    assert row is not None
    return row


def test_carry_open_lists_to_the_next_period(world, db):  # type: ignore[no-untyped-def]  # noqa: F811
    client, a, month = world["client"], world["a"], world["month_a"]
    _as(client, "reviewer")
    r = client.post(f"/api/settlement/review/{a[1]}/return", json={"reason": "资料不全"})
    assert r.status_code == 200
    # nothing approved yet: the period cannot be closed over confirmable lists
    r = client.post("/api/settlement/review/bulk-approve", json={"ids": [a[0]]})
    r = client.post(
        f"/api/settlement/periods/{month}/close", json={"how": "carry", "reason": "月结"}
    )
    assert r.status_code == 409 and "先确认结算" in _error(r)
    ids = [x for x in a if x != a[1]] + [world["other"]]
    assert client.post("/api/settlement/review/bulk-approve", json={"ids": ids}).status_code == 200
    _confirm(client, month)

    # confirmed with one list left open: the true state, not 未结算
    detail = client.get(f"/api/settlement/periods/{month}").json()
    assert detail["status"] == "open" and detail["status_label"].startswith("已确认，1 份待处理")
    listed = {p["period"]: p for p in client.get("/api/settlement/periods").json()["items"]}
    assert listed[month]["status_label"] == detail["status_label"]
    page = client.get("/settlement/periods", params={"period": month}, headers=HTML).text
    assert 'data-testid="close-form"' in page and "已确认，1 份待处理" in page
    # a hospital's home reads the region's confirmation too (it read 未结算), without
    # the region's open lists
    _as(client, "hosp01")
    home = client.get("/", headers=HTML).text
    states = re.findall(
        r'<td>([0-9-]{7})</td><td>[^<]*</td><td data-testid="home-period-status">([^<]*)<', home
    )
    assert (month, "已确认") in states, states
    _as(client, "reviewer")

    for body, words in (
        ({"how": "carry"}, "原因"),
        ({"how": "later", "reason": "x"}, "carry"),
    ):
        r = client.post(f"/api/settlement/periods/{month}/close", json=body)
        assert r.status_code == 422 and words in _error(r), r.text
    # a list in an appeal track is decided in its own period, whichever way (ADR 0012)
    row = _list(db, a[1])
    row.state = "appealed"
    db.commit()
    for how in ("carry", "close_out"):
        r = client.post(f"/api/settlement/periods/{month}/close", json={"how": how, "reason": "x"})
        assert r.status_code == 409 and "申诉" in _error(r), (how, r.text)
    row = _list(db, a[1])
    row.state = "returned"
    db.commit()
    r = client.post(
        f"/api/settlement/periods/{month}/close",
        json={"how": "carry", "reason": "退回清单待医院更正，结转下期结算"},
    )
    assert r.status_code == 200, r.text
    target = next_period(month)
    assert r.json()["carried"] == 1 and r.json()["to_period"] == target
    assert _list(db, a[1]).carried_to == target and _list(db, a[1]).state == "returned"
    detail = client.get(f"/api/settlement/periods/{month}").json()
    assert detail["status"] == "closed" and detail["status_label"] == "已结算（结转 1 份）"
    assert detail["closed"]["reason"] == "退回清单待医院更正，结转下期结算"
    r = client.post(f"/api/settlement/periods/{month}/close", json={"how": "carry", "reason": "x"})
    assert r.status_code == 409  # closed once
    set_scope(db, SYSTEM_SCOPE)
    event = db.scalar(
        select(SettlementListEvent).where(
            SettlementListEvent.list_id == a[1], SettlementListEvent.action == "carry_over"
        )
    )
    assert event is not None and event.details["to_period"] == target

    # the hospital corrects it; it is decided and settled in the next period
    _as(client, "hosp01")
    message = world["messages"][1]
    r = client.post("/api/settlement/lists", json=message)
    assert r.status_code == 200 and r.json()["lists"][0]["state"] == "priced", r.text
    _as(client, "reviewer")
    assert client.post(f"/api/settlement/review/{a[1]}/approve", json={}).status_code == 200
    nxt = client.get(f"/api/settlement/periods/{target}").json()
    assert nxt["to_confirm"] >= 1
    others = client.get("/api/settlement/review", params={"period": target, "size": 100}).json()[
        "items"
    ]
    if others:
        client.post("/api/settlement/review/bulk-approve", json={"ids": [i["id"] for i in others]})
    _confirm(client, target)
    set_scope(db, SYSTEM_SCOPE)
    confirmation = db.scalar(
        select(SettlementConfirmation).where(SettlementConfirmation.list_id == a[1])
    )
    assert confirmation is not None and confirmation.period_code == target

    # the home page shows the periods' true states
    home = client.get("/", headers=HTML).text
    states = re.findall(r'data-testid="home-period-status">([^<]*)<', home)
    assert "已结算（结转 1 份）" in states


def test_close_out_open_lists(world, db):  # type: ignore[no-untyped-def]  # noqa: F811
    client, b, month = world["client"], world["b"], world["month_b"]
    _as(client, "reviewer")
    assert (
        client.post(f"/api/settlement/review/{b[0]}/return", json={"reason": "重复"}).status_code
        == 200
    )
    assert client.post(f"/api/settlement/review/{b[1]}/approve", json={}).status_code == 200
    _confirm(client, month)
    r = client.post(
        f"/settlement/periods/{month}/close",
        data={"how": "close_out", "reason": ""},
        headers=HTML,
    )
    assert r.status_code == 422 and "原因" in r.text
    r = client.post(
        f"/settlement/periods/{month}/close",
        data={"how": "close_out", "reason": "医院确认为重复结算，不予结算"},
        headers=HTML,
        follow_redirects=False,
    )
    assert r.status_code == 303
    page = client.get(r.headers["location"], headers=HTML).text
    assert "已关闭（不予结算）" in page or "关闭（不予结算）" in page
    assert 'data-testid="closed-card"' in page
    row = _list(db, b[0])
    assert row.state == "closed_out" and row.carried_to is None
    detail = client.get(f"/api/settlement/periods/{month}").json()
    assert detail["status_label"] == "已结算（关闭 1 份）"
    history = client.get(f"/api/settlement/lists/{b[0]}/history").json()
    assert history["state_label"] == "已关闭（不予结算）"
    assert history["reason"]["text"] == "医院确认为重复结算，不予结算"

    # the hospital cannot send it again
    _as(client, "hosp01")
    r = client.post("/api/settlement/lists", json=world["messages"][8])
    outcome = r.json()["lists"][0]
    assert outcome["state"] == "refused"
    assert any("已随结算期间关闭" in f["message"] for f in outcome["findings"])
