"""Browser test of 决策分析 (issue 15 item 2) for the three kinds of viewer: a city
bureau analyst, a district bureau and a hospital open every report; its chart draws
with data, its table lists only the institutions of the viewer's scope, and the Excel
and PDF buttons give files.  Screenshots are saved into test-results/."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from tests.builders.demo import settled_region
from tests.e2e.test_browser import ARTIFACTS, live_server, page  # noqa: F401  (fixtures)
from tests.e2e.test_maps_browser import _login
from yibao.accounts.models import User
from yibao.regions.models import Hospital

pytestmark = pytest.mark.browser

#: the number of values an ECharts chart draws that are not zero (-1: no chart)
DRAWN = """(sel) => {
  const el = document.querySelector(sel);
  const chart = el && echarts.getInstanceByDom(el);
  if (!chart) { return -1; }
  const v = (x) => Array.isArray(x) ? x[1] : (x && typeof x === "object" ? x.value : x);
  return chart.getOption().series.reduce((n, s) => n + s.data.filter(
    (x) => { const y = v(x); return Array.isArray(y) ? y[1] > 0 : y > 0; }).length, 0);
}"""


@pytest.fixture()
def world(db, tmp_path):  # type: ignore[no-untyped-def]
    settled_region(db, years=[2024, 2025], var_dir=tmp_path)
    regions = {h.code: h.region_code for h in db.scalars(select(Hospital))}
    own = db.scalar(
        select(Hospital.code)
        .join(User, User.hospital_id == Hospital.id)
        .where(User.username == "hosp01")
    )
    return {
        "analyst": set(regions),
        "district_reviewer": {c for c, r in regions.items() if r == "990102"},
        "hosp01": {own},
    }


def test_every_report_for_three_viewers(world, page, live_server) -> None:  # type: ignore[no-untyped-def]  # noqa: F811
    base = live_server
    ARTIFACTS.mkdir(exist_ok=True)
    for user, allowed in world.items():
        page.context.clear_cookies()
        _login(page, base, user)
        for name in ("institutions", "trend", "drg", "usage", "fund"):
            query = "" if name == "fund" else "?year=2025"
            page.goto(f"{base}/analysis/{name}{query}")
            page.wait_for_selector("[data-testid=analysis-chart][data-rendered='1'] canvas")
            assert page.evaluate(DRAWN, "[data-testid=analysis-chart]") > 0, (user, name)
            rows = page.locator("[data-testid=analysis-table] tbody tr")
            assert rows.count() > 0, (user, name)
            if name in ("institutions", "drg", "usage"):
                codes = set(
                    page.locator(
                        "[data-testid=analysis-table] td[data-col=hospital_code]"
                    ).all_inner_texts()
                )
                assert codes and codes <= allowed, (user, name, codes - allowed)
                if name == "institutions":  # every institution in scope, none beyond
                    assert codes == allowed, (user, codes ^ allowed)
            for testid, kind in (("export-xlsx", "spreadsheetml"), ("export-pdf", "pdf")):
                href = page.get_attribute(f"[data-testid={testid}]", "href")
                answer = page.request.get(base + href)
                assert answer.status == 200 and kind in answer.headers["content-type"], href
            if name in ("institutions", "fund"):
                page.screenshot(path=str(ARTIFACTS / f"analysis-{name}-{user}.png"), full_page=True)
        if user == "hosp01":  # a hospital: no refresh, no budget
            assert page.locator("[data-testid=analysis-refresh]").count() == 0
            assert page.locator("[data-testid=budget-form]").count() == 0
        else:
            page.goto(f"{base}/analysis/institutions?year=2025")
            n = page.locator("[data-testid=analysis-table] tbody tr").count()
            assert n == len(allowed), (user, n)
