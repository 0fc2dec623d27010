"""Browser test of 地图定位 (issue 15 item 3): the demo city's map draws with its
districts and hospitals, its legend reads with thousands separators (money with fen),
the metric select redraws it, a click on a district lists its hospitals (money with
fen); a hospital user sees its own hospital only.  Screenshots are saved."""

from __future__ import annotations

import re
from collections import defaultdict
from decimal import Decimal

import pytest
from sqlalchemy import select

from tests.e2e.test_browser import ARTIFACTS, live_server, page  # noqa: F401  (fixtures)
from yibao.cases.models import Case
from yibao.db.scoping import SYSTEM_SCOPE, set_scope
from yibao.demo.seed import DEMO_PASSWORD, seed_demo

pytestmark = pytest.mark.browser
#: the labels at the two ends of the legend, as drawn
LEGEND = """() => {
  const chart = echarts.getInstanceByDom(document.getElementById("chart-map"));
  const vm = chart.getOption().visualMap[0];
  const label = vm.formatter || ((v) => v.toFixed(vm.precision || 0));  // ECharts' own
  return [label(vm.max), label(vm.min)];
}"""
MONEY = re.compile(r"^\d{1,3}(,\d{3})*\.\d{2}$")


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
    cost: dict[str, Decimal] = defaultdict(Decimal)  # per district, from the cases
    cases: dict[str, int] = defaultdict(int)
    for region, amount in db.execute(select(Case.region_code, Case.total_cost)):
        cost[region[:6]] += amount
        cases[region[:6]] += 1
    ends = [max(cost.values()), min(cost.values())]
    assert page.evaluate(LEGEND) == [f"{v:,.2f}" for v in ends]  # "4,804,371.93"
    page.select_option("#map-metric", "cases")
    assert page.evaluate(LEGEND) == [f"{max(cases.values()):,}", f"{min(cases.values()):,}"]
    # click the middle of the map: some district lists its hospitals
    box = page.locator("#chart-map canvas").first.bounding_box()
    assert box is not None
    for dx, dy in ((0.5, 0.5), (0.4, 0.4), (0.6, 0.6), (0.5, 0.3)):
        page.mouse.click(box["x"] + box["width"] * dx, box["y"] + box["height"] * dy)
        if page.locator("[data-testid=map-hospital-row]").count():
            break
    assert page.locator("[data-testid=map-hospital-row]").count() > 0
    for row in page.locator("[data-testid=map-hospital-row]").all():
        money = row.locator("td").all_inner_texts()[2::2]  # 医疗总费用, 疑点金额
        assert all(MONEY.match(m) for m in money), money
    assert "的医疗机构" in page.inner_text("[data-testid=map-drill-title]")
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "map-bureau.png"), full_page=True)

    page.context.clear_cookies()
    _login(page, live_server, "hosp01")
    page.goto(f"{live_server}/maps?year=2025")
    page.wait_for_selector("#chart-map canvas")
    assert page.locator("[data-testid=map-district-row]").count() == 1
    page.screenshot(path=str(ARTIFACTS / "map-hospital.png"), full_page=True)
