"""The audit log page in Chinese (issue 10.11): actions, objects and before/after in
words, a bulk approval shown as one summarised row (its per-list rows on request)."""

from __future__ import annotations

from tests.e2e.test_settlement_review import _as, world  # noqa: F401  (fixture)

HTML = {"accept": "text/html"}


def test_audit_page_reads_in_chinese_and_summarises_bulk_actions(world, db):  # type: ignore[no-untyped-def]  # noqa: F811
    client, a = world["client"], world["a"]
    _as(client, "reviewer")
    r = client.post(
        "/api/settlement/review/bulk-approve", json={"ids": a[:5], "reason": "抽查无异常"}
    )
    assert r.status_code == 200, r.text
    _as(client, "admin")
    page = client.get("/admin/audit", headers=HTML).text
    assert page.count('data-action="settlement.bulk_approve"') == 1
    assert 'data-action="settlement.approve"' not in page
    assert "批量审核通过" in page and "通过数：</span>5" in page and "抽查无异常" in page
    assert "接收结算清单" in page  # settlement.intake, in words
    assert '"bulk"' not in page and "settlement_list_batch" not in page
    each = client.get("/admin/audit?each=1&action=settlement.approve", headers=HTML).text
    assert each.count('data-action="settlement.approve"') == 5
    assert "待审核" in each or "审核通过" in each  # states in words, not codes
    assert "submit_review" not in each


def test_hospital_home_shows_its_own_figures(world, db):  # type: ignore[no-untyped-def]  # noqa: F811
    client, a = world["client"], world["a"]
    _as(client, "reviewer")
    r = client.post(f"/api/settlement/review/{a[0]}/return", json={"reason": "主要诊断填写有误"})
    assert r.status_code == 200, r.text
    r = client.post("/api/settlement/review/bulk-approve", json={"ids": a[1:4]})
    assert r.status_code == 200, r.text
    _as(client, "hosp01")
    page = client.get("/", headers=HTML).text
    assert 'data-testid="hospital-todo"' in page
    todo = page.split('data-testid="hospital-todo"', 1)[1]
    assert 'data-testid="todo-returned">1<' in todo
    assert 'data-testid="todo-waiting">6 ' in todo  # 10 priced lists: 1 returned, 3 approved
    assert "3 份清单" in todo
    cmi = todo.split('data-testid="todo-cmi">', 1)[1].split("<", 1)[0]
    assert float(cmi) > 0
    assert "特例单议申请" in todo
    _as(client, "reviewer")  # a bureau user has no hospital panel
    assert 'data-testid="hospital-todo"' not in client.get("/", headers=HTML).text
