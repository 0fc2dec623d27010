"""Accounts as a user walk of the web UI found them (issue: accounts fixes): the
password rule on every path that sets a password, over HTTP; nothing is stored when
a rule refuses."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import func, select

from tests import builders as b
from tests.builders.settlement import login
from yibao.accounts.models import User
from yibao.accounts.roles import Role
from yibao.db.scoping import SYSTEM_SCOPE, set_scope

HTML = {"accept": "text/html"}


@pytest.fixture()
def bureau(client, db):  # type: ignore[no-untyped-def]
    set_scope(db, SYSTEM_SCOPE)
    b.hospital(db, "990102")
    b.user(db, Role.BUREAU_ADMIN, region_code="990100", username="admin")
    analyst = b.user(db, Role.BUREAU_ANALYST, region_code="990100", username="analyst")
    db.commit()
    login(client, "admin")
    return client, analyst.id


def _users(db) -> int:  # type: ignore[no-untyped-def]
    db.expire_all()
    set_scope(db, SYSTEM_SCOPE)
    return db.scalar(select(func.count()).select_from(User)) or 0


def _form(client, path: str, **data: str):  # type: ignore[no-untyped-def]
    page = client.get("/admin/users" if path.startswith("/admin") else path, headers=HTML)
    token = re.search(r'name="csrf_token" value="([^"]+)"', page.text)
    assert token, page.text[:300]
    return client.post(path, data={"csrf_token": token.group(1), **data}, headers=HTML)


def _can_login(client, username: str, password: str) -> bool:  # type: ignore[no-untyped-def]
    try:
        login(client, username, password)
    except AssertionError:
        return False
    return True


def test_the_new_user_form_refuses_a_weak_password(bureau, db):  # type: ignore[no-untyped-def]
    client, _ = bureau
    before = _users(db)
    new = {"username": "newbie", "display_name": "", "role": "bureau_analyst",
           "region_code": "990100", "hospital_code": ""}  # fmt: skip
    r = _form(client, "/admin/users", password="aaaaaaaa", **new)
    assert r.status_code == 422, r.text[:300]
    assert "密码须包含大写字母、小写字母、数字、符号中的至少 3 类" in r.text
    r = _form(client, "/admin/users", password="Newbie", **new)
    assert r.status_code == 422 and "密码至少8位" in r.text
    assert _users(db) == before
    assert "含大小写字母、数字、符号中的 3 类" in client.get("/admin/users", headers=HTML).text


def test_the_api_refuses_a_weak_or_username_password(bureau, db):  # type: ignore[no-untyped-def]
    client, _ = bureau
    before = _users(db)
    body = {"username": "newbie", "password": "aaaaaaaa", "role": "bureau_analyst"}
    r = client.post("/api/users", json=body)
    assert r.status_code == 422, r.text
    error = r.json()["error"]
    assert error["field"] == "password" and "密码" in error["message"]
    r = client.post(
        "/api/users", json={**body, "password": "NEWBIE.2026", "username": "newbie.2026"}
    )
    assert r.status_code == 422 and "不能与用户名相同" in r.json()["error"]["message"]
    assert _users(db) == before
    r = client.post("/api/users", json={**body, "password": "Newbie.2026"})
    assert r.status_code == 201, r.text


def test_a_reset_keeps_the_rule(bureau, db):  # type: ignore[no-untyped-def]
    client, analyst = bureau
    r = client.post(
        f"/api/users/{analyst}/password", json={"password": "aaaaaaaa", "reason": "遗忘"}
    )
    assert r.status_code == 422 and r.json()["error"]["field"] == "password"
    r = _form(client, f"/admin/users/{analyst}/password", password="12345678", reason="遗忘")
    assert r.status_code == 422 and "密码须包含" in r.text
    assert _can_login(client, "analyst", b.PASSWORD)  # the old password still opens


def test_the_users_own_change_keeps_the_rule(bureau, db):  # type: ignore[no-untyped-def]
    client, _ = bureau
    login(client, "analyst")
    r = _form(client, "/account/password", current=b.PASSWORD, new="aaaaaaaa", confirm="aaaaaaaa")
    assert r.status_code == 422 and "新密码须包含" in r.text
    r = _form(client, "/account/password", current=b.PASSWORD, new="Analyst", confirm="Analyst")
    assert r.status_code == 422 and "新密码至少8位" in r.text
    assert _can_login(client, "analyst", b.PASSWORD)
    assert not _can_login(client, "analyst", "aaaaaaaa")


# ------------------------------------------------- usernames ignore case (ADR 0046)


def test_a_username_in_another_case_is_refused(bureau, db):  # type: ignore[no-untyped-def]
    """The walk created ``ADMIN`` beside ``admin``: two look-alike 医保局管理员."""
    client, _ = bureau
    before = _users(db)
    new = {"display_name": "", "password": "Twin@2026x", "role": "bureau_admin",
           "region_code": "990100", "hospital_code": ""}  # fmt: skip
    r = _form(client, "/admin/users", username="ADMIN", **new)
    assert r.status_code == 409, r.text[:300]
    assert "用户名 ADMIN 已被占用：已有用户 admin，用户名不区分大小写" in r.text
    r = client.post("/api/users", json={"username": "Analyst", "password": "Twin@2026x",
                                        "role": "bureau_analyst"})  # fmt: skip
    assert r.status_code == 409 and r.json()["error"]["field"] == "username"
    assert "已有用户 analyst" in r.json()["error"]["message"]
    assert _users(db) == before


def test_a_login_matches_the_username_in_any_case(bureau, db):  # type: ignore[no-untyped-def]
    client, _ = bureau
    login(client, "ADMIN")
    assert client.get("/api/me").json()["username"] == "admin"
    login(client, "Analyst")
    assert client.get("/api/me").json()["username"] == "analyst"


# ------------------------------------------------- the new user's role is chosen


def _role_options(html: str) -> list[str]:
    select = html.split('id="u-role"', 1)[1].split("</select>", 1)[0]
    return re.findall(r"<option [^>]*>", select)


def test_the_new_user_form_has_no_role_until_one_is_chosen(bureau, db):  # type: ignore[no-untyped-def]
    """The form defaulted to 医保局管理员, the most powerful role: now nothing is
    chosen, the browser asks for one, and a form sent without one is refused."""
    client, _ = bureau
    page = client.get("/admin/users", headers=HTML).text
    assert 'name="role" required' in page
    options = _role_options(page)
    assert options[0] == '<option value="" disabled selected>'
    assert not [o for o in options[1:] if "selected" in o], options
    before = _users(db)
    new = {"username": "newbie", "display_name": "", "password": "Newbie.2026",
           "region_code": "990100", "hospital_code": ""}  # fmt: skip
    r = _form(client, "/admin/users", **new)  # no role at all (the placeholder is not sent)
    assert r.status_code == 422 and "角色：请选择新用户的角色" in r.text
    assert _users(db) == before
    r = _form(client, "/admin/users", role="bureau_analyst", **{**new, "password": "aaaaaaaa"})
    assert r.status_code == 422  # a refused form keeps the role that was chosen
    assert '<option value="bureau_analyst" selected>' in r.text
    assert _role_options(r.text)[0] == '<option value="" disabled >'
