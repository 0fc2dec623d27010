"""Browser test of 地图定位 (issue 15 item 3): the demo city's map draws with its
districts and hospitals, the metric select redraws it, a click on a district lists
its hospitals; a hospital user sees its own hospital only.  Screenshots are saved."""

from __future__ import annotations

import pytest

from tests.e2e.test_browser import ARTIFACTS, live_server, page  # noqa: F401  (fixtures)
from yibao.db.scoping import SYSTEM_SCOPE, set_scope
from yibao.demo.seed import DEMO_PASSWORD, seed_demo

pytestmark = pytest.mark.browser


def _login(page, base: str, username: str) -> None:  # type: ignore[no-untyped-def]  # noqa: F811
    page.goto(f"{base}/login")
    page.fill("#username", username)
    page.fill("#password", DEMO_PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_load_state("networkidle")


def test_map_draws_and_drills_down(page, live_server, db):  # type: ignore[no-untyped-def]  # noqa: F811
    set_scope(db, SYSTEM_SCOPE)
    seed_demo(db, seed=13, years=[2025], cases_per_year=300)
    db.commit()
    _login(page, live_server, "admin")
    page.goto(f"{live_server}/maps?year=2025")
    page.wait_for_selector("#chart-map canvas")
    page.wait_for_selector("#chart-map[data-rendered='1']")
    districts = page.locator("[data-testid=map-district-row]").count()
    assert districts >= 5
    page.select_option("#map-metric", "cases")
    # click the middle of the map: some district lists its hospitals
    box = page.locator("#chart-map canvas").first.bounding_box()
    assert box is not None
    for dx, dy in ((0.5, 0.5), (0.4, 0.4), (0.6, 0.6), (0.5, 0.3)):
        page.mouse.click(box["x"] + box["width"] * dx, box["y"] + box["height"] * dy)
        if page.locator("[data-testid=map-hospital-row]").count():
            break
    assert page.locator("[data-testid=map-hospital-row]").count() > 0
    assert "的医疗机构" in page.inner_text("[data-testid=map-drill-title]")
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "map-bureau.png"), full_page=True)

    page.context.clear_cookies()
    _login(page, live_server, "hosp01")
    page.goto(f"{live_server}/maps?year=2025")
    page.wait_for_selector("#chart-map canvas")
    assert page.locator("[data-testid=map-district-row]").count() == 1
    page.screenshot(path=str(ARTIFACTS / "map-hospital.png"), full_page=True)
