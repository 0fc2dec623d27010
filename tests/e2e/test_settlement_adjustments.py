"""Adjustments cannot create money (issue 10.1), over HTTP on SQLite and PostgreSQL.

A deduction (调整扣减) only lowers a list's payment; an addition (调增) is its own
action, with a reason and a ceiling; a change beyond the configured share of the
payment waits for a second reviewer (双人复核) and blocks other decisions meanwhile;
every adjustment can be reverted before confirmation; the monthly statement shows
deductions and additions apart and pays exactly the confirmed amounts.
"""

from __future__ import annotations

import re
from decimal import ROUND_HALF_UP, Decimal

from sqlalchemy import func, select

from tests.builders.settlement import appeal_window_over
from tests.e2e.test_grouping_api import wait_job
from tests.e2e.test_settlement_review import _as, _error, world  # noqa: F401  (fixture)
from yibao.audit.models import AuditLog
from yibao.db.scoping import SYSTEM_SCOPE, set_scope
from yibao.settlement.models import (
    CasePricing,
    SettlementAdjustment,
    SettlementConfirmation,
    SettlementList,
)

D = Decimal
CENT = D("0.01")
HTML = {"accept": "text/html"}


def _priced(db, list_id: int) -> tuple[Decimal, Decimal]:  # type: ignore[no-untyped-def]
    """(DRG payment, fund amount) of the list's pricing."""
    set_scope(db, SYSTEM_SCOPE)
    row = db.execute(
        select(CasePricing.drg_payment, CasePricing.fund_amount)
        .join(SettlementList, SettlementList.case_id == CasePricing.case_id)
        .where(SettlementList.id == list_id)
    ).one()
    return row[0], row[1]


def _formula_fund(db, list_id: int, amount: Decimal) -> Decimal:  # type: ignore[no-untyped-def]
    """The national formula's fund at ``amount`` with the list's own terms (全自费,
    先自付, 起付线, ratio): max(0, (amount − 全自费 − 先自付 − 起付线) × ratio), half up."""
    set_scope(db, SYSTEM_SCOPE)
    terms = db.scalar(
        select(CasePricing.terms)
        .join(SettlementList, SettlementList.case_id == CasePricing.case_id)
        .where(SettlementList.id == list_id)
    )
    assert terms["payment_basis"] == "standard" and terms["fund_formula"] == "national"
    base = amount - sum(
        D(terms[k]) for k in ("term_self_pay_full", "term_self_pay_first", "term_deductible")
    )
    return max(D(0), base * D(terms["term_ratio"])).quantize(CENT, rounding=ROUND_HALF_UP)


def _state(db, list_id: int) -> str:  # type: ignore[no-untyped-def]
    db.expire_all()
    set_scope(db, SYSTEM_SCOPE)
    return str(db.scalar(select(SettlementList.state).where(SettlementList.id == list_id)))


def _adjustments(db, list_id: int) -> list[SettlementAdjustment]:  # type: ignore[no-untyped-def]
    db.expire_all()
    set_scope(db, SYSTEM_SCOPE)
    return list(
        db.scalars(
            select(SettlementAdjustment)
            .where(SettlementAdjustment.list_id == list_id)
            .order_by(SettlementAdjustment.id)
        )
    )


def _adjust(client, list_id: int, amount: Decimal | str, kind: str = "deduct", reason="高套分组"):  # type: ignore[no-untyped-def]
    return client.post(
        f"/api/settlement/review/{list_id}/adjust",
        json={"reason": reason, "drg_payment": str(amount), "kind": kind},
    )


def test_a_deduction_never_raises_the_payment(world, db):  # type: ignore[no-untyped-def]  # noqa: F811
    client, a = world["client"], world["a"]
    _as(client, "reviewer")
    payment, _ = _priced(db, a[0])
    for amount in (D("99999999"), payment, payment + CENT):
        r = _adjust(client, a[0], amount)
        assert r.status_code == 422, (amount, r.text)
        message = _error(r)
        assert "须低于原支付金额" in message and str(payment) in message and "调增" in message
        assert r.json()["error"]["field"] == "drg_payment"
    r = _adjust(client, a[0], payment, kind="maybe")
    assert r.status_code == 422 and "调整类型" in _error(r) and r.json()["error"]["field"] == "kind"
    assert _adjustments(db, a[0]) == [] and _state(db, a[0]) == "priced"

    lowered = (payment * D("0.9")).quantize(CENT)
    r = _adjust(client, a[0], lowered)
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["state"] == "adjusted" and body["pending_adjustment"] is None
    assert (
        body["adjustment"]["kind"] == "deduct"
        and D(body["adjustment"]["adjusted_payment"]) == lowered
    )
    assert _state(db, a[0]) == "adjusted"


def test_an_addition_is_explicit_bounded_and_reasoned(world, db):  # type: ignore[no-untyped-def]  # noqa: F811
    client, a = world["client"], world["a"]
    _as(client, "reviewer")
    payment, fund = _priced(db, a[1])
    ceiling = (payment * D("1.5")).quantize(CENT)
    r = _adjust(client, a[1], payment, kind="add")
    assert r.status_code == 422 and "须高于原支付金额" in _error(r)
    r = _adjust(client, a[1], ceiling + CENT, kind="add")
    assert r.status_code == 422
    assert f"{ceiling}" in _error(r) and "特例单议" in _error(r)
    r = client.post(
        f"/api/settlement/review/{a[1]}/adjust",
        json={"drg_payment": str(payment + 1), "kind": "add"},
    )
    assert r.status_code == 422 and "原因" in _error(r)
    assert _adjustments(db, a[1]) == []

    raised = (payment * D("1.2")).quantize(CENT)  # within one reviewer's share (50 %)
    r = _adjust(client, a[1], raised, kind="add", reason="合并症经专家认定，按调增支付")
    assert r.status_code == 200, r.text
    [adj] = _adjustments(db, a[1])
    assert (adj.kind, adj.status, adj.adjusted_payment) == ("add", "effective", raised)
    # the case's own fund formula at the new payment, not the fund scaled like it
    assert fund == _formula_fund(db, a[1], payment)
    assert adj.adjusted_fund == _formula_fund(db, a[1], raised)
    assert adj.adjusted_fund != (fund * raised / payment).quantize(CENT, rounding=ROUND_HALF_UP)
    assert _state(db, a[1]) == "adjusted"


def test_a_large_change_needs_a_second_reviewer(world, db):  # type: ignore[no-untyped-def]  # noqa: F811
    client, a = world["client"], world["a"]
    _as(client, "reviewer")
    payment, _ = _priced(db, a[2])
    cut = (payment * D("0.3")).quantize(CENT)  # a 70 % deduction: beyond the 50 % share
    r = _adjust(client, a[2], cut)
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["state"] == "under_review" and body["adjustment"] is None
    pending = body["pending_adjustment"]
    assert pending["status"] == "pending" and D(pending["adjusted_payment"]) == cut
    assert _state(db, a[2]) == "under_review"

    # nothing else moves the list while the adjustment waits
    for path, payload in (
        ("approve", {}),
        ("return", {"reason": "资料不全"}),
        ("adjust", {"reason": "再扣", "drg_payment": str(cut)}),
    ):
        r = client.post(f"/api/settlement/review/{a[2]}/{path}", json=payload)
        assert r.status_code == 409 and "待复核" in _error(r), (path, r.text)
    r = client.post("/api/settlement/review/bulk-approve", json={"ids": [a[2]]})
    assert r.json()["approved"] == 0 and "待复核" in r.json()["results"][0]["message"]
    queue = client.get("/api/settlement/review", params={"size": 100}).json()["items"]
    assert next(i for i in queue if i["id"] == a[2])["pending_adjustment"]["id"] == pending["id"]
    waiting = client.get("/api/settlement/review/adjustments").json()
    assert [i["id"] for i in waiting["items"]] == [pending["id"]] and waiting["items"][0]["mine"]

    # the reviewer who asked cannot approve it; the hospital cannot either
    r = client.post(f"/api/settlement/review/adjustments/{pending['id']}/approve", json={})
    assert r.status_code == 403 and "另一位审核员" in _error(r)
    _as(client, "hosp01")
    r = client.post(f"/api/settlement/review/adjustments/{pending['id']}/approve", json={})
    assert r.status_code == 403

    _as(client, "reviewer2")
    r = client.post(f"/api/settlement/review/adjustments/{pending['id']}/reject", json={})
    assert r.status_code == 422 and "原因" in _error(r)
    r = client.post(
        f"/api/settlement/review/adjustments/{pending['id']}/approve",
        json={"reason": "核对病历，同意扣减"},
    )
    assert r.status_code == 200, r.text
    assert r.json()["state"] == "adjusted" and r.json()["adjustment"]["second_reviewer"]
    [adj] = _adjustments(db, a[2])
    assert adj.status == "effective" and adj.decided_by_name and adj.adjusted_payment == cut
    r = client.post(f"/api/settlement/review/adjustments/{pending['id']}/approve", json={})
    assert r.status_code == 409  # decided once

    # a refused one: the list stays under review and is paid its pricing when approved
    _as(client, "reviewer")
    r = _adjust(client, a[3], (_priced(db, a[3])[0] * D("0.2")).quantize(CENT))
    pending = r.json()["pending_adjustment"]
    _as(client, "reviewer2")
    r = client.post(
        f"/api/settlement/review/adjustments/{pending['id']}/reject",
        json={"reason": "扣减依据不足"},
    )
    assert r.status_code == 200 and r.json()["state"] == "under_review"
    assert [x.status for x in _adjustments(db, a[3])] == ["rejected"]
    r = client.post(f"/api/settlement/review/{a[3]}/approve", json={})
    assert r.status_code == 200 and r.json()["state"] == "approved"

    set_scope(db, SYSTEM_SCOPE)
    audit = dict(
        db.execute(
            select(AuditLog.action, func.count())
            .where(AuditLog.action.startswith("settlement."))
            .group_by(AuditLog.action)
        ).all()
    )
    assert audit["settlement.request_adjust"] == 2 and audit["settlement.reject_adjust"] == 1
    assert audit["settlement.adjust"] == 1  # the approved one


def test_the_second_review_share_is_configurable(world, db):  # type: ignore[no-untyped-def]  # noqa: F811
    client, a = world["client"], world["a"]
    app_settings = client.app.state.settings
    client.app.state.settings = app_settings.model_copy(update={"adjust_second_review_share": 0})
    try:
        _as(client, "reviewer")
        r = _adjust(client, a[4], (_priced(db, a[4])[0] - 1))  # one yuan: still two reviewers
        assert r.status_code == 200 and r.json()["state"] == "under_review"
        assert r.json()["pending_adjustment"]["status"] == "pending"
    finally:
        client.app.state.settings = app_settings


def test_adjustments_are_reverted_before_confirmation(world, db):  # type: ignore[no-untyped-def]  # noqa: F811
    client, a = world["client"], world["a"]
    _as(client, "reviewer")
    payment, _ = _priced(db, a[5])
    r = _adjust(client, a[5], (payment * D("0.9")).quantize(CENT))
    assert r.json()["state"] == "adjusted"
    r = client.post(f"/api/settlement/review/{a[5]}/revert-adjustment", json={})
    assert r.status_code == 422 and "原因" in _error(r)
    r = client.post(
        f"/api/settlement/review/{a[5]}/revert-adjustment",
        json={"reason": "医院补充材料，撤销扣减"},
    )
    assert r.status_code == 200, r.text
    assert r.json()["state"] == "under_review" and r.json()["adjustment"] is None
    assert [x.status for x in _adjustments(db, a[5])] == ["reverted"]
    # nothing left to revert: the machine says so
    r = client.post(f"/api/settlement/review/{a[5]}/revert-adjustment", json={"reason": "再撤"})
    assert r.status_code == 409

    # a pending one is withdrawn (the list stays under review)
    r = _adjust(client, a[6], (_priced(db, a[6])[0] * D("0.1")).quantize(CENT))
    assert r.json()["pending_adjustment"]
    r = client.post(f"/api/settlement/review/{a[6]}/revert-adjustment", json={"reason": "填错金额"})
    assert r.status_code == 200 and r.json()["pending_adjustment"] is None
    assert [x.status for x in _adjustments(db, a[6])] == ["reverted"]
    assert _state(db, a[6]) == "under_review"

    # approved and confirmed, the reverted list is paid its pricing
    r = client.post("/api/settlement/review/bulk-approve", json={"ids": [a[5], a[6]]})
    assert r.json()["approved"] == 2
    r = client.post(f"/api/settlement/periods/{world['month_a']}/confirm", json={})
    assert wait_job(client, r.json()["job_id"])["status"] == "succeeded"
    set_scope(db, SYSTEM_SCOPE)
    paid = db.scalar(
        select(SettlementConfirmation.amount_paid).where(SettlementConfirmation.list_id == a[5])
    )
    assert paid == payment
    # after confirmation nothing can be reverted
    r = client.post(f"/api/settlement/review/{a[5]}/revert-adjustment", json={"reason": "晚了"})
    assert r.status_code == 409


def test_statement_shows_deductions_and_additions_apart(world, db):  # type: ignore[no-untyped-def]  # noqa: F811
    client, a, codes = world["client"], world["a"], world["codes"]
    _as(client, "reviewer")
    down_pay, down_fund = _priced(db, a[0])
    up_pay, up_fund = _priced(db, a[1])
    down = (down_pay * D("0.8")).quantize(CENT)
    up = (up_pay * D("1.3")).quantize(CENT)
    assert _adjust(client, a[0], down).json()["state"] == "adjusted"
    assert _adjust(client, a[1], up, kind="add", reason="专家认定").json()["state"] == "adjusted"
    r = client.post("/api/settlement/review/bulk-approve", json={"ids": [*a[2:], world["other"]]})
    assert r.status_code == 200
    with appeal_window_over():
        r = client.post(f"/api/settlement/periods/{world['month_a']}/confirm", json={})
        assert wait_job(client, r.json()["job_id"])["status"] == "succeeded"

    r = client.get(f"/api/settlement/periods/{world['month_a']}/statements")
    assert r.status_code == 200, r.text
    row = next(i for i in r.json()["items"] if i["hospital_code"] == codes["hosp01"])
    # the fund part follows each case's own formula at the adjusted payment
    assert D(row["deductions"]) == down_fund - _formula_fund(db, a[0], down)
    assert D(row["additions"]) == _formula_fund(db, a[1], up) - up_fund
    assert D(row["settlement_amount"]) == (
        D(row["fund_total"]) - D(row["deductions"]) + D(row["additions"])
    )
    set_scope(db, SYSTEM_SCOPE)
    confirmed = db.scalar(
        select(func.sum(SettlementConfirmation.fund_amount)).where(
            SettlementConfirmation.hospital_code == codes["hosp01"],
            SettlementConfirmation.period_code == world["month_a"],
        )
    )
    assert D(row["settlement_amount"]) == confirmed

    page = client.get(
        "/settlement/statements", params={"period": world["month_a"]}, headers=HTML
    ).text
    assert "审核调增" in page and "审核扣减" in page
    cells = re.findall(r'data-testid="additions">([^<]*)<', page)
    assert f"{D(row['additions']):,}" in cells


def test_pages_show_the_second_review(world, db):  # type: ignore[no-untyped-def]  # noqa: F811
    client, a = world["client"], world["a"]
    _as(client, "reviewer")
    payment, _ = _priced(db, a[7])
    doc = client.get(f"/settlement/lists/{a[7]}", headers=HTML).text
    assert 'data-testid="increase-form"' in doc and "须低于原金额" in doc
    r = client.post(
        f"/settlement/review/{a[7]}/adjust",
        data={"reason": "高套", "drg_payment": str(payment * 2), "back": "detail"},
        headers=HTML,
    )
    assert r.status_code == 422 and "须低于原支付金额" in r.text
    r = client.post(
        f"/settlement/review/{a[7]}/adjust",
        data={"reason": "高套", "drg_payment": str((payment / 4).quantize(CENT)), "back": "detail"},
        headers=HTML,
        follow_redirects=False,
    )
    assert r.status_code == 303
    doc = client.get(r.headers["location"], headers=HTML).text
    assert "另一位审核员复核" in doc and 'data-testid="pending-adjustment"' in doc
    assert 'data-testid="pending-own"' in doc and "second-approve-form" not in doc
    queue = client.get("/settlement/review", headers=HTML).text
    assert 'data-testid="pending-badge"' in queue

    _as(client, "reviewer2")
    doc = client.get(f"/settlement/lists/{a[7]}", headers=HTML).text
    adj_id = re.search(r"/settlement/review/adjustments/(\d+)/approve", doc).group(1)
    r = client.post(
        f"/settlement/review/adjustments/{adj_id}/approve",
        data={"reason": ""},
        headers=HTML,
        follow_redirects=False,
    )
    assert r.status_code == 303
    doc = client.get(r.headers["location"], headers=HTML).text
    assert "复核同意" in doc and _state(db, a[7]) == "adjusted"
    assert 'data-testid="revert-form"' in doc
