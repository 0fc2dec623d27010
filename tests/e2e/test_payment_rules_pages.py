"""The payment-rule fields of the 测算 pages (ADR 0031): a standard table imported with
its rules shows them on its page; wrong rules show a Chinese message naming the field
and store nothing (SQLite, or PostgreSQL with YIBAO_TEST_DATABASE_URL)."""

from __future__ import annotations

import re

import pytest

from tests import builders as b
from tests.builders.settlement import login, standards_table
from tests.e2e.test_measurement_pages import HTML, created_id, post, text
from yibao.accounts.roles import Role
from yibao.db.scoping import SYSTEM_SCOPE, set_scope
from yibao.measurement.models import PaymentStandardSet


@pytest.fixture()
def analyst(client, db):  # type: ignore[no-untyped-def]
    set_scope(db, SYSTEM_SCOPE)
    b.region(db, "990100")
    b.user(db, Role.BUREAU_ANALYST, region_code="990100", username="analyst")
    db.commit()
    login(client, "analyst")
    page = client.get("/", headers=HTML)
    client.csrf = re.search(r'"X-CSRF-Token": "([^"]+)"', page.text).group(1)
    return client


FORM = {
    "plan_id": "chs-drg-1.1",
    "valid_from": "2027-01-01",
    "high_3": "2.5",
    "rw_bands": "1.6:2.5\n*：1.5：0.3",
    "qy_fraction": "0.8",
    "long_stay_days": "60",
    "per_diem_3": "400",
    "per_diem_2": "300",
    "per_diem_1": "200",
    "high_share_cap": "0.05",
}


def _import(client, **changes: str):  # type: ignore[no-untyped-def]
    table = standards_table(["BR21", "ES31"]).write_csv().encode()
    return post(
        client,
        "/measurement/standards/import",
        {**FORM, **changes},
        files={"file": ("standards.csv", table, "text/csv")},
    )


def test_standard_rules_on_the_import_form(analyst, db) -> None:  # type: ignore[no-untyped-def]
    client = analyst
    page = text(client.get("/measurement/standards", headers=HTML))
    assert 'data-testid="rules-import"' in page and 'name="per_diem_3"' in page
    for changes, words in (
        ({"rw_bands": "1.6-2.5"}, "第 1 行“1.6-2.5”应写作 权重上限:高倍率"),
        ({"per_diem_2": ""}, "床日付费标准"),
        ({"high_share_cap": "2"}, "比例上限"),
        ({"long_stay_days": "六十"}, "超长住院天数"),
    ):
        r = _import(client, **changes)
        assert r.status_code == 422 and words in text(r), (changes, text(r)[-3000:])
    assert db.query(PaymentStandardSet).count() == 0
    set_id = created_id(_import(client), "/measurement/standards/")
    shown = text(client.get(f"/measurement/standards/{set_id}", headers=HTML))
    rules = re.search(r'data-testid="payment-rules">([^<]+)<', shown).group(1)
    assert "RW≤1.6 高 2.5×；RW≤∞ 高 1.5×" in rules
    assert "住院超过 60 天按床日付费（三级 400 / 二级 300 / 一级 200 元/日）" in rules
    assert "高倍率病例比例上限 0.05" in rules and "歧义组按项目 × 0.8" in rules
    stored = db.query(PaymentStandardSet).one().payment_rules
    assert stored["high_multipliers"]["3"] == "2.5" and stored["rules"]["qy_fraction"] == "0.8"
