"""Browser test of the rule base pages (issue 13 item 2): a rule administrator opens
规则库 from the 智能审核 menu, creates a draft, adds rules through the family form
(the parameters follow the chosen family over HTMX; a wrong value is shown in Chinese
next to its field), tests the draft against the prefilled sample claim and publishes
it after the confirmation.  Screenshots at 1366 and 1920 pixels wide go to
/tmp/shots-pages/ (Playwright on Debian's chromium; skipped when it is missing)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from tests import builders as b
from tests.e2e import supervision_kit as kit
from tests.e2e.test_browser import live_server, page  # noqa: F401  (fixtures)

pytestmark = pytest.mark.browser
SHOTS = Path("/tmp/shots-pages")


def _shot(pg, name: str) -> None:  # type: ignore[no-untyped-def]
    SHOTS.mkdir(parents=True, exist_ok=True)
    pg.screenshot(path=str(SHOTS / f"{name}.png"), full_page=True)


def test_rule_admin_drafts_tests_and_publishes(page, live_server, db) -> None:  # type: ignore[no-untyped-def]  # noqa: F811
    kit.seed(db)
    page.set_viewport_size({"width": 1366, "height": 900})
    page.goto(f"{live_server}/login")
    page.fill("#username", "ruleadmin")
    page.fill("#password", b.PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(f"{live_server}/")

    # the bar fits on one line at 1366 pixels; the menu opens under the pointer
    nav = page.locator("[data-testid=nav]")
    assert nav.bounding_box()["height"] < 60  # type: ignore[index]
    rules_link = page.locator("[data-menu=supervision] .dropdown-menu >> text=规则库")
    assert not rules_link.is_visible()
    page.hover("[data-menu=supervision] > button")
    assert rules_link.is_visible()
    _shot(page, "nav-1366-menu")
    rules_link.click()
    page.wait_for_url(f"{live_server}/supervision/rules")

    # a new empty draft
    page.fill("#c-name", "浏览器测试规则库")
    page.fill("#c-from", "2025-01-01")
    page.select_option("#c-base", "empty")
    page.click("[data-testid=version-create]")
    page.wait_for_url(re.compile(r".*/supervision/rules/\d+$"))
    set_url = page.url
    assert "草稿" in page.locator("[data-testid=version-status]").inner_text()

    # a sex rule with the defaults of its family
    page.click("[data-testid=rule-add]")
    page.fill("#r-id", "SEX01")
    page.fill("#r-name", "限性别项目")
    page.select_option("#r-result", "definite")
    page.select_option("#r-sev", "3")
    page.click("[data-testid=rule-save]")
    page.wait_for_selector("[data-testid=rule][data-rule=SEX01]")

    # a quantity rule: choosing the family swaps in its parameters and windows
    page.click("[data-testid=rule-add]")
    page.fill("#r-id", "QTY01")
    page.fill("#r-name", "演示片每日限量")
    page.select_option("#r-family", "quantity")
    page.wait_for_selector("[data-testid=family-params][data-family=quantity]")
    assert page.locator("#r-window option").all_inner_texts() == ["自然日", "当次就诊"]
    assert page.locator("[data-param=max_per_day]").is_visible()
    page.fill("#p-codes", kit.DRUG)
    page.fill("#p-max_per_day", "两个")
    page.click("[data-testid=rule-save]")
    error = page.locator("[data-testid=field-error][data-field='params.max_per_day']")
    assert "每日最大数量：须为数字" in error.inner_text()
    _shot(page, "rule-form-error-1366")
    page.fill("#p-max_per_day", "2")
    page.click("[data-testid=rule-save]")
    page.wait_for_selector("[data-testid=rule][data-rule=QTY01]")
    page.goto(set_url)
    assert page.locator("[data-testid=rule]").count() == 2
    _shot(page, "rule-set-draft-1366")

    # test against the prefilled synthetic claim
    page.click("[data-testid=rule-test-link]")
    assert page.locator("input[name=l0_item_code]").input_value() == kit.PSA
    page.click("[data-testid=test-run]")
    page.wait_for_selector("[data-testid=findings]")
    rules = page.locator("[data-testid=finding]").evaluate_all(
        "rows => rows.map(r => r.dataset.rule)"
    )
    assert sorted(rules) == ["QTY01", "SEX01"]
    assert "限男性" in page.locator("[data-testid=finding][data-rule=SEX01]").inner_text()
    _shot(page, "rule-test-1366")

    # publish after the confirmation
    page.goto(set_url)
    messages: list[str] = []

    def accept(dialog) -> None:  # type: ignore[no-untyped-def]
        messages.append(dialog.message)
        dialog.accept()

    page.on("dialog", accept)
    page.click("[data-testid=version-publish]")
    page.wait_for_selector("[data-testid=flash]")
    assert messages and "发布后不能修改" in messages[0]
    assert page.locator("[data-testid=version-status]").inner_text() == "已发布"
    assert page.locator("[data-testid=rule-add]").count() == 0
    assert page.locator("[data-testid=rule-edit]").count() == 0
    _shot(page, "rule-set-published-1366")

    # the wide screen: the bar and the open menu
    page.set_viewport_size({"width": 1920, "height": 1000})
    page.hover("[data-menu=supervision] > button")
    _shot(page, "rule-set-published-1920-menu")
