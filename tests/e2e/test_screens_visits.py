"""实时监控 · 就诊单据 (issue 15 item 1): the latest visits and settlements the hospitals
sent through the transaction gateway, newest first, with the person's name masked,
and today's figures equal to direct sums over the stored settlements — scoped: a
hospital sees its own visits only, a district bureau its district's (SQLite, or
PostgreSQL with YIBAO_TEST_DATABASE_URL)."""

from __future__ import annotations

import re
from decimal import Decimal

import pytest
from sqlalchemy import select

from tests.builders import audit as kit
from tests.builders.settlement import demo_world, login
from tests.e2e.screens_kit import settled_stay, two_hospitals
from yibao.db.scoping import SYSTEM_SCOPE, region_prefix, set_scope
from yibao.demo.seed import DEMO_PASSWORD
from yibao.exchange.models import Settlement
from yibao.kit.timeutil import local
from yibao.monitoring.screens import MODULES, mask_name

HTML = {"accept": "text/html"}


@pytest.fixture()
def world(client, db):  # type: ignore[no-untyped-def]
    return two_hospitals(client, db)


def _visits(client) -> str:  # type: ignore[no-untyped-def]
    r = client.get("/screens/modules/visits", headers=HTML)
    assert r.status_code == 200, r.text
    return r.text


def _figure(html: str, testid: str) -> str:
    found = re.search(rf'data-testid="{testid}">([^<]*)<', html)
    assert found, testid
    return found.group(1)


def _rows(html: str) -> list[tuple[str, str, str]]:
    """(hospital, mdtrt_id, status) of each row, newest first."""
    return re.findall(
        r'data-testid="visit-hospital">([^<]*)</td><td><code>([^<]*)</code>.*?'
        r'data-testid="visit-status">([^<]*)<',
        html,
    )


def _today_by_hand(db, hospital_ids) -> tuple[int, Decimal]:  # type: ignore[no-untyped-def]
    """Settlements made today by ``hospital_ids`` and the live ones' total fee."""
    set_scope(db, SYSTEM_SCOPE)
    db.expire_all()
    made = [
        s
        for s in db.scalars(select(Settlement))
        if s.hospital_id in hospital_ids and local(s.setl_time).date() == kit.today()
    ]
    return len(made), sum((s.medfee_sumamt for s in made if s.state == "settled"), Decimal(0))


def test_visit_bills_newest_first_with_today(client, world, db) -> None:  # type: ignore[no-untyped-def]
    home, other = world["home"], world["other"]
    login(client, "reviewer", DEMO_PASSWORD)
    page = client.get("/screens", headers=HTML).text
    assert 'hx-get="/screens/modules/visits"' in page and "就诊单据" in page
    assert re.search(r'hx-get="/screens/modules/visits"\s+hx-trigger="load, every 10s"', page)
    html = _visits(client)
    rows = _rows(html)
    # newest activity first: the reversal, the open stay's fees, the settlement
    assert [r[1] for r in rows] == [
        world["reversed"]["mdtrt_id"],
        world["open"]["mdtrt_id"],
        world["settled"]["mdtrt_id"],
    ]
    assert [r[2] for r in rows] == ["已冲销", "未结算", "已结算"]
    assert {r[0] for r in rows} == {home.name, other.name}
    name = world["local"].psn_name
    assert len(name) >= 2 and mask_name(name) in html and name not in html
    assert "35.50" in html and f"{world['settled']['medfee']:,.2f}" in html
    assert _figure(html, "visits-today") == "3"  # three stays begun today
    assert _figure(html, "visits-settled") == "2" and _figure(html, "visits-reversed") == "1"
    assert _figure(html, "visits-medfee") == f"{world['settled']['medfee']:,.2f}"  # live only
    n, total = _today_by_hand(db, {home.id, other.id})
    assert (
        _figure(html, "visits-settled") == str(n)
        and _figure(html, "visits-medfee") == f"{total:,.2f}"
    )
    assert "data-bar=" in html and "住院结算" in html
    # a new settlement arrives: the next refresh shows it on top, and today's figures
    it = world["items"]
    new = settled_stay(db, world["his"], it.plain, "66.00")
    html = _visits(client)
    assert _rows(html)[0][1] == new["mdtrt_id"] and _rows(html)[0][2] == "已结算"
    assert _figure(html, "visits-settled") == "3"
    want = world["settled"]["medfee"] + new["medfee"]
    assert _figure(html, "visits-medfee") == f"{want:,.2f}"


def test_visit_bills_are_scoped(client, world) -> None:  # type: ignore[no-untyped-def]
    home, other = world["home"], world["other"]
    login(client, "hosp01", DEMO_PASSWORD)
    html = _visits(client)
    assert {r[0] for r in _rows(html)} == {home.name} and len(_rows(html)) == 2
    assert _figure(html, "visits-settled") == "1" and _figure(html, "visits-reversed") == "0"
    login(client, world["other_user"], DEMO_PASSWORD)
    html = _visits(client)
    assert [(r[0], r[2]) for r in _rows(html)] == [(other.name, "已冲销")]
    assert _figure(html, "visits-medfee") == "0.00"
    login(client, "district_reviewer", DEMO_PASSWORD)
    html = _visits(client)
    inside = world["in_district"]
    assert inside.region_code.startswith(region_prefix(world["district"]))
    assert {r[0] for r in _rows(html)} == {inside.name}
    assert _figure(html, "visits-today") == ("2" if inside.id == home.id else "1")


def test_masked_names() -> None:
    assert mask_name("张三") == "张*"
    assert mask_name("李小明") == "李*明"
    assert mask_name("欧阳娜娜") == "欧**娜"
    assert mask_name(" 王 ") == "王" and mask_name(None) == ""


def test_visit_bills_interval_is_set_on_the_page(client, db) -> None:  # type: ignore[no-untyped-def]
    demo_world(db)
    login(client, "admin", DEMO_PASSWORD)
    page = client.get("/screens", headers=HTML).text
    assert 'id="i-visits" name="i_visits" value="10"' in page
    token = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)
    form = {"csrf_token": token, **{f"i_{k}": "0" for k in MODULES}, "i_visits": "4"}
    r = client.post("/screens/intervals", data=form, headers=HTML, follow_redirects=False)
    assert r.status_code == 303
    page = client.get("/screens", headers=HTML).text
    assert re.search(r'hx-get="/screens/modules/visits"\s+hx-trigger="load, every 4s"', page)
    assert "每 4 秒刷新" in page
    login(client, "hosp01", DEMO_PASSWORD)  # an empty gateway: the module says so
    html = _visits(client)
    assert "暂无就诊" in html and _figure(html, "visits-today") == "0"
