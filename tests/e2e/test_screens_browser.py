"""Browser test of 实时监控 (issue 15 item 1): the modules load, the counts chart
draws, and the count updates by itself after a new audit arrives.  Screenshot saved."""

from __future__ import annotations

import pytest

from tests.builders import audit as kit
from tests.e2e.test_browser import ARTIFACTS, live_server, page  # noqa: F401  (fixtures)
from tests.e2e.test_maps_browser import _login
from tests.e2e.test_screens import send, world  # noqa: F401  (fixture)
from yibao.audit.service import SYSTEM
from yibao.db.scoping import SYSTEM_SCOPE, set_scope
from yibao.monitoring import service

pytestmark = pytest.mark.browser


def test_counts_refresh_after_a_new_audit(page, live_server, client, world, db):  # type: ignore[no-untyped-def]  # noqa: F811
    set_scope(db, SYSTEM_SCOPE)
    service.do_set_setting(db, "screen_intervals", {"counts": 2, "bills": 2}, SYSTEM)
    db.commit()
    _login(page, live_server, "reviewer")
    page.goto(f"{live_server}/screens")
    page.wait_for_selector("[data-testid=count-all]")
    assert page.inner_text("[data-testid=count-all]") == "2"
    page.wait_for_selector("#screen-counts [data-bar][data-rendered='1'] canvas")
    it = world["items"]
    send(client, world, [kit.order("R7", it.male_only, "1", "20.00", kit.today())])
    page.wait_for_function(
        "() => document.querySelector('[data-testid=count-all]').textContent.trim() === '3'",
        timeout=15_000,
    )
    page.wait_for_function(  # the bills module refreshes on its own clock
        "() => document.querySelectorAll('[data-testid=bill-row]').length >= 3", timeout=15_000
    )
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "screens.png"), full_page=True)
