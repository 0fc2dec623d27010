"""Settlement review and period confirmation over HTTP (SQLite / PostgreSQL): the
reviewer's queue and filters, approve / return / adjust / bulk approve through the
state machine, the hospital's view of the history, permissions and scoping, and the
confirmation job with its records."""

from __future__ import annotations

import re
from collections import defaultdict
from datetime import timedelta
from decimal import Decimal
from typing import Any

import pytest
from sqlalchemy import func, select

from tests.builders.settlement import (
    PLAN_ID,
    appeal_window_over,
    demo_world,
    login,
    plan_registry,
)
from tests.builders.snapshot import cached
from tests.e2e.test_grouping_api import wait_job
from yibao.accounts.models import User
from yibao.audit.models import AuditLog
from yibao.db.scoping import SYSTEM_SCOPE, set_scope
from yibao.demo.seed import DEMO_PASSWORD
from yibao.engines.qc.bench import synthetic_lists
from yibao.jobs.models import Job
from yibao.kit.timeutil import local, utcnow
from yibao.settlement.models import (
    SettlementConfirmation,
    SettlementConfirmBatch,
    SettlementList,
    SettlementPeriod,
)
from yibao.settlement.review import parse_period

SEED = 9
HAN = re.compile(r"[\u4e00-\u9fff]")


def _as(client, username: str) -> None:  # type: ignore[no-untyped-def]
    """Log in as the demo user ``username`` and send its CSRF token with every request."""
    login(client, username, DEMO_PASSWORD)


@pytest.fixture()
def world(client, db):  # type: ignore[no-untyped-def]
    """Demo region, standards, and priced lists: hosp01 8 in month A and 2 in month B,
    hosp02 one in month A; the client logged in as hosp01.  Built through the API once
    per test process, then copied (:mod:`tests.builders.snapshot`)."""
    built = cached(db, f"settlement-review-world-{SEED}", lambda _s: _build_world(client, db))
    _as(client, "hosp01")
    return {"client": client, **built}


def _build_world(client, db) -> dict[str, Any]:  # type: ignore[no-untyped-def]
    codes = demo_world(db, seed=SEED)
    plan = plan_registry().get(PLAN_ID)
    by_month: dict[tuple[str, str], list[dict[str, Any]]] = defaultdict(list)
    for m in synthetic_lists(1200, plan, seed=SEED, year=2024):
        info = m["setlinfo"]
        by_month[(info["fixmedins_code"], info["dscg_time"][:7])].append(m)
    ours = sorted(
        (month for code, month in by_month if code == codes["hosp01"]),
        key=lambda month: -len(by_month[(codes["hosp01"], month)]),
    )
    month_a = next(
        m
        for m in ours
        if len(by_month[(codes["hosp01"], m)]) >= 8 and by_month[(codes["hosp02"], m)]
    )
    month_b = next(m for m in ours if m != month_a and len(by_month[(codes["hosp01"], m)]) >= 2)
    a_lists = by_month[(codes["hosp01"], month_a)][:8]
    b_lists = by_month[(codes["hosp01"], month_b)][:2]
    other = by_month[(codes["hosp02"], month_a)][0]

    _as(client, "hosp02")
    r = client.post("/api/settlement/lists", json=other)
    assert r.status_code == 200, r.text
    other_id = r.json()["lists"][0]["list_id"]
    _as(client, "hosp01")
    r = client.post("/api/settlement/lists", json={"lists": a_lists + b_lists})
    assert r.status_code == 200, r.text
    out = r.json()["lists"]
    assert all(o["state"] == "priced" for o in out), out
    ids = [o["list_id"] for o in out]
    # logged out before the copy is taken: every test then logs in the same way
    assert client.post("/logout", follow_redirects=False).status_code == 303
    del client.headers["x-csrf-token"]
    return {
        "codes": codes,
        "month_a": month_a,
        "month_b": month_b,
        "a": ids[:8],
        "b": ids[8:],
        "other": other_id,
        "messages": a_lists + b_lists,
    }


def _error(r) -> str:  # type: ignore[no-untyped-def]
    message = r.json()["error"]["message"]
    assert HAN.search(message), message
    return message


def test_review_and_confirm(world, db):  # type: ignore[no-untyped-def]
    client, codes = world["client"], world["codes"]
    a, b_ids, other = world["a"], world["b"], world["other"]
    month_a, month_b = world["month_a"], world["month_b"]

    # the hospital can neither review nor see another hospital's list
    assert client.get("/api/settlement/review").status_code == 403
    assert client.post(f"/api/settlement/review/{a[0]}/approve", json={}).status_code == 403
    assert client.get(f"/api/settlement/lists/{other}/history").status_code == 404
    assert client.post(f"/api/settlement/periods/{month_a}/confirm", json={}).status_code == 403

    _as(client, "reviewer")
    # --- queue and filters
    queue = client.get("/api/settlement/review", params={"size": 100}).json()
    assert queue["total"] == 11
    row = next(i for i in queue["items"] if i["id"] == a[0])
    assert row["hospital_code"] == codes["hosp01"] and row["hospital_name"]
    assert row["drg"] and row["payment_class"] and row["payment_standard"] == "10000.00"
    assert row["drg_payment"] and row["fund_amount"] and row["warnings"] >= 0
    mine = client.get("/api/settlement/review", params={"hospital": codes["hosp01"]}).json()
    assert mine["total"] == 10
    in_a = client.get("/api/settlement/review", params={"period": month_a}).json()
    assert {i["id"] for i in in_a["items"]} == {*a, other}
    by_drg = client.get("/api/settlement/review", params={"drg": row["drg"]}).json()
    assert a[0] in {i["id"] for i in by_drg["items"]}
    assert all(i["drg"] == row["drg"] for i in by_drg["items"])
    by_class = client.get(
        "/api/settlement/review", params={"payment_class": row["payment_class"]}
    ).json()
    assert all(i["payment_class"] == row["payment_class"] for i in by_class["items"])
    warned = client.get("/api/settlement/review", params={"has_warnings": True}).json()["total"]
    clean = client.get("/api/settlement/review", params={"has_warnings": False}).json()["total"]
    assert warned + clean == 11
    paged = client.get("/api/settlement/review", params={"size": 4, "page": 3}).json()
    assert len(paged["items"]) == 3 and paged["pages"] == 3
    bad = client.get("/api/settlement/review", params={"period": "2024-13"})
    assert bad.status_code == 422 and "YYYY-MM" in _error(bad)

    # --- single decisions
    r = client.post(f"/api/settlement/review/{a[0]}/approve", json={})
    assert r.status_code == 200 and r.json()["state"] == "approved", r.text
    r = client.post(f"/api/settlement/review/{a[1]}/start")
    assert r.json()["state"] == "under_review"
    assert client.post(f"/api/settlement/review/{a[1]}/approve").json()["state"] == "approved"
    missing = client.post(f"/api/settlement/review/{a[2]}/return", json={"reason": "  "})
    assert missing.status_code == 422 and "原因" in _error(missing)
    assert missing.json()["error"]["field"] == "reason"
    reason = "主要诊断与病案首页不一致，请核对后重新上传"
    r = client.post(f"/api/settlement/review/{a[2]}/return", json={"reason": reason})
    assert r.json()["state"] == "returned" and r.json()["reason"]["text"] == reason
    no_amount = client.post(f"/api/settlement/review/{a[3]}/adjust", json={"reason": "扣减"})
    assert no_amount.status_code == 422 and "调整后支付金额" in _error(no_amount)
    assert no_amount.json()["error"]["field"] == "drg_payment"
    negative = client.post(
        f"/api/settlement/review/{a[3]}/adjust", json={"reason": "扣减", "drg_payment": "-1"}
    )
    assert negative.status_code == 422
    no_reason = client.post(f"/api/settlement/review/{a[3]}/adjust", json={"drg_payment": "1"})
    assert no_reason.status_code == 422 and "原因" in _error(no_reason)
    r = client.post(
        f"/api/settlement/review/{a[3]}/adjust",
        json={"reason": "高套分组，按核定金额支付", "drg_payment": "8000.00"},
    )
    assert r.status_code == 200, r.text
    adjustment = r.json()["adjustment"]
    assert adjustment["adjusted_payment"] == "8000.00" and adjustment["original_payment"]
    # illegal transition: 409 naming the state and the action
    illegal = client.post(f"/api/settlement/review/{a[2]}/approve")
    assert illegal.status_code == 409
    message = _error(illegal)
    assert "已退回医院" in message and "审核通过" in message
    assert "returned" not in message and "approve" not in message  # no internal names

    # --- bulk approve: ids, one illegal and one unknown reported, the rest approved
    wanted = [*a[4:], *b_ids, a[2], 999_999]
    r = client.post("/api/settlement/review/bulk-approve", json={"ids": wanted})
    assert r.status_code == 200, r.text
    bulk = r.json()
    assert (bulk["requested"], bulk["approved"], bulk["refused"]) == (8, 6, 2)
    results = {x["id"]: x for x in bulk["results"]}
    assert not results[a[2]]["ok"] and "已退回医院" in results[a[2]]["message"]
    assert not results[999_999]["ok"] and "不存在" in results[999_999]["message"]
    assert all(results[i]["state"] == "approved" for i in [*a[4:], *b_ids])
    by_filter = client.post(
        "/api/settlement/review/bulk-approve", json={"filter": {"hospital": codes["hosp02"]}}
    ).json()
    assert by_filter["approved"] == 1 and by_filter["results"][0]["id"] == other
    assert client.get("/api/settlement/review").json()["total"] == 0  # queue empty

    # --- the hospital reads the reasons
    _as(client, "hosp01")
    history = client.get(f"/api/settlement/lists/{a[2]}/history").json()
    assert history["state"] == "returned" and history["reason"]["text"] == reason
    actions = [e["action"] for e in history["events"]]
    assert actions == ["receive", "group", "price", "submit_review", "return"]
    adjusted = client.get(f"/api/settlement/lists/{a[3]}/history").json()
    assert adjusted["reason"]["text"] == "高套分组，按核定金额支付"
    assert adjusted["adjustment"]["adjusted_payment"] == "8000.00"
    assert client.get(f"/api/settlement/lists/{other}/history").status_code == 404

    # --- confirm month A as a job: approved + adjusted confirmed, the returned one reported
    _as(client, "reviewer")
    payments = {
        i["id"]: Decimal(i["adjusted_payment"] or i["drg_payment"])
        for i in client.get(
            "/api/settlement/review", params={"state": "approved,adjusted", "size": 100}
        ).json()["items"]
    }
    assert payments[a[3]] == Decimal("8000.00") and len(payments) == 10
    # the adjusted list waits for the hospital's 15-day appeal window (ADR 0008)
    before = client.get(f"/api/settlement/periods/{month_a}").json()
    assert before["status"] == "open" and before["to_confirm"] == 7 and before["batches"] == []
    r = client.post(f"/api/settlement/periods/{month_a}/confirm", json={"chunk_size": 3})
    assert r.status_code == 202, r.text
    job = wait_job(client, r.json()["job_id"])
    assert job["status"] == "succeeded", job
    summary = job["summary"]
    assert summary["status"] == "done" and summary["confirmed"] == 7
    assert summary["pending"]["by_state"] == {"adjusted": 1, "returned": 1}
    held = {x["id"]: x for x in summary["pending"]["lists"]}
    deadline = (local(utcnow()).date() + timedelta(days=15)).isoformat()
    assert held[a[3]]["appeal_until"] == deadline and deadline in held[a[3]]["state_label"]
    assert "appeal_until" not in held[a[2]]
    assert summary["period_status"] == "open"
    with appeal_window_over():  # the window is over: the adjustment is confirmed
        r = client.post(f"/api/settlement/periods/{month_a}/confirm", json={})
        summary = wait_job(client, r.json()["job_id"])["summary"]
    assert summary["confirmed"] == 1 and summary["pending"]["by_state"] == {"returned": 1}
    assert summary["pending"]["lists"][0]["id"] == a[2]
    confirmed_a = [a[0], a[1], *a[3:], other]
    expected = sum(payments[i] for i in confirmed_a)
    assert Decimal(summary["amount_paid"]) == payments[a[3]]
    records = client.get(f"/api/settlement/periods/{month_a}/confirmations").json()
    assert records["total"] == 8 and Decimal(records["amount_paid"]) == expected
    by_list = {x["list_id"]: x for x in records["items"]}
    assert by_list[a[3]]["adjusted"] and by_list[a[3]]["amount_paid"] == "8000.00"
    assert by_list[a[3]]["drg_payment"] == adjustment["original_payment"]
    detail = client.get(f"/api/settlement/periods/{month_a}").json()
    assert detail["status"] == "open" and detail["confirmed"] == 8 and detail["to_confirm"] == 0
    # again: nothing left to confirm — refused, the period stays open, nothing twice
    r = client.post(f"/api/settlement/periods/{month_a}/confirm", json={})
    assert r.status_code == 422 and "没有待确认的清单" in _error(r), r.text
    # month B: every list final → the period closes
    r = client.post(f"/api/settlement/periods/{month_b}/confirm", json={})
    summary_b = wait_job(client, r.json()["job_id"])["summary"]
    assert summary_b["confirmed"] == 2 and summary_b["period_status"] == "closed"
    periods = client.get("/api/settlement/periods").json()["items"]
    assert {p["period"]: p["status"] for p in periods}[month_b] == "closed"
    illegal = client.post(f"/api/settlement/review/{a[0]}/approve")
    assert illegal.status_code == 409 and "已确认结算" in _error(illegal)

    db.expire_all()
    set_scope(db, SYSTEM_SCOPE)
    assert db.scalar(select(func.count()).select_from(SettlementConfirmation)) == 10
    states = dict(
        db.execute(select(SettlementList.state, func.count()).group_by(SettlementList.state)).all()
    )
    assert states == {"confirmed": 10, "returned": 1}
    period = db.scalar(select(SettlementPeriod).where(SettlementPeriod.code == month_b))
    assert period.status == "closed"
    audit = dict(
        db.execute(
            select(AuditLog.action, func.count())
            .where(AuditLog.action.startswith("settlement."))
            .group_by(AuditLog.action)
        ).all()
    )
    assert audit["settlement.approve"] == 2 + 6 + 1
    assert audit["settlement.return"] == 1 and audit["settlement.adjust"] == 1
    assert audit["settlement.confirm"] >= 3  # chunks of 3 lists
    row = db.scalar(select(AuditLog).where(AuditLog.action == "settlement.return"))
    assert row.before == {"state": "priced"} and row.after["state"] == "returned"
    assert row.after["reason"] == reason and row.actor_name == "reviewer"

    # --- a confirmed list cannot be replaced by the hospital
    _as(client, "hosp01")
    again = client.post("/api/settlement/lists", json=world["messages"][0]).json()["lists"][0]
    assert again["state"] == "refused" and again["findings"][0]["rule_id"] == "INTAKE02"
    history = client.get(f"/api/settlement/lists/{a[0]}/history").json()
    assert history["state"] == "confirmed" and history["confirmation"]["period"] == month_a


def test_scoping_of_review_and_periods(world, db):  # type: ignore[no-untyped-def]
    """A district reviewer sees only its district's lists and cannot confirm the city."""
    client, codes = world["client"], world["codes"]
    _as(client, "district_reviewer")
    queue = client.get("/api/settlement/review", params={"state": "all", "size": 100}).json()
    set_scope(db, SYSTEM_SCOPE)
    district = db.scalar(select(User).where(User.username == "district_reviewer")).region_code
    hospitals = {
        u.hospital.code: u.hospital.region_code
        for u in db.scalars(select(User).where(User.username.in_(["hosp01", "hosp02"])))
    }
    expected = (10 if hospitals[codes["hosp01"]] == district else 0) + (
        1 if hospitals[codes["hosp02"]] == district else 0
    )
    assert queue["total"] == expected
    r = client.post(
        f"/api/settlement/periods/{world['month_a']}/confirm", json={"region": "990100"}
    )
    assert r.status_code == 403 and "辖区" in _error(r)
    bad = client.post("/api/settlement/periods/2024-3/confirm", json={})
    assert bad.status_code == 422 and "YYYY-MM" in _error(bad)


def test_confirm_refused_while_its_job_runs(world, db):  # type: ignore[no-untyped-def]
    """A period whose running batch still has a queued / running job is not started twice."""
    client, month = world["client"], world["month_a"]
    set_scope(db, SYSTEM_SCOPE)
    _as(client, "reviewer")
    start, end = parse_period(month)
    period = SettlementPeriod(
        region_code="990100", code=month, start_date=start, end_date=end, status="open"
    )
    db.add(period)
    db.flush()
    job = Job(kind="settlement.confirm", status="running", params={}, region_code="990100")
    db.add(job)
    db.flush()
    db.add(
        SettlementConfirmBatch(
            region_code="990100",
            period_id=period.id,
            period_code=month,
            status="running",
            running_key=f"990100:{month}",
            job_id=job.id,
            chunk_size=10,
            started_by="test",
        )
    )
    db.commit()
    r = client.post(f"/api/settlement/periods/{month}/confirm", json={})
    assert r.status_code == 409 and "正在确认中" in _error(r)
    job.status = "failed"  # e.g. the process died and the runner recovered the job
    db.commit()
    r = client.post(f"/api/settlement/periods/{month}/confirm", json={})
    assert r.status_code == 202 and r.json()["batch_id"] is not None
    assert wait_job(client, r.json()["job_id"])["summary"]["runs"] == 1


def test_confirmation_leaves_the_appeal_window_to_the_hospital(world, db):  # type: ignore[no-untyped-def]
    """A month confirmed the day its lists were adjusted keeps the adjusted list out
    (the hospital may still appeal it); the appeal filed afterwards is decided, and the
    list is confirmed at what the decision says (ADR 0008 amendment)."""
    client, a, month_a = world["client"], world["a"], world["month_a"]
    _as(client, "reviewer")
    r = client.post(
        f"/api/settlement/review/{a[0]}/adjust",
        json={"reason": "高套分组，按核定金额支付", "drg_payment": "5000.00"},
    )
    assert r.status_code == 200, r.text
    r = client.post("/api/settlement/review/bulk-approve", json={"ids": [*a[1:], world["other"]]})
    assert r.status_code == 200, r.text
    r = client.post(f"/api/settlement/periods/{month_a}/confirm", json={})
    summary = wait_job(client, r.json()["job_id"])["summary"]
    assert summary["pending"]["by_state"] == {"adjusted": 1}
    assert summary["period_status"] == "open"
    # nothing else to confirm before the window ends: refused, naming the window
    r = client.post(f"/api/settlement/periods/{month_a}/confirm", json={})
    assert r.status_code == 422 and "申诉期满后" in _error(r)
    _as(client, "hosp01")
    r = client.post(f"/api/settlement/lists/{a[0]}/appeal", json={"reason": "诊断依据充分"})
    assert r.status_code == 200, r.text
    _as(client, "reviewer")
    r = client.post(
        f"/api/settlement/appeals/{r.json()['id']}/decide",
        json={"decision": "uphold", "reason": "复核属实，按原支付"},
    )
    assert r.status_code == 200, r.text
    r = client.post(f"/api/settlement/periods/{month_a}/confirm", json={})
    summary = wait_job(client, r.json()["job_id"])["summary"]
    assert summary["confirmed"] == 1 and summary["period_status"] == "closed"
    records = client.get(f"/api/settlement/periods/{month_a}/confirmations").json()["items"]
    (row,) = [x for x in records if x["list_id"] == a[0]]
    assert not row["adjusted"] and row["amount_paid"] == row["drg_payment"]  # upheld


def test_list_pages_show_what_is_paid_after_a_decision(world):  # type: ignore[no-untyped-def]
    """An adjusted list shows its adjusted payment in the list table (and the original
    beside it), its pricing card says it is the pricing before the decision."""
    client, a = world["client"], world["a"]
    _as(client, "reviewer")
    r = client.post(
        f"/api/settlement/review/{a[0]}/adjust",
        json={"reason": "高套分组，按核定金额支付", "drg_payment": "5000.00"},
    )
    assert r.status_code == 200, r.text
    _as(client, "hosp01")
    page = client.get(
        "/settlement/lists", params={"state": "adjusted"}, headers={"accept": "text/html"}
    ).text
    row = page.split('data-testid="list-row"', 2)[1]
    cell = row.split('data-testid="list-payment"', 1)[1].split("</td>", 1)[0]
    assert "5,000.00" in cell and "调整后" in cell and "（原 " in cell
    detail = client.get(f"/settlement/lists/{a[0]}", headers={"accept": "text/html"}).text
    assert 'data-testid="pricing-before-decision"' in detail


def test_list_api_filters_by_discharge_month_and_id(world):  # type: ignore[no-untyped-def]
    client, a, b = world["client"], world["a"], world["b"]
    _as(client, "reviewer")
    got = client.get("/api/settlement/lists", params={"month": world["month_a"], "size": 200})
    assert got.status_code == 200, got.text
    ids = {i["id"] for i in got.json()["items"]}
    assert set(a) <= ids and not ids & set(b)
    in_b = client.get("/api/settlement/lists", params={"month": world["month_b"], "size": 200})
    assert {i["id"] for i in in_b.json()["items"]} >= set(b)
    assert client.get("/api/settlement/lists", params={"month": "2024-13"}).status_code == 422
    wildcard = client.get("/api/settlement/lists", params={"q": "%"}).json()
    assert wildcard["total"] == 0  # a % typed in an id is no wildcard
    one = client.get(
        "/api/settlement/lists", params={"q": world["messages"][0]["setlinfo"]["setl_id"]}
    )
    assert [i["id"] for i in one.json()["items"]] == [a[0]]


def test_list_page_filters_by_discharge_month(world):  # type: ignore[no-untyped-def]
    client, a, b = world["client"], world["a"], world["b"]
    _as(client, "reviewer")
    html = {"accept": "text/html"}
    page = client.get("/settlement/lists", params={"month": world["month_b"]}, headers=html)
    assert page.status_code == 200 and f'value="{world["month_b"]}"' in page.text
    shown = {int(i) for i in re.findall(r'href="/settlement/lists/(\d+)"', page.text)}
    assert set(b) <= shown and not shown & set(a)
    bad = client.get("/settlement/lists", params={"month": "2024-13"}, headers=html)
    assert bad.status_code == 422 and "出院年月" in bad.text
