"""Measurement defaults to the last complete years (issue 10.6): with cases of the
current, partial year in the database (the settlement lists of this year), the run
form, rate plans and indices never default to that year."""

from __future__ import annotations

import re
from datetime import date

from tests.e2e.test_http_scoping import _login
from yibao.cases.repository import complete_years
from yibao.db.scoping import SYSTEM_SCOPE, set_scope
from yibao.demo.seed import DEMO_PASSWORD, seed_demo
from yibao.kit.timeutil import local, utcnow

HTML = {"accept": "text/html"}


def test_complete_years() -> None:
    assert complete_years([2026, 2024, 2025], date(2026, 12, 3)) == [2024, 2025]
    assert complete_years([2026], date(2026, 1, 1)) == []
    assert complete_years([2025, 2026], date(2027, 1, 1)) == [2025, 2026]


def test_forms_default_to_complete_years(client, db):  # type: ignore[no-untyped-def]
    this_year = local(utcnow()).date().year
    years = [this_year - 3, this_year - 2, this_year - 1, this_year]
    set_scope(db, SYSTEM_SCOPE)
    seed_demo(db, seed=3, years=years, cases_per_year=60)
    db.commit()
    _login(client, "analyst", DEMO_PASSWORD)
    page = client.get("/measurement", headers=HTML).text
    checked = re.findall(r'name="years" value="(\d{4})" id="[^"]+" checked', page)
    assert checked == [str(y) for y in years[:3]], checked
    assert f"{this_year} <span" in page and "未满一年" in page
    page = client.get("/measurement/indices", headers=HTML).text
    selected = re.findall(r'<option value="(\d{4})" selected>', page)
    assert selected == [str(this_year - 1)], selected
