"""Browser test of the 测算 pages: the run page and the simulation page draw their
ECharts charts, the DRG chart follows the select and the weights table filters via
HTMX (Playwright on Debian's chromium; skipped with the reason when it is missing)."""

from __future__ import annotations

import pytest

from tests.e2e.test_browser import ARTIFACTS, live_server, page  # noqa: F401  (fixtures)
from tests.e2e.test_measurement_pages import (  # noqa: F401
    analyst,
    created_by_job,
    created_id,
    post,
    start_run,
)
from yibao.demo.seed import DEMO_PASSWORD

pytestmark = pytest.mark.browser


def _simulation(client, run_id: int) -> int:  # type: ignore[no-untyped-def]
    """Weight plan → rate plan → simulation through the page forms."""
    r = post(client, f"/measurement/runs/{run_id}/weight-plans", {"code": "WB"})
    plan_id = created_id(r, "/measurement/weight-plans/")
    r = post(
        client,
        f"/measurement/weight-plans/{plan_id}/rate-plans",
        {"volume_year": "2025", "growth_pct": "5", "mode": "single"},
    )
    rate_id = created_by_job(client, r, "rate_plan_id")
    r = post(
        client,
        f"/measurement/rate-plans/{rate_id}/simulations",
        {"name": "浏览器模拟", "year": "2025", "high_3": "3", "high_2": "2", "high_1": "2"},
    )
    return created_by_job(client, r, "simulation_id")


def test_run_and_simulation_pages_draw_charts(page, live_server, analyst):  # type: ignore[no-untyped-def]  # noqa: F811
    run_id = start_run(analyst)
    sim_id = _simulation(analyst, run_id)

    page.goto(f"{live_server}/login")
    page.fill("#username", "analyst")
    page.fill("#password", DEMO_PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(f"{live_server}/")
    assert page.locator("[data-testid=nav] a[href='/measurement']").count() == 1

    page.goto(f"{live_server}/measurement/runs/{run_id}")
    page.wait_for_selector("#chart-rw-mdc canvas")
    page.wait_for_selector("#chart-drg canvas")
    page.wait_for_function("() => document.getElementById('drg-note').textContent.includes('2025')")
    first_note = page.locator("#drg-note").inner_text()
    options = page.locator("#drg-select option").all_inner_texts()
    page.select_option("#drg-select", index=len(options) // 2)
    page.wait_for_function(
        "(t) => document.getElementById('drg-note').textContent !== t", arg=first_note
    )
    # the weights table filters in place (HTMX swaps the table only)
    page.select_option("#w-mdc", "MDCB")
    page.wait_for_function(
        "() => [...document.querySelectorAll('[data-testid=weight-row] td:nth-child(3)')]"
        ".every(td => td.textContent.trim() === 'MDCB')"
    )
    assert "mdc=MDCB" in page.url
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "measurement-run.png"), full_page=True)

    page.goto(f"{live_server}/measurement/simulations/{sim_id}")
    for chart in ("hospitals", "balance", "levels", "distribution", "classes"):
        page.wait_for_selector(f"#chart-{chart} canvas")
    assert page.locator("[data-testid=hospital-row]").count() == 30
    page.screenshot(path=str(ARTIFACTS / "measurement-simulation.png"), full_page=True)
