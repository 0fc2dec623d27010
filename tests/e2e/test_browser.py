"""Browser tests: Playwright drives Debian's chromium against a live server."""

from __future__ import annotations

import os
import shutil
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import uvicorn

from tests import builders as b
from yibao.accounts.roles import Role

pytestmark = pytest.mark.browser

CHROMIUM = os.environ.get("YIBAO_CHROMIUM") or shutil.which("chromium") or "/usr/bin/chromium"
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-results"


def _require_browser() -> None:
    if not Path(CHROMIUM).exists():
        pytest.skip(
            f"浏览器测试已跳过：未找到 Debian chromium（{CHROMIUM}）。"
            "安装：apt-get install chromium / browser tests skipped: chromium not installed"
        )
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        pytest.skip("浏览器测试已跳过：未安装 playwright / playwright not installed")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture()
def live_server(settings, db) -> Iterator[str]:  # type: ignore[no-untyped-def]
    _require_browser()
    from yibao.api.app import create_app

    port = _free_port()
    server = uvicorn.Server(
        uvicorn.Config(create_app(settings), host="127.0.0.1", port=port, log_level="warning")
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            raise RuntimeError("测试服务器未能启动 / live server did not start")
        time.sleep(0.05)
    yield f"http://127.0.0.1:{port}"
    server.should_exit = True
    thread.join(timeout=10)


@pytest.fixture()
def page(live_server):  # type: ignore[no-untyped-def]
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        browser = pw.chromium.launch(
            executable_path=CHROMIUM,
            headless=True,
            args=[
                "--no-sandbox",
                "--disable-gpu",
                "--disable-quic",
                "--no-first-run",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
            ],
        )
        ctx = browser.new_context(locale="zh-CN", viewport={"width": 1400, "height": 900})
        pg = ctx.new_page()
        pg.set_default_timeout(15_000)
        yield pg
        ctx.close()
        browser.close()


def _login(page, base: str, username: str) -> None:  # type: ignore[no-untyped-def]
    page.goto(f"{base}/login")
    page.fill("#username", username)
    page.fill("#password", b.PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(f"{base}/")


def _open_menu(page, menu: str, item: str) -> None:  # type: ignore[no-untyped-def]
    """Open a navigation menu as a user does (hovering it) and click one of its entries."""
    entry = page.locator(f"[data-menu={menu}] .dropdown-menu >> text={item}").first
    assert not entry.is_visible()  # closed until the pointer is on it
    page.hover(f"[data-menu={menu}] > button")
    entry.click()


def _world(db):  # type: ignore[no-untyped-def]
    ha = b.hospital(db, "990102", name="甲医院", level="3")
    hb = b.hospital(db, "990103", name="乙医院", level="2")
    for _ in range(3):
        b.case(db, ha)
    cb = b.case(db, hb)
    b.user(db, Role.BUREAU_REVIEWER, region_code="990100", username="reviewer")
    b.user(db, Role.HOSPITAL_USER, hospital=ha, username="hosp_a")
    db.commit()
    return cb


def test_bureau_user_sees_region(page, live_server, db):  # type: ignore[no-untyped-def]
    _world(db)
    _login(page, live_server, "reviewer")
    nav = page.locator("[data-testid=nav]").text_content() or ""  # menus closed: hidden text too
    assert "结算清单" in nav and "医疗机构" in nav and "用户管理" not in nav
    assert page.locator("[data-testid=kpi-cases]").inner_text() == "4"
    assert page.locator("[data-testid=kpi-hospitals]").inner_text() == "2"
    page.wait_for_selector("#chart-month canvas")  # ECharts drew the chart
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "home-bureau.png"), full_page=True)
    _open_menu(page, "settlement", "结算清单")
    hospitals = set(page.locator("[data-testid=case-hospital]").all_inner_texts())
    assert hospitals == {"甲医院", "乙医院"}
    # filter by hospital through the HTMX form
    page.select_option("#f-hospital", label="乙医院")
    page.wait_for_function(
        "() => [...document.querySelectorAll('[data-testid=case-hospital]')]"
        ".every(td => td.textContent.trim() === '乙医院')"
    )
    assert page.locator("[data-testid=case-hospital]").count() == 1
    page.screenshot(path=str(ARTIFACTS / "cases-bureau.png"), full_page=True)


def test_hospital_user_sees_own_data(page, live_server, db):  # type: ignore[no-untyped-def]
    cb = _world(db)
    _login(page, live_server, "hosp_a")
    assert "甲医院" in page.locator("[data-testid=whoami]").inner_text()
    nav = page.locator("[data-testid=nav]").text_content() or ""
    assert "结算清单" in nav and "医疗机构" not in nav
    assert page.locator("[data-testid=kpi-cases]").inner_text() == "3"
    _open_menu(page, "settlement", "结算清单")
    hospitals = set(page.locator("[data-testid=case-hospital]").all_inner_texts())
    assert hospitals == {"甲医院"}
    page.locator("[data-testid=case-table] a").first.click()
    assert "甲医院" in page.locator("[data-testid=detail-hospital]").inner_text()
    response = page.goto(f"{live_server}/cases/{cb.id}")
    assert response is not None and response.status == 404
    assert "未找到" in page.locator("[data-testid=error]").inner_text()
    page.screenshot(path=str(ARTIFACTS / "cases-hospital.png"), full_page=True)


def test_wrong_password_shows_error(page, live_server, db):  # type: ignore[no-untyped-def]
    _world(db)
    page.goto(f"{live_server}/login")
    page.fill("#username", "hosp_a")
    page.fill("#password", "not-the-password")
    page.click("button[type=submit]")
    assert "用户名或密码错误" in page.locator("[data-testid=login-error]").inner_text()
