"""District shapes of the fictitious demo city, generated (ADR 0033): the Voronoi cells
of one seeded site per district inside the city's bounding box, each cell the box
clipped by the perpendicular bisector with every other site (convex, exact for a
handful of districts).  Coordinates are fictitious longitude / latitude near 120°E
30°N, rounded to 1e-5°.  The same seed and districts always give the same map."""

from __future__ import annotations

import random
from collections.abc import Sequence
from typing import Any

Point = tuple[float, float]
BOX: tuple[float, float, float, float] = (120.00, 30.00, 120.90, 30.70)  # lon0, lat0, lon1, lat1


def _clip(poly: list[Point], a: Point, b: Point) -> list[Point]:
    """The part of the convex polygon ``poly`` nearer to site ``a`` than to ``b``."""
    mx, my = (a[0] + b[0]) / 2, (a[1] + b[1]) / 2
    nx, ny = b[0] - a[0], b[1] - a[1]

    def side(p: Point) -> float:  # < 0: a's side of the bisector
        return (p[0] - mx) * nx + (p[1] - my) * ny

    out: list[Point] = []
    for i, p in enumerate(poly):
        q = poly[(i + 1) % len(poly)]
        sp, sq = side(p), side(q)
        if sp <= 0:
            out.append(p)
        if (sp < 0 < sq) or (sq < 0 < sp):
            t = sp / (sp - sq)
            out.append((p[0] + t * (q[0] - p[0]), p[1] + t * (q[1] - p[1])))
    return out


def _sites(n: int, seed: int) -> list[Point]:
    rng = random.Random(seed)
    lon0, lat0, lon1, lat1 = BOX
    sites: list[Point] = []
    while len(sites) < n:  # spread out: keep a site only away from the others
        p = (rng.uniform(lon0 + 0.05, lon1 - 0.05), rng.uniform(lat0 + 0.05, lat1 - 0.05))
        if (
            all((p[0] - s[0]) ** 2 + (p[1] - s[1]) ** 2 > 0.02 for s in sites)
            or rng.random() < 0.02
        ):
            sites.append(p)
    return sites


def inside(cell: Sequence[Point], rng: random.Random) -> Point:
    """A point strictly inside a convex cell (a random convex combination of its
    vertices pulled towards their mean)."""
    cx = sum(p[0] for p in cell) / len(cell)
    cy = sum(p[1] for p in cell) / len(cell)
    v = cell[rng.randrange(len(cell))]
    t = rng.uniform(0.1, 0.6)
    return (round(cx + t * (v[0] - cx), 5), round(cy + t * (v[1] - cy), 5))


def demo_map(districts: Sequence[tuple[str, str]], seed: int = 1) -> dict[str, Any]:
    """A GeoJSON FeatureCollection: one Polygon per (code, name) of ``districts``, with
    ``properties`` ``adcode``, ``name``, ``center`` (the site)."""
    sites = _sites(len(districts), seed)
    lon0, lat0, lon1, lat1 = BOX
    features = []
    for i, (code, name) in enumerate(districts):
        cell: list[Point] = [(lon0, lat0), (lon1, lat0), (lon1, lat1), (lon0, lat1)]
        for j, other in enumerate(sites):
            if j != i:
                cell = _clip(cell, sites[i], other)
        ring = [[round(x, 5), round(y, 5)] for x, y in cell]
        ring.append(ring[0])
        features.append(
            {
                "type": "Feature",
                "properties": {
                    "adcode": code,
                    "name": name,
                    "center": [round(sites[i][0], 5), round(sites[i][1], 5)],
                },
                "geometry": {"type": "Polygon", "coordinates": [ring]},
            }
        )
    return {"type": "FeatureCollection", "features": features}
