"""Special cases (特例单议) and appeals (申诉) over HTTP: application window,
eligibility and quota, attachments, expert decision with re-pricing, appeals with
their deadline, illegal moves (409), roles (403) and scoping (404)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

from sqlalchemy import func, select

from tests.e2e.test_settlement_adjustments import _formula_fund
from tests.e2e.test_settlement_review import _as, _error, world  # noqa: F401
from yibao.audit.models import AuditLog
from yibao.settlement import special
from yibao.settlement.models import SettlementListEvent, SpecialCaseApplication


def _deducted(client, list_id: int) -> str:  # type: ignore[no-untyped-def]
    """A deduction one reviewer may make alone: 90 % of the list's priced payment."""
    priced = Decimal(
        client.get(f"/api/settlement/lists/{list_id}").json()["pricing"]["drg_payment"]
    )
    return str((priced * Decimal("0.9")).quantize(Decimal("0.01")))


def _clock(monkeypatch, when: datetime) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setattr(special, "CLOCK", lambda: when)


def _in_window(month: str) -> datetime:
    year, mon = (int(x) for x in month.split("-"))
    index = year * 12 + mon  # the month after
    return datetime(index // 12, index % 12 + 1, 15, 4, tzinfo=UTC)


def test_special_cases_and_appeals(world, db, monkeypatch, tmp_path):  # type: ignore[no-untyped-def]  # noqa: F811
    client, a, b, other = world["client"], world["a"], world["b"], world["other"]
    _clock(monkeypatch, _in_window(world["month_a"]))
    _as(client, "hosp01")
    url = "/api/settlement/lists/{}/special-case"

    # missing reason → 422 in Chinese; another hospital's list → 404
    r = client.post(url.format(a[0]), data={"new_tech": "true"})
    assert r.status_code == 422 and "原因" in _error(r)
    r = client.post(url.format(other), data={"reason": "疑难重症", "new_tech": "true"})
    assert r.status_code == 404
    # not eligible (no criterion holds) → 409 naming the rule
    r = client.post(url.format(a[2]), data={"reason": "费用高"})
    assert r.status_code == 409 and "不符合特例单议条件" in _error(r)
    assert "NOT_ELIGIBLE" not in _error(r)

    # within the quota (1 of 8 cases) → accepted, with attachments kept by name
    files = [("files", ("病历摘要.pdf", b"%PDF-1.4 x", "application/pdf"))]
    r = client.post(
        url.format(a[0]), data={"reason": "使用新技术", "new_tech": "true"}, files=files
    )
    assert r.status_code == 200, r.text
    app = r.json()
    assert app["list_state"] == "special_applied" and app["quota"]["quota"] == 1
    assert app["attachments"] == [{"name": "病历摘要.pdf", "size": 10}]
    var_dir = client.app.state.settings.var_dir
    stored = list((var_dir / "attachments" / str(app["id"])).iterdir())
    assert len(stored) == 1 and stored[0].read_bytes() == b"%PDF-1.4 x"

    # beyond the quota → refused with the figures
    r = client.post(url.format(a[1]), data={"reason": "新技术", "new_tech": "true"})
    assert r.status_code == 409
    message = _error(r)
    assert "超出本院本期特例单议名额" in message and "名额 1 个" in message and "8 例" in message
    # the same list again → 409 (state machine)
    r = client.post(url.format(a[0]), data={"reason": "再次", "new_tech": "true"})
    assert r.status_code == 409
    # outside the window (end of the month after discharge) → refused
    _clock(monkeypatch, datetime(2030, 1, 1, tzinfo=UTC))
    r = client.post(url.format(b[0]), data={"reason": "新技术", "new_tech": "true"})
    assert r.status_code == 409 and "期限" in _error(r)

    # roles: a hospital can't decide, a reviewer can't apply
    r = client.post(
        f"/api/settlement/special-cases/{app['id']}/decide",
        json={"decision": "approve", "reason": "专家评审通过"},
    )
    assert r.status_code == 403
    assert client.get("/api/settlement/special-cases").json()["total"] == 1
    _as(client, "reviewer")
    r = client.post(url.format(a[3]), data={"reason": "x", "new_tech": "true"})
    assert r.status_code == 403

    # approve by items → re-priced at the case's total cost; original pricing kept
    r = client.post(
        f"/api/settlement/special-cases/{app['id']}/decide",
        json={"decision": "approve", "reason": "专家评审通过"},
    )
    assert r.status_code == 422 and "支付方式" in _error(r)
    assert r.json()["error"]["field"] == "method"
    r = client.post(
        f"/api/settlement/special-cases/{app['id']}/decide",
        json={"decision": "approve", "method": "items", "reason": "专家评审通过"},
    )
    assert r.status_code == 200, r.text
    decision = r.json()["decision"]
    assert r.json()["list_state"] == "special_approved"
    total_cost = Decimal(world["messages"][0]["setlinfo"]["medfee_sumamt"])
    assert Decimal(decision["new_payment"]) == total_cost
    assert decision["original_payment"] is not None
    # deciding again is an illegal move
    r = client.post(
        f"/api/settlement/special-cases/{app['id']}/decide",
        json={"decision": "reject", "reason": "x"},
    )
    assert r.status_code == 409

    # adjust a[4] → the hospital appeals within the deadline → reviewer rejects
    r = client.post(
        f"/api/settlement/review/{a[4]}/adjust",
        json={"reason": "高套", "drg_payment": _deducted(client, a[4])},
    )
    assert r.status_code == 200, r.text
    r = client.post(f"/api/settlement/review/{a[5]}/return", json={"reason": "资料不全"})
    assert r.status_code == 200
    now = datetime.now(UTC)
    _clock(monkeypatch, now)
    _as(client, "hosp01")
    r = client.post(f"/api/settlement/lists/{a[4]}/appeal", json={})
    assert r.status_code == 422 and "原因" in _error(r)
    r = client.post(f"/api/settlement/lists/{a[5]}/appeal", json={"reason": "不服"})
    assert r.status_code == 409  # a returned list is corrected and resubmitted
    r = client.post(f"/api/settlement/lists/{other}/appeal", json={"reason": "不服"})
    assert r.status_code == 404
    r = client.post(f"/api/settlement/lists/{a[4]}/appeal", json={"reason": "诊断有据"})
    assert r.status_code == 200, r.text
    filed = r.json()
    assert filed["list_state"] == "appealed"
    assert filed["deadline"] == (now + timedelta(hours=8, days=15)).date().isoformat()
    r = client.post(f"/api/settlement/appeals/{filed['id']}/decide", json={"decision": "reject"})
    assert r.status_code == 403
    _as(client, "reviewer")
    r = client.post(f"/api/settlement/appeals/{filed['id']}/decide", json={"decision": "reject"})
    assert r.status_code == 422
    r = client.post(
        f"/api/settlement/appeals/{filed['id']}/decide",
        json={"decision": "reject", "reason": "证据不足"},
    )
    assert r.status_code == 200 and r.json()["list_state"] == "appeal_rejected"
    hist = client.get(f"/api/settlement/lists/{a[4]}/history").json()
    assert hist["reason"]["text"] == "证据不足"

    # adjust a[6]; an appeal after the deadline is refused
    r = client.post(
        f"/api/settlement/review/{a[6]}/adjust",
        json={"reason": "高套", "drg_payment": _deducted(client, a[6])},
    )
    assert r.status_code == 200
    _clock(monkeypatch, now + timedelta(days=17))
    _as(client, "hosp01")
    r = client.post(f"/api/settlement/lists/{a[6]}/appeal", json={"reason": "迟到的申诉"})
    assert r.status_code == 409 and "申诉期限" in _error(r)
    assert client.get("/api/settlement/appeals").json()["total"] == 1

    # an analyst reads cases, but applications and appeals are the hospitals' and the
    # reviewers' business: refused by the API as by the page
    _as(client, "analyst")
    for path in ("/api/settlement/special-cases", "/api/settlement/appeals"):
        r = client.get(path)
        assert r.status_code == 403 and "无权操作" in _error(r), path
    assert client.get("/settlement/special").status_code == 403

    # every step wrote an event and an audit row
    events = db.scalar(
        select(func.count()).where(
            SettlementListEvent.action.in_(
                ["apply_special", "approve_special", "file_appeal", "reject_appeal"]
            )
        )
    )
    audits = db.scalar(
        select(func.count()).where(
            AuditLog.action.in_(
                [
                    "settlement.apply_special",
                    "settlement.approve_special",
                    "settlement.file_appeal",
                    "settlement.reject_appeal",
                ]
            )
        )
    )
    assert events == audits == 4
    assert db.scalar(select(func.count(SpecialCaseApplication.id))) == 1

    # confirming the period pays the approved special case as decided (by items)
    from tests.e2e.test_grouping_api import wait_job
    from yibao.settlement.models import SettlementConfirmation

    _clock(monkeypatch, datetime.now(UTC))
    _as(client, "reviewer")
    r = client.post(f"/api/settlement/periods/{world['month_a']}/confirm", json={})
    assert r.status_code == 202, r.text
    assert wait_job(client, r.json()["job_id"], timeout=60)["status"] == "succeeded"
    db.expire_all()
    paid = db.scalar(select(SettlementConfirmation).where(SettlementConfirmation.list_id == a[0]))
    assert paid is not None and paid.amount_paid == total_cost


def test_special_reject_then_appeal_upheld(world, db, monkeypatch):  # type: ignore[no-untyped-def]  # noqa: F811
    client, a = world["client"], world["a"]
    _clock(monkeypatch, _in_window(world["month_a"]))
    _as(client, "hosp01")
    r = client.post(
        f"/api/settlement/lists/{a[0]}/special-case", data={"reason": "新技术", "new_tech": "1"}
    )
    assert r.status_code == 200, r.text
    sid = r.json()["id"]
    _as(client, "reviewer")
    r = client.post(f"/api/settlement/special-cases/{sid}/decide", json={"decision": "reject"})
    assert r.status_code == 422
    r = client.post(
        f"/api/settlement/special-cases/{sid}/decide",
        json={"decision": "reject", "reason": "不符合新技术目录"},
    )
    assert r.status_code == 200 and r.json()["list_state"] == "special_rejected"
    hist = client.get(f"/api/settlement/lists/{a[0]}/history").json()
    assert hist["reason"]["text"] == "不符合新技术目录"
    _clock(monkeypatch, datetime.now(UTC))
    _as(client, "hosp01")
    r = client.post(f"/api/settlement/lists/{a[0]}/appeal", json={"reason": "已补充目录证明"})
    assert r.status_code == 200 and r.json()["special_id"] == sid
    appeal_id = r.json()["id"]
    _as(client, "reviewer")
    r = client.post(
        f"/api/settlement/appeals/{appeal_id}/decide",
        json={
            "decision": "uphold",
            "method": "amount",
            "amount": "3000.00",
            "reason": "补充证明成立",
        },
    )
    assert r.status_code == 200, r.text
    assert r.json()["list_state"] == "special_approved" and r.json()["status"] == "upheld"
    items = client.get("/api/settlement/special-cases?status=approved").json()["items"]
    assert items[0]["decision"]["new_payment"] == "3000.00"
    # the fund part by the case's own formula at the decided amount (ADR 0008 amendment)
    assert items[0]["decision"]["new_fund"] == str(_formula_fund(db, a[0], Decimal("3000.00")))
