"""Sessions, lock-out, limits and smaller holes (issue 9 items 4, 8, 9, 11), over HTTP on
SQLite and PostgreSQL.  Parallel log-in attempts go to a real server process."""

from __future__ import annotations

import io
import statistics
import time
import zipfile
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta

import httpx
import pytest
from argon2 import PasswordHasher
from fastapi.testclient import TestClient
from sqlalchemy import select, update

from tests import builders as b
from tests.builders.settlement import demo_world, login
from tests.e2e.server import live_server
from yibao.accounts.models import User, WebSession
from yibao.accounts.roles import Role
from yibao.accounts.tokens import do_create_api_token
from yibao.api.app import create_app
from yibao.db.scoping import SYSTEM_SCOPE, set_scope
from yibao.demo.seed import DEMO_PASSWORD
from yibao.kit.timeutil import utcnow

HTML = {"accept": "text/html"}


def _app_client(settings, **changes) -> TestClient:  # type: ignore[no-untyped-def]
    return TestClient(create_app(settings.model_copy(update=changes)))


def _form_login(http: httpx.Client, username: str, password: str) -> httpx.Response:
    page = http.get("/login")
    token = page.text.split('name="csrf_token" value="', 1)[1].split('"', 1)[0]
    return http.post(
        "/login",
        data={"username": username, "password": password, "csrf_token": token},
        follow_redirects=False,
    )


# ------------------------------------------------------------------ item 4: lock-out


@pytest.fixture()
def clerk(db):  # type: ignore[no-untyped-def]
    b.region(db, "990100")
    b.user(db, Role.BUREAU_REVIEWER, region_code="990100", username="clerk")
    db.commit()
    return "clerk"


def _parallel_logins(base: str, attempts: list[str]) -> list[int]:
    def attempt(password: str) -> int:
        with httpx.Client(base_url=base, timeout=60) as http:
            return _form_login(http, "clerk", password).status_code

    with ThreadPoolExecutor(len(attempts)) as pool:
        return list(pool.map(attempt, attempts))


def test_lockout_holds_in_parallel(clerk, db, database_url, tmp_path):  # type: ignore[no-untyped-def]
    with live_server(database_url, tmp_path / "var") as server:
        statuses = _parallel_logins(server.base, ["wrong-password"] * 30)
        assert set(statuses) == {401}
        db.expire_all()
        user = db.scalar(select(User).where(User.username == "clerk"))
        assert user.failed_logins == 5 and user.locked_until is not None
        # locked: even the right password is refused, with the same message
        with httpx.Client(base_url=server.base, timeout=30) as http:
            r = _form_login(http, "clerk", b.PASSWORD)
        assert r.status_code == 401 and "用户名或密码错误" in r.text


def test_right_password_among_wrong_ones_in_parallel_is_refused(clerk, db, database_url, tmp_path):  # type: ignore[no-untyped-def]
    with live_server(database_url, tmp_path / "var") as server:
        statuses = _parallel_logins(server.base, ["wrong-password"] * 19 + [b.PASSWORD])
    assert statuses == [401] * 20, statuses
    db.expire_all()
    user = db.scalar(select(User).where(User.username == "clerk"))
    assert user.locked_until is not None and user.last_login_at is None


def test_unknown_and_known_users_answer_alike(clerk, db, database_url, tmp_path):  # type: ignore[no-untyped-def]
    """Same message, same time (real argon2 cost): no enumeration of usernames."""
    real_cost = PasswordHasher(time_cost=3, memory_cost=65536, parallelism=4)
    db.execute(
        update(User).where(User.username == "clerk").values(password_hash=real_cost.hash("x" * 12))
    )
    db.commit()
    costly = {
        "YIBAO_ARGON2_TIME_COST": "3",
        "YIBAO_ARGON2_MEMORY_KIB": "65536",
        "YIBAO_ARGON2_PARALLELISM": "4",
        "YIBAO_LOGIN_MAX_FAILURES": "1000",
    }
    with live_server(database_url, tmp_path / "var", env=costly) as server:
        times: dict[str, list[float]] = {"clerk": [], "nobody-here": []}
        texts: dict[str, set[str]] = {"clerk": set(), "nobody-here": set()}
        with httpx.Client(base_url=server.base, timeout=60) as http:
            for _ in range(6):
                for name in times:
                    page = http.get("/login")
                    token = page.text.split('name="csrf_token" value="', 1)[1].split('"', 1)[0]
                    started = time.perf_counter()
                    r = http.post(
                        "/login",
                        data={"username": name, "password": "wrong!", "csrf_token": token},
                    )
                    times[name].append(time.perf_counter() - started)
                    assert r.status_code == 401
                    texts[name].add(r.text.split('data-testid="login-error">', 1)[1][:80])
    assert texts["clerk"] == texts["nobody-here"]
    ratio = statistics.median(times["nobody-here"]) / statistics.median(times["clerk"])
    assert 0.6 < ratio < 1.7, times


# ------------------------------------------------------------------ item 9: sessions


def test_logout_ends_the_session_for_a_copied_cookie(client, db, clerk):  # type: ignore[no-untyped-def]
    login(client, "clerk", b.PASSWORD)
    copied = dict(client.cookies)
    assert client.get("/api/me").status_code == 200
    client.post("/logout")
    thief = TestClient(client.app, cookies=copied)
    assert thief.get("/api/me").status_code == 401
    r = thief.get("/", headers=HTML, follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"].startswith("/login")


def test_password_change_ends_other_sessions(client, db, clerk):  # type: ignore[no-untyped-def]
    login(client, "clerk", b.PASSWORD)
    other = TestClient(client.app)
    login(other, "clerk", b.PASSWORD)
    r = client.post(
        "/account/password",
        data={"current": b.PASSWORD, "new": "N3w-passw0rd!", "confirm": "N3w-passw0rd!"},
        headers=HTML,
    )
    assert r.status_code == 200 and "密码已修改" in r.text
    assert client.get("/api/me").status_code == 200  # the session that changed it stays
    assert other.get("/api/me").status_code == 401
    fresh = TestClient(client.app)
    with pytest.raises(AssertionError):
        login(fresh, "clerk", b.PASSWORD)
    login(fresh, "clerk", "N3w-passw0rd!")


def test_idle_session_ends(client, db, clerk):  # type: ignore[no-untyped-def]
    login(client, "clerk", b.PASSWORD)
    assert client.get("/api/me").status_code == 200
    idle = client.app.state.settings.session_idle_timeout_s
    db.execute(update(WebSession).values(last_seen_at=utcnow() - timedelta(seconds=idle + 5)))
    db.commit()
    assert client.get("/api/me").status_code == 401


def test_cookie_is_secure_over_https_and_headers_are_set(settings, db, clerk):  # type: ignore[no-untyped-def]
    app = create_app(settings)
    with TestClient(app, base_url="https://testserver") as https:
        page = https.get("/login")
        assert "secure" in page.headers["set-cookie"].lower()
        assert page.headers["strict-transport-security"].startswith("max-age=")
    with TestClient(app) as plain:
        page = plain.get("/login")
        assert "secure" not in page.headers["set-cookie"].lower()
        csp = page.headers["content-security-policy"]
        assert "script-src 'self'" in csp and "frame-ancestors 'none'" in csp
        assert page.headers["x-frame-options"] == "DENY"
        assert page.headers["x-content-type-options"] == "nosniff"
        assert page.headers["referrer-policy"] == "same-origin"
        api = plain.get("/api/me")
        assert api.headers["x-content-type-options"] == "nosniff"
        # the pages carry no inline script for the policy to block
        assert "<script>" not in page.text and "onclick=" not in page.text


# ------------------------------------------------------------------ item 8: limits


def test_body_limits(settings, db, clerk):  # type: ignore[no-untyped-def]
    with _app_client(settings, max_body_bytes=1024 * 1024) as http:
        login(http, "clerk", b.PASSWORD)
        big = b"[" + b'"x",' * 300_000 + b'"x"]'
        r = http.post(
            "/api/settlement/lists", content=big, headers={"content-type": "application/json"}
        )
        assert r.status_code == 413 and "请求体过大" in r.json()["error"]["message"]

        def chunks():  # no Content-Length: refused while streaming
            for _ in range(40):
                yield b" " * 65536

        r = http.post(
            "/api/settlement/lists", content=chunks(), headers={"content-type": "application/json"}
        )
        assert r.status_code == 413


def _zip_bomb(unpacked_mb: int) -> bytes:
    """A .xlsx-shaped zip whose sheet unpacks to ``unpacked_mb`` MB of spaces."""
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("[Content_Types].xml", "<Types/>")
        with zf.open("xl/worksheets/sheet1.xml", "w", force_zip64=True) as sheet:
            block = b" " * (1024 * 1024)
            for _ in range(unpacked_mb):
                sheet.write(block)
    return buf.getvalue()


def test_xlsx_zip_bomb_is_refused_before_unpacking(settings, db):  # type: ignore[no-untyped-def]
    codes = demo_world(db)
    bomb = _zip_bomb(64)
    assert len(bomb) < 200_000
    with _app_client(settings, max_unzipped_bytes=16 * 1024 * 1024) as http:
        login(http, "hosp01", DEMO_PASSWORD)
        started = time.monotonic()
        files = {"file": ("lists.xlsx", bomb, "application/octet-stream")}
        r = http.post("/api/settlement/lists/upload", files=files)
        assert r.status_code == 422 and "解压后超过" in r.json()["error"]["message"], r.text
        page = http.post("/settlement/lists/upload", files=files, headers=HTML)
        assert page.status_code == 422 and "解压后超过" in page.text
        login(http, "analyst", DEMO_PASSWORD)
        files = {"file": ("cases.xlsx", bomb, "application/octet-stream")}
        r = http.post("/api/grouping/batch", files=files)
        assert r.status_code == 422 and "解压后超过" in r.json()["error"]["message"], r.text
        assert time.monotonic() - started < 10
    assert codes  # the demo world was there


def test_token_rate_limit(settings, db):  # type: ignore[no-untyped-def]
    demo_world(db)
    set_scope(db, SYSTEM_SCOPE)
    his = db.scalar(select(User).where(User.username == "his01"))
    token = do_create_api_token(db, his, "t", actor=b.TEST_ACTOR)
    db.commit()
    with _app_client(settings, token_rate_per_minute=5) as http:
        auth = {"Authorization": f"Bearer {token}"}
        statuses = [http.get("/api/settlement/lists", headers=auth).status_code for _ in range(7)]
        assert statuses[:5] == [200] * 5 and statuses[5:] == [429, 429]
        r = http.get("/api/settlement/lists", headers=auth)
        assert int(r.headers["retry-after"]) >= 1 and "请求过于频繁" in r.json()["error"]["message"]


# ------------------------------------------------------------------ item 11: small holes


def test_api_token_does_not_open_pages(client, db):  # type: ignore[no-untyped-def]
    demo_world(db)
    set_scope(db, SYSTEM_SCOPE)
    his = db.scalar(select(User).where(User.username == "his01"))
    token = do_create_api_token(db, his, "t", actor=b.TEST_ACTOR)
    db.commit()
    auth = {"Authorization": f"Bearer {token}"}
    assert client.get("/api/me", headers=auth).status_code == 200
    r = client.get("/settlement/lists", headers=auth)
    assert r.status_code == 401 and "接口令牌只能用于" in r.text
    r = client.post("/settlement/lists/upload", headers=auth, files={"file": ("a.json", b"[]")})
    assert r.status_code in (401, 403)


def test_confirming_a_future_or_current_month_is_refused(client, db):  # type: ignore[no-untyped-def]
    b.region(db, "990100")
    b.user(db, Role.BUREAU_REVIEWER, region_code="990100", username="rev")
    db.commit()
    login(client, "rev", b.PASSWORD)
    today = utcnow().date()
    for month in (f"{today:%Y-%m}", f"{today.year + 1}-01"):
        r = client.post(f"/api/settlement/periods/{month}/confirm", json={})
        assert r.status_code == 422 and "尚未结束" in r.json()["error"]["message"], r.text
    periods = client.get("/api/settlement/periods").json()["items"]
    assert all(p["status"] != "closed" for p in periods)


def test_demo_accounts_have_their_own_salt(db):  # type: ignore[no-untyped-def]
    demo_world(db)
    set_scope(db, SYSTEM_SCOPE)
    hashes = db.scalars(select(User.password_hash)).all()
    assert len(hashes) > 10 and len(set(hashes)) == len(hashes)
