"""互动交流 through HTTP and the pages (issue 15 item 4): a bureau's notice reaches the
hospitals it names (unread, then read), a hospital's thread about its settlement list
reaches the bureau and the reply comes back; deadlines show on the home page; other
hospitals see nothing of it; bad input is refused in Chinese and stores nothing
(SQLite, or PostgreSQL with YIBAO_TEST_DATABASE_URL)."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from sqlalchemy import select

from tests.builders.settlement import approved_list
from tests.e2e.test_http_scoping import _login
from yibao.accounts.models import User
from yibao.db.scoping import SYSTEM_SCOPE, set_scope
from yibao.demo.seed import DEMO_PASSWORD, seed_demo
from yibao.kit.timeutil import local, utcnow
from yibao.messages.models import MessageThread
from yibao.regions.models import Hospital

HTML = {"accept": "text/html"}


@pytest.fixture()
def world(client, db):  # type: ignore[no-untyped-def]
    set_scope(db, SYSTEM_SCOPE)
    seed_demo(db, seed=17, years=[2025], cases_per_year=50)
    db.commit()
    return client


def _as(client, user: str):  # type: ignore[no-untyped-def]
    client.cookies.clear()
    client.headers.pop("x-csrf-token", None)
    _login(client, user, DEMO_PASSWORD)
    page = client.get("/", headers=HTML)
    client.headers["x-csrf-token"] = re.search(r'"X-CSRF-Token": "([^"]+)"', page.text).group(1)
    return client


def _code(db, username: str) -> str:  # type: ignore[no-untyped-def]
    user = db.scalar(select(User).where(User.username == username))
    return db.get(Hospital, user.hospital_id).code


def test_notice_thread_reply_and_unread(world, db) -> None:  # type: ignore[no-untyped-def]
    h1, h2 = _code(db, "hosp01"), _code(db, "hosp02")
    client = _as(world, "reviewer")
    due = (local(utcnow()).date() + timedelta(days=3)).isoformat()
    bad = client.post("/api/messages/notices", json={"subject": "", "body": "x"})
    assert bad.status_code == 422 and "标题" in bad.json()["error"]["message"]
    bad = client.post(
        "/api/messages/notices", json={"subject": "s", "body": "x", "audience": ["H000000000"]}
    )
    assert bad.status_code == 422 and "不是本辖区的医疗机构" in bad.json()["error"]["message"]
    assert db.query(MessageThread).count() == 0
    r = client.post(
        "/api/messages/notices",
        json={"subject": "11 月结算清单报送提醒", "body": "请于截止日前报送。", "audience": [h1],
              "deadline": due},
    )  # fmt: skip
    assert r.status_code == 201, r.text
    notice = r.json()["id"]
    assert client.get("/api/messages").json()["unread"] == 0  # one's own message is read

    client = _as(world, "hosp01")
    mine = client.get("/api/messages").json()
    assert mine["unread"] == 1 and mine["items"][0]["id"] == notice
    home = client.get("/", headers=HTML).text
    assert 'data-testid="home-unread"' in home and "未读消息 1 条" in home
    assert "11 月结算清单报送提醒" in home and f"截止 {due}" in home
    assert client.post(f"/api/messages/{notice}/replies", json={"body": "收到"}).status_code == 403
    shown = client.get(f"/api/messages/{notice}").json()
    assert shown["messages"][0]["body"] == "请于截止日前报送。"
    assert client.get("/api/messages").json()["unread"] == 0
    set_scope(db, SYSTEM_SCOPE)
    lst = approved_list(db, db.scalar(select(Hospital).where(Hospital.code == h1))).id
    db.commit()
    r = client.post(
        "/api/messages/threads",
        json={
            "subject": "关于清单的疑问",
            "body": "诊断编码如何填写？",
            "about_kind": "settlement_list",
            "about_id": lst,
        },
    )
    assert r.status_code == 201, r.text
    thread = r.json()["id"]
    assert r.json()["hospital_code"] == h1 and r.json()["about_id"] == lst

    client = _as(world, "hosp02")
    other = client.get("/api/messages").json()
    assert other["items"] == [] and client.get(f"/api/messages/{thread}").status_code == 404
    assert client.get(f"/api/messages/{notice}").status_code == 404  # not addressed to h2
    r = client.post(
        "/api/messages/threads",
        json={"subject": "x", "body": "y", "about_kind": "settlement_list", "about_id": lst},
    )
    assert r.status_code == 404  # another hospital's list

    client = _as(world, "reviewer")
    assert client.get("/api/messages").json()["unread"] == 1
    page = client.get(f"/messages/{thread}", headers=HTML).text
    assert "诊断编码如何填写？" in page and 'data-testid="reply-form"' in page
    r = client.post(f"/api/messages/{thread}/replies", json={"body": "按医保版 ICD-10 填写。"})
    assert r.status_code == 201 and r.json()["side"] == "bureau"

    client = _as(world, "hosp01")
    assert client.get("/api/messages").json()["unread"] == 1
    page = client.get("/messages", headers=HTML).text
    assert page.count('data-testid="msg-unread-badge"') == 1
    thread_page = client.get(f"/messages/{thread}", headers=HTML).text
    assert thread_page.count('data-testid="msg-message"') == 2
    assert client.get("/api/messages").json()["unread"] == 0
    assert h2 != h1


def test_notice_to_everyone_and_the_form(world, db) -> None:  # type: ignore[no-untyped-def]
    client = _as(world, "reviewer")
    page = client.get("/messages", headers=HTML).text
    token = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)
    r = client.post(
        "/messages/notices",
        data={
            "csrf_token": token,
            "subject": "全市通知",
            "body": "各医疗机构注意。",
            "deadline": "2020-01-01",
        },
        headers=HTML,
    )
    assert r.status_code == 422 and "已过" in r.text
    # what was typed comes back in the notice form only, not in the thread form
    thread = r.text[r.text.index('data-testid="thread-form"') :]
    assert 'value="全市通知"' in r.text and "全市通知" not in thread
    r = client.post(
        "/messages/notices",
        data={"csrf_token": token, "subject": "全市通知", "body": "各医疗机构注意。"},
        headers=HTML,
        follow_redirects=False,
    )
    assert r.status_code == 303
    for user in ("hosp01", "hosp02"):
        client = _as(world, user)
        assert client.get("/api/messages").json()["unread"] == 1
