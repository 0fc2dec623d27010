"""Browser test of 实时监控 and 地图定位 for the three kinds of viewer (issue 15 items 1
and 3): a city bureau, a district bureau and a hospital open /screens — every module
loads, its charts draw with data — and the map coloured by 疑点数; each sees only its
scope (the district bureau one of the two institutions, the hospital itself); a new
audit (3101) or a gateway settlement (2304) shows by itself at the module's next
refresh.  Screenshots are saved into test-results/."""

from __future__ import annotations

from typing import Any

import pytest

from tests.builders import audit as kit
from tests.e2e.screens_kit import audit, settled_stay, two_hospitals
from tests.e2e.test_browser import ARTIFACTS, live_server, page  # noqa: F401  (fixtures)
from tests.e2e.test_maps_browser import _login
from yibao.audit.service import SYSTEM
from yibao.db.scoping import SYSTEM_SCOPE, set_scope
from yibao.monitoring import service
from yibao.monitoring.screens import MODULES

pytestmark = pytest.mark.browser

#: the sum of every number an ECharts chart draws (-1 when no chart is on ``sel``)
CHART_SUM = """(sel) => {
  const el = document.querySelector(sel);
  const chart = el && echarts.getInstanceByDom(el);
  if (!chart) { return -1; }
  const value = (v) => typeof v === "number" ? v : (v && typeof v.value === "number" ? v.value : 0);
  return chart.getOption().series.reduce((n, s) => n + (s.type === "scatter" ? 0 :
    s.data.reduce((a, v) => a + value(v), 0)), 0);
}"""


@pytest.fixture()
def world(client, db):  # type: ignore[no-untyped-def]
    w = two_hospitals(client, db)
    set_scope(db, SYSTEM_SCOPE)
    fast = {k: 0 if k == "trend" else 2 for k in MODULES}
    service.do_set_setting(db, "screen_intervals", fast, SYSTEM)
    db.commit()
    return w


def _texts(pg, selector: str) -> set[str]:  # type: ignore[no-untyped-def]
    return {t.strip() for t in pg.locator(selector).all_inner_texts()}


def _figure(pg, testid: str) -> int:  # type: ignore[no-untyped-def]
    return int(pg.inner_text(f"[data-testid={testid}]").strip())


def _wait_figure(pg, testid: str, value: int) -> None:  # type: ignore[no-untyped-def]
    pg.wait_for_function(
        f"() => (document.querySelector('[data-testid={testid}]') || {{}}).textContent"
        f" === '{value}'",
        timeout=15_000,
    )


def _screens(pg, base: str, user: str, allowed: set[str]) -> None:  # type: ignore[no-untyped-def]
    """Every module of /screens loads for ``user``, its charts draw data, and the
    institutions it names are all of ``allowed``."""
    pg.context.clear_cookies()
    _login(pg, base, user)
    pg.goto(f"{base}/screens")
    for key in MODULES:
        pg.wait_for_selector(f"#screen-{key} table, #screen-{key} [data-bar]")
    for key in ("counts", "visits", "trend"):
        pg.wait_for_selector(f"#screen-{key} [data-bar][data-rendered='1'] canvas")
        assert pg.evaluate(CHART_SUM, f"#screen-{key} [data-bar]") > 0, (user, key)
    for testid in ("bill-row", "result-row", "hospital-row", "visit-row"):
        assert pg.locator(f"[data-testid={testid}]").count() > 0, (user, testid)
    named = _texts(pg, "[data-testid=bill-row] td:nth-child(2)")
    named |= _texts(pg, "[data-testid=visit-hospital]")
    named |= {t.rsplit(" ", 1)[0] for t in _texts(pg, "[data-testid=hospital-row] td:first-child")}
    assert named == allowed, (user, named)


def _map(pg, base: str, districts: int, shot: str) -> None:  # type: ignore[no-untyped-def]
    pg.goto(f"{base}/maps?metric=findings")
    pg.wait_for_selector("#chart-map[data-rendered='1'] canvas")
    assert pg.get_attribute("#chart-map", "data-metric") == "findings"
    assert pg.evaluate(CHART_SUM, "#chart-map") > 0  # the districts' 疑点数
    assert pg.locator("[data-testid=map-district-row]").count() == districts
    found = [int(t) for t in _texts(pg, "[data-testid=map-district-findings]")]
    assert all(n > 0 for n in found)
    pg.wait_for_timeout(1_000)  # the hospitals' points grow in (ECharts' animation)
    pg.screenshot(path=str(ARTIFACTS / shot), full_page=True)


def test_every_screen_for_bureau_district_and_hospital(page, live_server, client, world, db):  # type: ignore[no-untyped-def]  # noqa: F811
    base, it, today = live_server, world["items"], kit.today()
    home, other, inside = world["home"], world["other"], world["in_district"]
    ARTIFACTS.mkdir(exist_ok=True)

    _screens(page, base, "reviewer", {home.name, other.name})
    assert _figure(page, "count-all") == 3 and _figure(page, "visits-settled") == 2
    audit(
        client,
        world["his_other"],
        world["local"],
        [kit.order("R8", it.male_only, "1", "9.00", today)],
    )
    _wait_figure(page, "count-all", 4)  # the new 3101, by the counts module's own refresh
    page.screenshot(path=str(ARTIFACTS / "screens-bureau.png"), full_page=True)
    _map(page, base, 2, "map-findings-bureau.png")
    page.select_option("#map-year", "2023")  # another year keeps the colouring
    page.wait_for_url("**/maps?year=2023&metric=findings")
    assert page.locator("#map-metric").input_value() == "findings"

    _screens(page, base, "district_reviewer", {inside.name})
    before = _figure(page, "visits-settled")
    his: Any = world["his"] if inside.id == home.id else world["his_other"]
    settled_stay(db, his, it.plain, "42.00")
    _wait_figure(page, "visits-settled", before + 1)  # a gateway settlement of the district
    page.screenshot(path=str(ARTIFACTS / "screens-district.png"), full_page=True)
    _map(page, base, 1, "map-findings-district.png")

    _screens(page, base, "hosp01", {home.name})
    before, audits = _figure(page, "visits-settled"), _figure(page, "count-all")
    assert audits == 2  # its own two audits of today, not the other hospital's
    settled_stay(db, world["his"], it.plain, "58.00")
    audit(
        client,
        world["his"],
        world["local"],
        [kit.order("R9", it.plain, "1", "3.00", today)],
        "3102",
    )
    _wait_figure(page, "visits-settled", before + 1)
    _wait_figure(page, "count-all", audits + 1)
    page.wait_for_function(  # the newest bill on top is its own settlement
        "() => document.querySelector('[data-testid=visit-status]').textContent === '已结算'"
    )
    page.screenshot(path=str(ARTIFACTS / "screens-hospital.png"), full_page=True)
    _map(page, base, 1, "map-findings-hospital.png")
