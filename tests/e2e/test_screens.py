"""实时监控 modules (issue 15 item 1, first slice): the figures of the real-time audits
equal what the HIS sent (counts by stage, findings by rule, per hospital, the year's
trend), scoped to the viewer; a new audit shows at the next refresh; intervals are
set by a bureau administrator (SQLite, or PostgreSQL with YIBAO_TEST_DATABASE_URL)."""

from __future__ import annotations

import re

import pytest

from tests.builders import audit as kit
from tests.builders.settlement import login
from tests.builders.visits import make_world
from yibao.demo.seed import DEMO_PASSWORD

HTML = {"accept": "text/html"}


def send(client, world, orders, infno: str = "3101", trig: str | None = None):  # type: ignore[no-untyped-def]
    headers = {"Authorization": f"Bearer {world['his'].token}"}
    body = kit.audit_input(
        world["local"], orders, day=kit.today(), **({"trig_scen": trig} if trig else {})
    )
    r = client.post(f"/api/audit/{infno}", json=body, headers=headers)
    assert r.status_code == 200, r.text
    return r.json()["output"]["result"]


@pytest.fixture()
def world(client, db):  # type: ignore[no-untyped-def]
    w = make_world(client, db)
    it = kit.items(db)
    w["items"] = it
    kit.publish_rules(db, it)
    today = kit.today()
    found = send(
        client,
        w,
        [
            kit.order("R1", it.male_only, "1", "20.00", today),
            kit.order("R2", it.child_drug, "1", "5.00", today),
        ],
    )
    assert sorted(f["rule_id"] for f in found) == ["T-AGE", "T-SEX"]
    send(client, w, [kit.order("R9", it.plain, "1", "10.00", today)], "3102", "7")
    return w


def _module(client, name: str) -> str:  # type: ignore[no-untyped-def]
    r = client.get(f"/screens/modules/{name}", headers=HTML)
    assert r.status_code == 200, r.text
    return r.text


def test_modules_show_the_audits(client, world) -> None:  # type: ignore[no-untyped-def]
    login(client, "reviewer", DEMO_PASSWORD)
    page = client.get("/screens", headers=HTML).text
    for name in ("bills", "counts", "results", "hospitals", "trend"):
        assert f'hx-get="/screens/modules/{name}"' in page
    assert 'hx-trigger="load, every 5s"' in page and 'hx-trigger="load"' in page  # trend
    counts = _module(client, "counts")
    assert re.search(r'data-testid="count-all">2<', counts)
    assert re.search(r'data-testid="count-flagged">1<', counts)
    assert "data-bar=" in counts
    results = _module(client, "results")
    assert results.count('data-testid="result-row"') == 2 and "T-SEX" in results
    assert _module(client, "bills").count('data-testid="bill-row"') == 2
    hospitals = _module(client, "hospitals")
    assert hospitals.count('data-testid="hospital-row"') == 1 and ">2<" in hospitals
    assert re.search(r'data-testid="trend-total">2<', _module(client, "trend"))
    # a new audit arrives: the next refresh shows it
    it = world["items"]
    send(client, world, [kit.order("R3", it.male_only, "1", "20.00", kit.today())])
    assert re.search(r'data-testid="count-all">3<', _module(client, "counts"))
    assert client.get("/screens/modules/radar", headers=HTML).status_code == 404


def test_scope_and_intervals(client, world) -> None:  # type: ignore[no-untyped-def]
    login(client, "hosp02", DEMO_PASSWORD)  # another hospital: none of hosp01's audits
    assert re.search(r'data-testid="count-all">0<', _module(client, "counts"))
    login(client, "hosp01", DEMO_PASSWORD)
    assert re.search(r'data-testid="count-all">2<', _module(client, "counts"))
    page = client.get("/screens", headers=HTML).text
    assert "screen-intervals" not in page  # not for a hospital
    login(client, "admin", DEMO_PASSWORD)
    page = client.get("/screens", headers=HTML).text
    token = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)
    form = {
        "csrf_token": token,
        "i_bills": "3",
        "i_counts": "20",
        "i_results": "0",
        "i_hospitals": "60",
        "i_trend": "0",
    }
    r = client.post("/screens/intervals", data=form, headers=HTML, follow_redirects=False)
    assert r.status_code == 303
    page = client.get("/screens", headers=HTML).text
    assert 'hx-trigger="load, every 3s"' in page and "每 20 秒刷新" in page
    bad = client.post("/screens/intervals", data={**form, "i_bills": "1"}, headers=HTML)
    assert bad.status_code == 422 and "2–3600" in bad.text


def test_trend_reads_the_summaries_and_later_audits(client, db, world) -> None:  # type: ignore[no-untyped-def]
    from sqlalchemy import select

    from tests.builders.settlement import plan_registry
    from yibao.analysis.models import AnalysisState, AuditMonth
    from yibao.analysis.refresh import do_refresh
    from yibao.db.scoping import SYSTEM_SCOPE, set_scope
    from yibao.demo.seed import CITY, SEED_ACTOR

    set_scope(db, SYSTEM_SCOPE)
    do_refresh(db, CITY, SEED_ACTOR, registry=plan_registry())
    db.commit()
    assert db.get(AnalysisState, CITY) is not None
    assert sum(m.audits for m in db.scalars(select(AuditMonth))) == 2  # summarised
    login(client, "reviewer", DEMO_PASSWORD)
    assert re.search(r'data-testid="trend-total">2<', _module(client, "trend"))
    it = world["items"]
    send(client, world, [kit.order("R4", it.male_only, "1", "20.00", kit.today())])
    assert re.search(r'data-testid="trend-total">3<', _module(client, "trend"))  # 2 + 1 live
    counts = _module(client, "counts")
    assert re.search(r'data-testid="count-all">3<', counts)
    assert re.search(r'data-testid="count-flagged">2<', counts)
    # the map reads the same audit months plus the later audit
    figures = client.get("/api/maps/current/figures", params={"year": kit.today().year}).json()
    assert sum(h["audits"] for h in figures["hospitals"]) == 3
    assert sum(h["flagged"] for h in figures["hospitals"]) == 2
