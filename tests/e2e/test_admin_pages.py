"""Bureau admin pages: create a user through the form, see it in the audit log."""

from __future__ import annotations

import re

from sqlalchemy import select

from tests import builders as b
from tests.e2e.test_http_scoping import _login
from yibao.accounts.models import User
from yibao.accounts.roles import Role

HTML = {"accept": "text/html"}


def _csrf(page: str) -> str:
    return re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)


def test_admin_creates_user_and_sees_audit(client, db):  # type: ignore[no-untyped-def]
    h = b.hospital(db, "990102", name="甲医院")
    b.user(db, Role.BUREAU_ADMIN, region_code="990100", username="boss")
    db.commit()
    _login(client, "boss")
    page = client.get("/admin/users", headers=HTML)
    assert page.status_code == 200 and "boss" in page.text
    form = {
        "csrf_token": _csrf(page.text),
        "username": "clerk",
        "display_name": "甲医院医保办张三",
        "password": "Longpassw0rd",
        "role": "hospital_user",
        "region_code": "990100",
        "hospital_code": h.code,
    }
    r = client.post("/admin/users", data=form, headers=HTML, follow_redirects=False)
    assert r.status_code == 303, r.text
    db.expire_all()
    clerk = db.scalar(select(User).where(User.username == "clerk"))
    assert clerk is not None and clerk.hospital_id == h.id and clerk.region_code is None
    audit = client.get("/admin/audit", headers=HTML)
    assert "user.create" in audit.text and "甲医院医保办张三" in audit.text


def test_admin_form_errors_are_specific_and_store_nothing(client, db):  # type: ignore[no-untyped-def]
    b.hospital(db, "990102")
    b.user(db, Role.BUREAU_ADMIN, region_code="990100", username="boss")
    db.commit()
    _login(client, "boss")
    token = _csrf(client.get("/admin/users", headers=HTML).text)
    base = {"csrf_token": token, "display_name": "", "region_code": "990100", "hospital_code": ""}
    short = client.post(
        "/admin/users",
        data={**base, "username": "newbie", "password": "short", "role": "bureau_analyst"},
        headers=HTML,
    )
    assert short.status_code == 422 and "密码至少8位" in short.text
    outside = client.post(
        "/admin/users",
        data={
            **base,
            "username": "newbie",
            "password": "Longpassw0rd",
            "role": "bureau_analyst",
            "region_code": "980100",
        },
        headers=HTML,
    )
    assert outside.status_code == 403 and "辖区外" in outside.text
    no_csrf = client.post(
        "/admin/users",
        data={
            **base,
            "csrf_token": "forged",
            "username": "x1",
            "password": "Longpassw0rd",
            "role": "bureau_analyst",
        },
        headers=HTML,
    )
    assert no_csrf.status_code == 403
    db.expire_all()
    assert db.scalar(select(User).where(User.username.in_(["newbie", "x1"]))) is None
