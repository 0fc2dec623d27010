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
    # the CMI is the decision analysis' (ADR 0037): this world has no summaries yet
    assert 'data-testid="todo-cmi">—<' in todo and "CMI（尚未汇总）" in todo
    assert "特例单议申请" in todo
    _as(client, "reviewer")  # a bureau user has no hospital panel
    assert 'data-testid="hospital-todo"' not in client.get("/", headers=HTML).text


def test_every_domain_s_actions_read_in_chinese(client, db):  # type: ignore[no-untyped-def]
    """Rows written by the gateway, the post-audit findings, the rule base, DIP, the
    local plans, the messages and monitoring are named in Chinese too — action,
    object, field and state — not by their codes (exchange.ipt.discharge, published)."""
    import html
    import re

    from tests import builders as b
    from tests.builders.settlement import login
    from yibao.accounts.roles import Role
    from yibao.audit.service import Actor, record
    from yibao.db.scoping import SYSTEM_SCOPE, set_scope

    set_scope(db, SYSTEM_SCOPE)
    b.region(db, "990100")
    b.region(db, "990102")
    b.user(db, Role.BUREAU_ADMIN, region_code="990100", username="boss")
    who = Actor(user_id=None, name="hosp01", region_code="990102")
    rows = [
        ("exchange.ipt.discharge", "exchange_visit", {"state": "discharged", "psn_no": "P1"}),
        ("exchange.otp.settle", "exchange_visit", {"msgid": "M1", "scope": "local"}),
        ("exchange.sign_in", "exchange_sign_in", {"sign_no": "S1"}),
        ("finding.publish", "supervision_finding", {"state": "published", "jr_id": "J1"}),
        ("finding.appeal", "supervision_finding", {"state": "answered", "amount": "1.00"}),
        ("finding.post_audit", "job", {"found": 3}),
        ("supervision.rules.publish", "rule_set_version", None),
        ("supervision.knowledge.relation.add", "knowledge_version", None),
        ("dip.catalogue.publish", "dip_catalogue", None),
        ("grouping.local_plan_publish", "local_plan", None),
        ("settlement.request_adjust", "settlement_list", {"state": "priced"}),
        ("messages.notice", "message_thread", None),
        ("monitoring.threshold.add", "monitor_threshold", None),
        ("analysis.refresh", "job", {"case_months": 2}),
    ]
    for action, object_type, after in rows:
        record(db, who, action, object_type, 1, after=after, region_code="990102")
    db.commit()
    login(client, "boss")
    page = client.get("/admin/audit", headers=HTML)
    assert page.status_code == 200
    body = page.text.split('data-testid="audit-table"', 1)[1]
    shown = html.unescape(re.sub(r"<[^>]+>", " ", body))  # the words, not the attributes
    for action, object_type, after in rows:
        assert action not in shown and object_type not in shown, action
        assert not any(f"{key}：" in shown for key in after or {}), after
    for code in ("published", "answered", "local", "discharged"):  # values in words
        assert not re.search(rf"\b{code}\b", shown), code
    assert "住院出院办理" in shown and "门诊结算" in shown and "发布规则库" in shown
    assert "疑点公示" in shown and "已公示（待医院答复）" in shown and "本地就医" in shown
    assert "已出院" in shown and "事后审核疑点" in shown and "接口签到" in shown
    filter_box = page.text.split('id="a-action"', 1)[1].split("</select>", 1)[0]
    labels = re.findall(r">([^<]+)</option>", filter_box)
    assert labels and not [t for t in labels if re.fullmatch(r"[a-z_.]+", t)], labels


def test_rows_about_a_user_belong_to_the_user_s_region(client, db):  # type: ignore[no-untyped-def]
    """A user (and its token) created by an actor of no region — the demo seed, a
    province administrator — is recorded in the created user's region: the bureau of
    another region does not read who was created there."""
    from tests import builders as b
    from tests.builders.settlement import login
    from yibao.accounts.models import ApiToken
    from yibao.accounts.roles import Role
    from yibao.accounts.service import do_create_user
    from yibao.accounts.tokens import do_create_api_token, do_revoke_api_token
    from yibao.audit.models import AuditLog
    from yibao.audit.service import Actor
    from yibao.db.scoping import SYSTEM_SCOPE, set_scope

    set_scope(db, SYSTEM_SCOPE)
    b.region(db, "990100")
    b.region(db, "980100")
    far = b.hospital(db, "980100", code="H98010010001")
    b.user(db, Role.BUREAU_ADMIN, region_code="990100", username="boss")
    province = Actor(user_id=None, name="province-admin")
    do_create_user(
        db,
        username="far_analyst",
        password="Far@2026x",
        role=Role.BUREAU_ANALYST.value,
        region_code="980100",
        actor=province,
    )
    his = do_create_user(
        db,
        username="far_his",
        password="Far@2026x",
        role=Role.HIS_CLIENT.value,
        hospital_code=far.code,
        actor=province,
    )
    assert do_create_api_token(db, his, "far", actor=province)
    do_revoke_api_token(db, db.query(ApiToken).filter_by(user_id=his.id).one(), actor=province)
    db.commit()
    rows = db.query(AuditLog).filter(AuditLog.actor_name == "province-admin").all()
    assert rows and {r.region_code for r in rows} == {"980100"}
    assert {r.hospital_id for r in rows if r.object_type == "api_token"} == {far.id}
    login(client, "boss")
    page = client.get("/admin/audit", headers=HTML).text
    assert "far_analyst" not in page and "far_his" not in page
