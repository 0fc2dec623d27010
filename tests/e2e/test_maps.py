"""地图定位 through HTTP (issue 15 item 3): the demo city's generated districts, the
figures on them equal to direct sums over the stored cases and scoped to the user,
and a bureau's own GeoJSON uploaded (checked, versioned, nothing stored on error)
(SQLite, or PostgreSQL with YIBAO_TEST_DATABASE_URL)."""

from __future__ import annotations

import json
import re
from collections import defaultdict
from decimal import Decimal

import pytest
from sqlalchemy import select

from tests.builders.demo import demo_region
from tests.e2e.test_http_scoping import _login
from yibao.cases.models import Case
from yibao.db.scoping import SYSTEM_SCOPE, set_scope
from yibao.demo.seed import DEMO_PASSWORD
from yibao.maps.models import RegionMap
from yibao.regions.models import Hospital, Region

HTML = {"accept": "text/html"}


@pytest.fixture()
def world(client, db):  # type: ignore[no-untyped-def]
    set_scope(db, SYSTEM_SCOPE)
    demo_region(db, seed=11, years=[2025], cases_per_year=400)
    db.commit()
    return client


def _as(client, user: str):  # type: ignore[no-untyped-def]
    client.cookies.clear()
    _login(client, user, DEMO_PASSWORD)
    page = client.get("/", headers=HTML)
    client.headers["x-csrf-token"] = re.search(r'"X-CSRF-Token": "([^"]+)"', page.text).group(1)
    return client


def _sums(db, hospital_code: str | None = None):  # type: ignore[no-untyped-def]
    per: dict[str, list[Decimal]] = defaultdict(lambda: [Decimal(0), Decimal(0)])
    for code, region, cost, day in db.execute(
        select(Case.hospital_code, Case.region_code, Case.total_cost, Case.discharge_date)
    ):
        if day.year == 2025 and hospital_code in (None, code):
            per[region][0] += 1
            per[region][1] += cost
    return per


def test_demo_map_figures_and_scope(world, db) -> None:  # type: ignore[no-untyped-def]
    client = _as(world, "admin")
    districts = sorted(db.scalars(select(Region.code).where(Region.parent_code == "990100")))
    shown = client.get("/api/maps/current").json()
    assert shown["region"] == "990100"
    assert [f["properties"]["adcode"] for f in shown["features"]] == districts
    figures = client.get("/api/maps/current/figures", params={"year": 2025}).json()
    want = _sums(db)
    got = {d["code"]: d for d in figures["districts"]}
    assert set(got) == set(want)
    for code, (n, cost) in want.items():
        assert got[code]["cases"] == n and Decimal(str(got[code]["cost"])) == cost
    assert sum(h["cases"] for h in figures["hospitals"]) == sum(n for n, _ in want.values())
    assert all(h["position"] for h in figures["hospitals"])
    page = client.get("/maps", headers=HTML)
    assert page.status_code == 200 and 'data-testid="chart-map"' in page.text
    assert page.text.count('data-testid="map-district-row"') == len(want)

    client = _as(world, "district_reviewer")  # a district bureau: the city's map, its own figures
    district = client.get("/api/maps/current/figures", params={"year": 2025}).json()
    assert district["region"] == "990100" and len(district["districts"]) == 1
    own = district["districts"][0]["code"]
    assert district["districts"][0]["cases"] == want[own][0]
    assert {h["district"] for h in district["hospitals"]} == {own}

    hospital = db.scalar(select(Hospital).where(Hospital.code == figures["hospitals"][0]["code"]))
    user = "hosp01"
    client = _as(world, user)
    mine = client.get("/api/maps/current/figures", params={"year": 2025}).json()
    assert len(mine["hospitals"]) == 1  # a hospital sees itself only
    own = mine["hospitals"][0]["code"]
    assert {d["code"] for d in mine["districts"]} == set(_sums(db, own))
    assert hospital is not None
    assert client.post("/api/maps/990100", files={"file": ("m.json", b"{}")}).status_code == 403


def _rectangles(codes: list[str]) -> dict:  # type: ignore[type-arg]
    features = []
    for i, code in enumerate(codes):
        x = 110 + i * 0.1
        ring = [[x, 20.0], [x + 0.1, 20.0], [x + 0.1, 20.1], [x, 20.1], [x, 20.0]]
        features.append(
            {
                "type": "Feature",
                "properties": {"adcode": code, "name": f"测试区{i}"},
                "geometry": {"type": "Polygon", "coordinates": [ring]},
            }
        )
    return {"type": "FeatureCollection", "features": features}


def test_upload_own_geojson(world, db) -> None:  # type: ignore[no-untyped-def]
    client = _as(world, "admin")
    codes = sorted(db.scalars(select(Region.code).where(Region.parent_code == "990100")))
    bad = _rectangles([*codes, "990199"])
    r = client.post("/api/maps/990100", files={"file": ("m.json", json.dumps(bad).encode())})
    assert r.status_code == 422 and "990199 不是本辖区的下级区划" in r.json()["error"]["message"]
    r = client.post("/api/maps/990100", files={"file": ("m.json", b"{not json")})
    assert r.status_code == 422 and "不是有效的 GeoJSON" in r.json()["error"]["message"]
    assert db.query(RegionMap).count() == 0
    good = json.dumps(_rectangles(codes), ensure_ascii=False).encode()
    r = client.post("/api/maps/990100", files={"file": ("m.json", good)}, data={"name": "测试区划"})
    assert r.status_code == 201 and r.json()["features"] == len(codes)
    shown = client.get("/api/maps/current").json()
    assert shown["features"][0]["properties"]["name"] == "测试区0"
    figures = client.get("/api/maps/current/figures", params={"year": 2025}).json()
    for h in figures["hospitals"]:  # placed inside their (new) district's rectangle
        i = codes.index(h["district"])
        assert 110 + i * 0.1 <= h["position"][0] <= 110 + (i + 1) * 0.1
    page = client.get("/maps", headers=HTML).text
    assert "测试区划" in page and "map-upload-form" in page
    r = client.post("/api/maps/980100", files={"file": ("m.json", good)})
    assert r.status_code == 403  # another city
    assert db.query(RegionMap).count() == 1
