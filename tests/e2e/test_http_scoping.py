"""HTTP tests: login, roles, and data scoping (hospital / region)."""

from __future__ import annotations

import re

from sqlalchemy import select

from tests import builders as b
from yibao.accounts.roles import Role
from yibao.audit.models import AuditLog


def _login(client, username: str, password: str = b.PASSWORD):  # type: ignore[no-untyped-def]
    page = client.get("/login")
    token = re.search(r'name="csrf_token" value="([^"]+)"', page.text).group(1)
    return client.post(
        "/login",
        data={"username": username, "password": password, "csrf_token": token, "next": "/"},
        follow_redirects=False,
    )


def _world(db):  # type: ignore[no-untyped-def]
    ha = b.hospital(db, "990102", name="甲医院")
    hb = b.hospital(db, "990103", name="乙医院")
    hc = b.hospital(db, "980102", name="外市医院")  # another city
    ca = b.case(db, ha)
    cb = b.case(db, hb)
    cc = b.case(db, hc)
    b.user(db, Role.HOSPITAL_USER, hospital=ha, username="hosp_a")
    b.user(db, Role.BUREAU_REVIEWER, region_code="990100", username="city_reviewer")
    b.user(db, Role.BUREAU_REVIEWER, region_code="990103", username="district_b")
    b.user(db, Role.RULE_ADMIN, region_code="990100", username="rules")
    db.commit()
    return ha, hb, hc, ca, cb, cc


def test_hospital_user_sees_only_own_cases(client, db):  # type: ignore[no-untyped-def]
    _ha, _hb, _hc, ca, cb, cc = _world(db)
    assert _login(client, "hosp_a").status_code == 303
    assert client.get(f"/api/cases/{ca.id}").status_code == 200
    assert client.get(f"/api/cases/{cb.id}").status_code == 404
    assert client.get(f"/api/cases/{cc.id}").status_code == 404
    listed = client.get("/api/cases").json()
    assert [c["setl_id"] for c in listed["items"]] == [ca.setl_id]
    assert listed["total"] == 1
    # the page shows the same thing, and the detail page of B is a 404 page
    page = client.get("/cases", headers={"accept": "text/html"})
    assert ca.setl_id in page.text and cb.setl_id not in page.text
    assert client.get(f"/cases/{cb.id}", headers={"accept": "text/html"}).status_code == 404
    # filtering by another hospital's code does not leak either
    other = client.get("/api/cases", params={"hospital": cb.hospital_code}).json()
    assert other["total"] == 0


def test_bureau_user_sees_only_region(client, db):  # type: ignore[no-untyped-def]
    _ha, _hb, _hc, ca, cb, cc = _world(db)
    _login(client, "city_reviewer")
    ids = {c["setl_id"] for c in client.get("/api/cases").json()["items"]}
    assert ids == {ca.setl_id, cb.setl_id}
    assert client.get(f"/api/cases/{cc.id}").status_code == 404
    hospitals = {h["name"] for h in client.get("/api/hospitals").json()["items"]}
    assert hospitals == {"甲医院", "乙医院"}


def test_district_user_sees_only_district(client, db):  # type: ignore[no-untyped-def]
    _ha, _hb, _hc, ca, cb, _cc = _world(db)
    _login(client, "district_b")
    ids = {c["setl_id"] for c in client.get("/api/cases").json()["items"]}
    assert ids == {cb.setl_id}
    assert client.get(f"/api/cases/{ca.id}").status_code == 404


def test_role_without_permission_gets_403(client, db):  # type: ignore[no-untyped-def]
    _world(db)
    _login(client, "rules")  # rule administrators do not read settlement lists
    assert client.get("/api/cases").status_code == 403
    assert client.get("/cases", headers={"accept": "text/html"}).status_code == 403
    _login(client, "hosp_a")
    assert client.get("/api/hospitals").status_code == 403
    assert client.get("/admin/users", headers={"accept": "text/html"}).status_code == 403


def test_anonymous_is_401_or_redirected(client, db):  # type: ignore[no-untyped-def]
    _world(db)
    assert client.get("/api/cases").status_code == 401
    r = client.get("/cases", headers={"accept": "text/html"}, follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"].startswith("/login")


def test_wrong_password_refused_and_logged(client, db):  # type: ignore[no-untyped-def]
    _world(db)
    r = _login(client, "hosp_a", "wrong-password")
    assert r.status_code == 401
    assert "用户名或密码错误" in r.text
    assert client.get("/api/me").status_code == 401
    db.expire_all()
    rows = db.scalars(select(AuditLog).where(AuditLog.action == "auth.login_failed")).all()
    assert len(rows) == 1
    assert rows[0].actor_name == "hosp_a"
    assert rows[0].after["reason"] == "wrong_password"


def test_repeated_failures_lock_the_account(client, db):  # type: ignore[no-untyped-def]
    _world(db)
    for _ in range(5):
        assert _login(client, "hosp_a", "bad-password").status_code == 401
    r = _login(client, "hosp_a")  # right password, but locked now
    assert r.status_code == 401 and "锁定" in r.text


def test_api_token_principal_is_scoped(client, db):  # type: ignore[no-untyped-def]
    from yibao.accounts.tokens import do_create_api_token

    ha, _hb, _hc, ca, cb, _cc = _world(db)
    his = b.user(db, Role.HIS_CLIENT, hospital=ha, username="his_a")
    token = do_create_api_token(db, his, "t", actor=b.TEST_ACTOR)
    db.commit()
    h = {"authorization": f"Bearer {token}"}
    assert client.get(f"/api/cases/{ca.id}", headers=h).status_code == 200
    assert client.get(f"/api/cases/{cb.id}", headers=h).status_code == 404
    assert client.get("/api/cases", headers={"authorization": "Bearer nope"}).status_code == 401


def test_csrf_required_for_session_posts(client, db):  # type: ignore[no-untyped-def]
    _world(db)
    b.user(db, Role.BUREAU_ADMIN, region_code="990100", username="boss")
    db.commit()
    _login(client, "boss")
    body = {"username": "newbie", "password": "Longenough1", "role": "bureau_analyst"}
    assert client.post("/api/users", json=body).status_code == 403  # no CSRF header
    page = client.get("/", headers={"accept": "text/html"})
    token = re.search(r'"X-CSRF-Token": "([^"]+)"', page.text).group(1)
    r = client.post("/api/users", json=body, headers={"x-csrf-token": token})
    assert r.status_code == 201, r.text
    # the creation is in the audit log, in the same transaction
    db.expire_all()
    row = db.scalar(
        select(AuditLog).where(AuditLog.action == "user.create", AuditLog.actor_name == "boss")
    )
    assert row is not None and row.after["username"] == "newbie"
