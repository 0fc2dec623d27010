"""A bureau's own boundary GeoJSON, checked before it is stored (ADR 0033): a
FeatureCollection whose features are Polygons / MultiPolygons with longitude and
latitude in range, each naming its region by ``adcode`` (or ``code``) and ``name``;
codes must be the expected child regions, each at most once.  Errors name the
feature and the rule in Chinese; nothing is partially accepted."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

MAX_FEATURES = 500
MAX_POINTS = 400_000


class GeoError(ValueError):
    """A rule the GeoJSON breaks (Chinese message)."""


def _rings(geometry: dict[str, Any], where: str) -> list[list[Any]]:
    kind = geometry.get("type") if isinstance(geometry, dict) else None
    coords = geometry.get("coordinates") if isinstance(geometry, dict) else None
    if kind == "Polygon" and isinstance(coords, list):
        return coords
    if kind == "MultiPolygon" and isinstance(coords, list):
        return [ring for poly in coords if isinstance(poly, list) for ring in poly]
    raise GeoError(f"{where}：geometry 须为 Polygon 或 MultiPolygon（收到 {kind!r}）")


def _check_ring(ring: Any, where: str) -> int:
    if not isinstance(ring, list) or len(ring) < 4:
        raise GeoError(f"{where}：每个环至少 4 个点（首尾相同）")
    for p in ring:
        ok = isinstance(p, list) and len(p) >= 2 and all(isinstance(v, int | float) for v in p[:2])
        if not ok or not (-180 <= p[0] <= 180 and -90 <= p[1] <= 90):
            raise GeoError(f"{where}：坐标须为 [经度, 纬度] 且在有效范围内（收到 {p!r}）")
    if ring[0][:2] != ring[-1][:2]:
        raise GeoError(f"{where}：环的首点与末点须相同")
    return len(ring)


def check_geojson(data: Any, expected: Iterable[str]) -> dict[str, Any]:
    """The checked FeatureCollection, each feature's ``properties`` reduced to
    ``adcode`` and ``name`` (and ``center`` when given); ``expected``: the child region
    codes the map may draw (extra codes are refused, missing ones allowed)."""
    wanted = set(expected)
    if not isinstance(data, dict) or data.get("type") != "FeatureCollection":
        raise GeoError("GeoJSON 须为 FeatureCollection")
    features = data.get("features")
    if not isinstance(features, list) or not features:
        raise GeoError("features：至少需要一个区域")
    if len(features) > MAX_FEATURES:
        raise GeoError(f"features：区域不超过 {MAX_FEATURES} 个（收到 {len(features)}）")
    out, seen, points = [], set(), 0
    for n, f in enumerate(features, 1):
        props = f.get("properties") if isinstance(f, dict) else None
        props = props if isinstance(props, dict) else {}
        code = str(props.get("adcode") or props.get("code") or "").strip()
        name = str(props.get("name") or "").strip()
        where = f"第 {n} 个区域（{name or code or '无名称'}）"
        if not code or not name:
            raise GeoError(f"{where}：properties 须有 adcode（区划代码）和 name")
        if code not in wanted:
            allowed = "、".join(sorted(wanted))
            raise GeoError(f"{where}：区划代码 {code} 不是本辖区的下级区划（可用：{allowed}）")
        if code in seen:
            raise GeoError(f"{where}：区划代码 {code} 重复")
        seen.add(code)
        for ring in _rings(f.get("geometry"), where):
            points += _check_ring(ring, where)
        if points > MAX_POINTS:
            raise GeoError(f"坐标点总数超过 {MAX_POINTS:,}，请先简化边界")
        kept: dict[str, Any] = {"adcode": code, "name": name}
        center = props.get("center")
        if isinstance(center, list) and len(center) == 2:
            kept["center"] = center
        out.append({"type": "Feature", "properties": kept, "geometry": f["geometry"]})
    return {"type": "FeatureCollection", "features": out}


def centroid(feature: dict[str, Any]) -> tuple[float, float]:
    """The feature's ``center`` property, else the mean of its outer ring's points."""
    center = feature.get("properties", {}).get("center")
    if center:
        return float(center[0]), float(center[1])
    geometry = feature["geometry"]
    ring = geometry["coordinates"][0]
    if geometry["type"] == "MultiPolygon":
        ring = ring[0]
    pts = ring[:-1] or ring
    return sum(p[0] for p in pts) / len(pts), sum(p[1] for p in pts) / len(pts)
