"""Maps (issue 15 item 3): the demo city's generated districts and the checks of a
bureau's own GeoJSON."""

from __future__ import annotations

import copy
import itertools

import pytest

from yibao.engines.geo import GeoError, centroid, check_geojson, demo_map
from yibao.engines.geo.demo import BOX

DISTRICTS = [(f"9901{i:02d}", f"区{i}") for i in range(2, 8)]


def _area(ring: list[list[float]]) -> float:
    return abs(sum(x0 * y1 - x1 * y0 for (x0, y0), (x1, y1) in itertools.pairwise(ring))) / 2


def _contains(ring: list[list[float]], p: list[float]) -> bool:
    inside = False
    for (x0, y0), (x1, y1) in itertools.pairwise(ring):
        if (y0 > p[1]) != (y1 > p[1]) and p[0] < x0 + (p[1] - y0) * (x1 - x0) / (y1 - y0):
            inside = not inside
    return inside


def test_demo_districts_tile_the_city() -> None:
    m = demo_map(DISTRICTS, seed=990100)
    assert [f["properties"]["adcode"] for f in m["features"]] == [c for c, _ in DISTRICTS]
    rings = [f["geometry"]["coordinates"][0] for f in m["features"]]
    assert all(r[0] == r[-1] and len(r) >= 4 for r in rings)
    lon0, lat0, lon1, lat1 = BOX
    total = sum(_area(r) for r in rings)
    assert abs(total - (lon1 - lon0) * (lat1 - lat0)) < 1e-6  # no gap, no overlap
    for f, ring in zip(m["features"], rings, strict=True):  # each site in its own cell
        assert _contains(ring, f["properties"]["center"])
    assert demo_map(DISTRICTS, seed=990100) == m  # reproducible
    assert check_geojson(m, [c for c, _ in DISTRICTS])["features"][0]["properties"]["center"]


def _one(code: str = "990102", **geometry: object) -> dict:  # type: ignore[type-arg]
    ring = [[120.0, 30.0], [120.1, 30.0], [120.1, 30.1], [120.0, 30.0]]
    geom = geometry or {"type": "Polygon", "coordinates": [ring]}
    return {
        "type": "FeatureCollection",
        "features": [
            {"type": "Feature", "properties": {"adcode": code, "name": "甲区"}, "geometry": geom}
        ],
    }


def test_bureau_geojson_is_checked() -> None:
    ok = check_geojson(_one(), ["990102", "990103"])
    assert ok["features"][0]["properties"] == {"adcode": "990102", "name": "甲区"}
    assert centroid(ok["features"][0]) == pytest.approx((120.0666667, 30.0333333))
    multi = _one(
        type="MultiPolygon", coordinates=[_one()["features"][0]["geometry"]["coordinates"]]
    )
    assert check_geojson(multi, ["990102"])["features"][0]["geometry"]["type"] == "MultiPolygon"
    cases = [
        ({"type": "Feature"}, "FeatureCollection"),
        (_one("990199"), "不是本辖区的下级区划"),
        (_one(type="Point", coordinates=[120, 30]), "Polygon 或 MultiPolygon"),
        (
            _one(type="Polygon", coordinates=[[[120, 30], [121, 30], [121, 31], [120, 31]]]),
            "首点与末点",
        ),
        (
            _one(type="Polygon", coordinates=[[[200, 30], [121, 30], [121, 31], [200, 30]]]),
            "有效范围",
        ),
    ]
    for data, words in cases:
        with pytest.raises(GeoError, match=words):
            check_geojson(data, ["990102"])
    double = _one()
    double["features"].append(copy.deepcopy(double["features"][0]))
    with pytest.raises(GeoError, match="重复"):
        check_geojson(double, ["990102"])
    nameless = _one()
    nameless["features"][0]["properties"] = {"adcode": "990102"}
    with pytest.raises(GeoError, match="adcode（区划代码）和 name"):
        check_geojson(nameless, ["990102"])
