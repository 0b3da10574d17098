"""Planar geometry for the synthetic city: convex quads in a local kilometre frame.

The city is laid out in kilometres (x east, y north) from its south-west corner and converted
to WGS84 only when written, so splitting stays simple arithmetic. Every split cuts a convex quad
by a straight line between two opposite edges, which keeps both pieces convex and makes the
children tile their parent exactly (no gaps, no overlaps).
"""

from __future__ import annotations

import math
import random
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

Point = tuple[float, float]

KM_PER_DEG_LAT = 110.574
KM_PER_DEG_LNG_AT_EQUATOR = 111.320


@dataclass(frozen=True)
class Quad:
    """Corners in counter-clockwise order: south-west, south-east, north-east, north-west."""

    sw: Point
    se: Point
    ne: Point
    nw: Point

    @classmethod
    def rect(cls, x0: float, y0: float, x1: float, y1: float) -> Quad:
        return cls((x0, y0), (x1, y0), (x1, y1), (x0, y1))

    @property
    def corners(self) -> tuple[Point, Point, Point, Point]:
        return (self.sw, self.se, self.ne, self.nw)

    @property
    def width(self) -> float:
        return (_dist(self.sw, self.se) + _dist(self.nw, self.ne)) / 2

    @property
    def height(self) -> float:
        return (_dist(self.sw, self.nw) + _dist(self.se, self.ne)) / 2

    def point(self, u: float, v: float) -> Point:
        """Bilinear interpolation: (0, 0) is the south-west corner, (1, 1) the north-east."""
        south = _lerp(self.sw, self.se, u)
        north = _lerp(self.nw, self.ne, u)
        return _lerp(south, north, v)


def _dist(a: Point, b: Point) -> float:
    return math.hypot(b[0] - a[0], b[1] - a[1])


def _lerp(a: Point, b: Point, t: float) -> Point:
    return (a[0] + (b[0] - a[0]) * t, a[1] + (b[1] - a[1]) * t)


def _cut(quad: Quad, t_low: float, t_high: float) -> tuple[Quad, Quad]:
    """Cut a quad across its longer axis; returns (west/south piece, east/north piece)."""
    if quad.width >= quad.height:
        a, b = _lerp(quad.sw, quad.se, t_low), _lerp(quad.nw, quad.ne, t_high)
        return Quad(quad.sw, a, b, quad.nw), Quad(a, quad.se, quad.ne, b)
    a, b = _lerp(quad.sw, quad.nw, t_low), _lerp(quad.se, quad.ne, t_high)
    return Quad(quad.sw, quad.se, b, a), Quad(a, b, quad.ne, quad.nw)


def split_quad(
    quad: Quad, weights: Sequence[float], rng: random.Random, jitter: float = 0.12
) -> list[Quad]:
    """Tile `quad` into len(weights) convex pieces whose areas follow the weights.

    Recursive halving along the longer axis keeps pieces close to square; the two ends of each
    cut move independently by up to `jitter` so the result looks drawn rather than ruled.
    """
    if len(weights) == 1:
        return [quad]
    half = len(weights) // 2
    low, high = sum(weights[:half]), sum(weights[half:])
    frac = low / (low + high) if low + high > 0 else half / len(weights)

    def wobble() -> float:
        return min(0.92, max(0.08, frac * (1 + rng.uniform(-jitter, jitter))))

    first, second = _cut(quad, wobble(), wobble())
    return split_quad(first, weights[:half], rng, jitter) + split_quad(
        second, weights[half:], rng, jitter
    )


@dataclass(frozen=True)
class Projection:
    """Local kilometres → WGS84 around an origin (an equirectangular approximation is
    accurate to metres over a 30 km city, which is all a map of grids needs)."""

    origin_lat: float
    origin_lng: float

    def to_lnglat(self, p: Point) -> tuple[float, float]:
        km_per_deg_lng = KM_PER_DEG_LNG_AT_EQUATOR * math.cos(math.radians(self.origin_lat))
        return (
            round(self.origin_lng + p[0] / km_per_deg_lng, 6),
            round(self.origin_lat + p[1] / KM_PER_DEG_LAT, 6),
        )

    def polygon(self, quad: Quad) -> dict[str, Any]:
        ring = [list(self.to_lnglat(c)) for c in quad.corners]
        ring.append(ring[0])
        return {"type": "Polygon", "coordinates": [ring]}

    def centroid(self, quad: Quad) -> tuple[float, float]:
        """(lat, lng) of the area centroid (shoelace formula)."""
        pts = quad.corners
        area = cx = cy = 0.0
        for (x0, y0), (x1, y1) in zip(pts, pts[1:] + pts[:1], strict=True):
            cross = x0 * y1 - x1 * y0
            area += cross
            cx += (x0 + x1) * cross
            cy += (y0 + y1) * cross
        area /= 2
        lng, lat = self.to_lnglat((cx / (6 * area), cy / (6 * area)))
        return lat, lng


def polygon_bbox(polygon: dict[str, Any]) -> tuple[float, float, float, float]:
    """(min_lng, min_lat, max_lng, max_lat) of a GeoJSON Polygon's outer ring."""
    ring = polygon["coordinates"][0]
    lngs = [p[0] for p in ring]
    lats = [p[1] for p in ring]
    return min(lngs), min(lats), max(lngs), max(lats)
