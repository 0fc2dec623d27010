"""Administration a bureau needs (issue 10.11): disable and re-enable users, reset
passwords, change roles, issue and revoke HIS API tokens — each with a reason, an audit
row, within the admin's region and rank, on SQLite and PostgreSQL."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import select

from tests import builders as b
from tests.builders import PASSWORD
from tests.builders.settlement import login
from yibao.accounts.models import User
from yibao.accounts.roles import Role
from yibao.audit.models import AuditLog
from yibao.db.scoping import SYSTEM_SCOPE, set_scope

HTML = {"accept": "text/html"}


@pytest.fixture()
def bureau(client, db):  # type: ignore[no-untyped-def]
    set_scope(db, SYSTEM_SCOPE)
    h = b.hospital(db, "990102", level="3")
    other = b.hospital(db, "990201", level="2")
    b.region(db, "990103")
    ids = {
        "admin": b.user(db, Role.BUREAU_ADMIN, region_code="990100", username="admin"),
        "district": b.user(db, Role.BUREAU_ADMIN, region_code="990103", username="district"),
        "analyst": b.user(db, Role.BUREAU_ANALYST, region_code="990100", username="analyst"),
        "reviewer": b.user(db, Role.BUREAU_REVIEWER, region_code="990102", username="reviewer"),
        "hosp": b.user(db, Role.HOSPITAL_USER, hospital=h, username="hosp"),
        "his": b.user(db, Role.HIS_CLIENT, hospital=h, username="his"),
        "far": b.user(db, Role.HOSPITAL_USER, hospital=other, username="far"),
    }
    db.commit()
    return client, {k: u.id for k, u in ids.items()}


def _can_login(client, username: str, password: str = PASSWORD) -> bool:  # type: ignore[no-untyped-def]
    client.cookies.clear()
    page = client.get("/login")
    token = re.search(r'name="csrf_token" value="([^"]+)"', page.text)
    assert token
    r = client.post(
        "/login",
        data={"username": username, "password": password, "csrf_token": token.group(1)},
        follow_redirects=False,
    )
    return r.status_code == 303


def _audit(db, action: str) -> list[AuditLog]:  # type: ignore[no-untyped-def]
    db.expire_all()
    set_scope(db, SYSTEM_SCOPE)
    return list(db.scalars(select(AuditLog).where(AuditLog.action == action)))


def test_disable_ends_sessions_and_enable_restores(bureau, db):  # type: ignore[no-untyped-def]
    client, ids = bureau
    from fastapi.testclient import TestClient

    with TestClient(client.app) as reviewer:
        login(reviewer, "reviewer")
        assert reviewer.get("/api/me").status_code == 200
        login(client, "admin")
        r = client.post(f"/api/users/{ids['reviewer']}/disable", json={"reason": ""})
        assert r.status_code == 422 and "原因" in r.json()["error"]["message"]
        r = client.post(f"/api/users/{ids['reviewer']}/disable", json={"reason": "调离岗位"})
        assert r.status_code == 200 and r.json()["is_active"] is False
        assert reviewer.get("/api/me").status_code == 401  # the open session ended
    assert not _can_login(client, "reviewer")
    [row] = _audit(db, "user.disable")
    assert row.after["reason"] == "调离岗位" and row.after["sessions_ended"] == 1
    login(client, "admin")
    r = client.post(f"/api/users/{ids['reviewer']}/disable", json={"reason": "再次"})
    assert r.status_code == 409
    r = client.post(f"/api/users/{ids['reviewer']}/enable", json={"reason": "返岗"})
    assert r.status_code == 200 and r.json()["is_active"] is True
    assert _can_login(client, "reviewer")


def test_reset_password_and_change_role(bureau, db):  # type: ignore[no-untyped-def]
    client, ids = bureau
    login(client, "admin")
    r = client.post(
        f"/api/users/{ids['analyst']}/password", json={"password": "short", "reason": "遗忘"}
    )
    assert r.status_code == 422 and "至少" in r.json()["error"]["message"]
    r = client.post(
        f"/api/users/{ids['analyst']}/password",
        json={"password": "N3w-Passw0rd", "reason": "本人遗忘密码"},
    )
    assert r.status_code == 200
    assert not _can_login(client, "analyst") and _can_login(client, "analyst", "N3w-Passw0rd")
    [row] = _audit(db, "user.password_reset")
    assert "N3w-Passw0rd" not in str(row.after) and row.after["reason"] == "本人遗忘密码"

    login(client, "admin")
    r = client.post(
        f"/api/users/{ids['analyst']}/role", json={"role": "bureau_reviewer", "reason": "调岗"}
    )
    assert r.status_code == 200 and r.json()["role_name"] == Role.BUREAU_REVIEWER.label
    login(client, "analyst", "N3w-Passw0rd")
    assert client.get("/api/settlement/review").status_code == 200  # the new role's rights
    login(client, "admin")
    r = client.post(
        f"/api/users/{ids['analyst']}/role", json={"role": "hospital_user", "reason": "x"}
    )
    assert r.status_code == 422 and "不能互改" in r.json()["error"]["message"]
    r = client.post(f"/api/users/{ids['hosp']}/role", json={"role": "his_client", "reason": "x"})
    assert r.status_code == 200
    [*_rows] = _audit(db, "user.role_change")
    assert [x.after["role"] for x in _rows] == ["bureau_reviewer", "his_client"]


def test_scope_rank_and_self(bureau, db):  # type: ignore[no-untyped-def]
    client, ids = bureau
    login(client, "district")  # 990103: the city's analyst and a 990102 reviewer are not its own
    for who in ("analyst", "reviewer", "admin", "far"):
        r = client.post(f"/api/users/{ids[who]}/disable", json={"reason": "x"})
        assert r.status_code == 404, (who, r.text)
    login(client, "admin")
    r = client.post(f"/api/users/{ids['admin']}/disable", json={"reason": "x"})
    assert r.status_code == 403
    assert client.post(f"/api/users/{ids['far']}/disable", json={"reason": "x"}).status_code == 404
    login(client, "analyst")
    assert client.post(f"/api/users/{ids['hosp']}/disable", json={"reason": "x"}).status_code == 403
    set_scope(db, SYSTEM_SCOPE)
    db.expire_all()
    assert all(u.is_active for u in db.scalars(select(User)))


def test_tokens_are_issued_once_and_revoked(bureau, db):  # type: ignore[no-untyped-def]
    client, ids = bureau
    login(client, "admin")
    r = client.post(f"/api/users/{ids['hosp']}/tokens", json={"name": "厂商A"})
    assert r.status_code == 422
    r = client.post(f"/api/users/{ids['his']}/tokens", json={"name": "厂商A HIS"})
    assert r.status_code == 201
    plain = r.json()["token"]
    listed = client.get(f"/api/users/{ids['his']}/tokens").json()
    assert [t["prefix"] for t in listed] == [plain[:12]] and plain not in str(listed)
    client.cookies.clear()
    bearer = {"authorization": f"Bearer {plain}"}
    assert client.get("/api/settlement/lists", headers=bearer).status_code == 200
    login(client, "admin")
    r = client.delete(f"/api/users/{ids['his']}/tokens/{listed[0]['id']}")
    assert r.status_code == 204
    client.cookies.clear()
    assert client.get("/api/settlement/lists", headers=bearer).status_code == 401
    assert len(_audit(db, "api_token.create")) == 1 and len(_audit(db, "api_token.revoke")) == 1


def test_user_page_actions(bureau, db):  # type: ignore[no-untyped-def]
    client, ids = bureau
    login(client, "admin")
    listing = client.get("/admin/users", headers=HTML)
    assert f'href="/admin/users/{ids["his"]}"' in listing.text
    page = client.get(f"/admin/users/{ids['his']}", headers=HTML)
    assert page.status_code == 200 and 'data-testid="token-form"' in page.text
    csrf = client.headers["x-csrf-token"]
    r = client.post(
        f"/admin/users/{ids['his']}/token",
        data={"csrf_token": csrf, "name": "厂商B"},
        headers=HTML,
    )
    assert r.status_code == 200 and 'data-testid="token-plain"' in r.text
    r = client.post(
        f"/admin/users/{ids['his']}/disable",
        data={"csrf_token": csrf, "reason": ""},
        headers=HTML,
    )
    assert r.status_code == 422 and 'data-testid="form-error"' in r.text
    r = client.post(
        f"/admin/users/{ids['his']}/disable",
        data={"csrf_token": csrf, "reason": "厂商合同到期"},
        headers=HTML,
        follow_redirects=False,
    )
    assert r.status_code == 303
    page = client.get(r.headers["location"], headers=HTML)
    assert "已停用" in page.text and 'data-testid="user-done"' in page.text
