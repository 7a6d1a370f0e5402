"""A mall's outline and distances to a path, on a local plane: exact enough across a mall's
delivery area.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Sequence

from shared.geo import Point, haversine_m

METERS_PER_DEGREE = 111_320.0


def _to_plane(origin: Point, point: Point) -> tuple[float, float]:
    """Metres east and north of `origin`: exact enough across a mall's delivery area."""
    east = (point.lng - origin.lng) * METERS_PER_DEGREE * math.cos(math.radians(origin.lat))
    return east, (point.lat - origin.lat) * METERS_PER_DEGREE


def _from_plane(origin: Point, east: float, north: float) -> Point:
    return Point(
        round(origin.lat + north / METERS_PER_DEGREE, 6),
        round(origin.lng + east / (METERS_PER_DEGREE * math.cos(math.radians(origin.lat))), 6),
    )


def _hull(points: list[tuple[float, float]]) -> list[tuple[float, float]]:
    """Convex hull, counter-clockwise (Andrew's monotone chain)."""
    ordered = sorted(set(points))
    if len(ordered) < 3:
        return ordered

    def cross(o: tuple[float, float], a: tuple[float, float], b: tuple[float, float]) -> float:
        return (a[0] - o[0]) * (b[1] - o[1]) - (a[1] - o[1]) * (b[0] - o[0])

    lower: list[tuple[float, float]] = []
    upper: list[tuple[float, float]] = []
    for p in ordered:
        while len(lower) >= 2 and cross(lower[-2], lower[-1], p) <= 0:
            lower.pop()
        lower.append(p)
    for p in reversed(ordered):
        while len(upper) >= 2 and cross(upper[-2], upper[-1], p) <= 0:
            upper.pop()
        upper.append(p)
    return lower[:-1] + upper[:-1]


def mall_outline(mall: Point, stores: Sequence[Point], pad_m: float = 80.0) -> list[Point]:
    """The mall's footprint as the console draws it: the hull of its centre and stores, padded
    all round. The pilot data has no building outlines; the stores' own positions do."""
    corners = 12
    around = [
        (
            x + pad_m * math.cos(2 * math.pi * k / corners),
            y + pad_m * math.sin(2 * math.pi * k / corners),
        )
        for x, y in (_to_plane(mall, p) for p in [mall, *stores])
        for k in range(corners)
    ]
    return [_from_plane(mall, east, north) for east, north in _hull(around)]


def distance_to_path_m(point: Point, path: Sequence[Point]) -> float:
    if len(path) == 1:
        return haversine_m(point, path[0])
    best = math.inf
    flat = [_to_plane(point, p) for p in path]
    for (ax, ay), (bx, by) in itertools.pairwise(flat):
        dx, dy = bx - ax, by - ay
        length2 = dx * dx + dy * dy
        t = 0.0 if length2 == 0 else max(0.0, min(1.0, -(ax * dx + ay * dy) / length2))
        best = min(best, math.hypot(ax + t * dx, ay + t * dy))
    return best
