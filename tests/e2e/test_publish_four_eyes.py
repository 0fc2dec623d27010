"""Four-eyes publishing (issue 10.1): with ``YIBAO_PUBLISH_FOUR_EYES`` a weight plan is
approved by someone other than its maker, and a payment standard table waits as
``pending`` (not used for pricing) until a second user approves it; off by default."""

from __future__ import annotations

from sqlalchemy import select

from tests.e2e.test_http_scoping import _login
from tests.e2e.test_measurement_api import _run, _weight_plan, analyst  # noqa: F401
from yibao.accounts.roles import Role
from yibao.accounts.service import do_create_user
from yibao.audit.models import AuditLog
from yibao.audit.service import SYSTEM
from yibao.db.scoping import SYSTEM_SCOPE, set_scope
from yibao.demo.seed import DEMO_PASSWORD
from yibao.measurement.models import PaymentStandardSet

HTML = {"accept": "text/html"}


def _switch(client, username: str) -> None:  # type: ignore[no-untyped-def]
    client.cookies.clear()
    _login(client, username, DEMO_PASSWORD)
    page = client.get("/", headers=HTML)
    client.headers["x-csrf-token"] = page.text.split('"X-CSRF-Token": "', 1)[1].split('"', 1)[0]


def _table() -> bytes:
    """A small payment standard table (CSV) for the import path."""
    lines = ["drg,hospital_level,relative_weight,base_rate,payment_standard"]
    lines += ["BR21,3,1.2000,10000.00,12000.00", "BR21,2,1.2000,9000.00,10800.00"]
    return ("\n".join(lines) + "\n").encode()


def test_four_eyes_off_by_default(analyst):  # type: ignore[no-untyped-def]  # noqa: F811
    r = analyst.post(
        "/api/measurement/standards/import",
        files={"file": ("s.csv", _table())},
        data={"plan_id": "chs-drg-1.1", "valid_from": "2031-01-01"},
    )
    assert r.status_code == 201, r.text
    assert r.json()["status"] == "published"


def test_four_eyes_publishing(analyst, db):  # type: ignore[no-untyped-def]  # noqa: F811
    client = analyst
    client.app.state.settings = client.app.state.settings.model_copy(
        update={"publish_four_eyes": True}
    )
    set_scope(db, SYSTEM_SCOPE)
    do_create_user(
        db,
        username="analyst2",
        password=DEMO_PASSWORD,
        role=Role.BUREAU_ANALYST,
        region_code="990100",
        actor=SYSTEM,
    )
    db.commit()

    # a weight plan is approved by another user than its maker
    run = _run(client)
    body = {"run_id": run["id"], "code": "W4E", "name": "双人复核权重"}
    plan = client.post("/api/measurement/weight-plans", json=body).json()
    items = client.get(f"/api/measurement/weight-plans/{plan['id']}/items").json()
    missing = [i["drg"] for i in items if i["relative_weight"] is None]
    if missing:
        r = client.patch(
            f"/api/measurement/weight-plans/{plan['id']}",
            json={"adjustments": {"manual": dict.fromkeys(missing, "1.0000")}},
        )
        assert r.status_code == 200, r.text
    r = client.post(f"/api/measurement/weight-plans/{plan['id']}/approve")
    assert r.status_code == 403 and "创建人" in r.json()["error"]["message"]
    _switch(client, "analyst2")
    r = client.post(f"/api/measurement/weight-plans/{plan['id']}/approve")
    assert r.status_code == 200, r.text
    r = client.post(f"/api/measurement/weight-plans/{plan['id']}/publish")
    assert r.status_code == 200 and r.json()["status"] == "published"

    # a payment standard table waits for a second user
    _switch(client, "analyst")
    r = client.post(
        "/api/measurement/standards/import",
        files={"file": ("s.csv", _table())},
        data={"plan_id": "chs-drg-1.1", "valid_from": "2031-01-01"},
    )
    assert r.status_code == 201, r.text
    pending = r.json()
    assert pending["status"] == "pending"
    set_scope(db, SYSTEM_SCOPE)
    assert (
        db.scalar(select(PaymentStandardSet.status).where(PaymentStandardSet.id == pending["id"]))
        == "pending"
    )
    r = client.post(f"/api/measurement/standards/{pending['id']}/approve")
    assert r.status_code == 403 and "提交人" in r.json()["error"]["message"]
    doc = client.get(f"/measurement/standards/{pending['id']}", headers=HTML).text
    assert 'data-testid="pending-standards"' in doc and "approve-standards-form" not in doc

    _switch(client, "analyst2")
    doc = client.get(f"/measurement/standards/{pending['id']}", headers=HTML).text
    assert 'data-testid="approve-standards-form"' in doc
    r = client.post(
        f"/measurement/standards/{pending['id']}/approve",
        data={"csrf_token": client.headers["x-csrf-token"]},
        headers=HTML,
        follow_redirects=False,
    )
    assert r.status_code == 303
    r = client.post(f"/api/measurement/standards/{pending['id']}/approve")
    assert r.status_code == 409  # published once
    listed = {s["id"]: s for s in client.get("/api/measurement/standards").json()}
    assert listed[pending["id"]]["status"] == "published"
    set_scope(db, SYSTEM_SCOPE)
    actions = [
        (a.action, a.actor_name)
        for a in db.scalars(
            select(AuditLog)
            .where(AuditLog.object_id == str(pending["id"]))
            .where(AuditLog.action.startswith("measurement.standards"))
            .order_by(AuditLog.id)
        )
    ]
    assert actions == [
        ("measurement.standards.request", "analyst"),
        ("measurement.standards.publish", "analyst2"),
    ]
