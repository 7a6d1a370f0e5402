"""Which malls may serve a point: h3 cells precomputed per mall, so a query never scans malls."""

from __future__ import annotations

import math
from collections.abc import Iterable

import h3

from catalog_service.domain.promise import MallRules
from shared.geo import Point, haversine_m


class Coverage:
    def __init__(self, malls: Iterable[MallRules], resolution: int) -> None:
        self.resolution = resolution
        self._malls_by_cell: dict[str, tuple[str, ...]] = {}
        edge_m = float(h3.average_hexagon_edge_length(resolution, unit="m"))
        for mall in malls:
            for cell in cells_around(mall.point, mall.delivery_radius_m, resolution, edge_m):
                self._malls_by_cell[cell] = (*self._malls_by_cell.get(cell, ()), mall.mall_id)

    def cell_of(self, point: Point) -> str:
        return str(h3.latlng_to_cell(point.lat, point.lng, self.resolution))

    def candidate_malls(self, cell: str) -> tuple[str, ...]:
        return self._malls_by_cell.get(cell, ())


def cells_around(center: Point, radius_m: float, resolution: int, edge_m: float) -> set[str]:
    """Every cell that may hold a point within `radius_m` (a superset; callers check exactly)."""
    # Neighbouring hexagon centres are sqrt(3) edges apart; one extra ring absorbs the edges.
    rings = math.ceil(radius_m / (math.sqrt(3) * edge_m)) + 1
    origin = h3.latlng_to_cell(center.lat, center.lng, resolution)
    cells = set()
    for cell in h3.grid_disk(origin, rings):
        lat, lng = h3.cell_to_latlng(cell)
        if haversine_m(center, Point(lat, lng)) <= radius_m + 2 * edge_m:
            cells.add(str(cell))
    return cells


def cells_of_point(point: Point, resolutions: Iterable[int]) -> dict[int, str]:
    return {res: str(h3.latlng_to_cell(point.lat, point.lng, res)) for res in resolutions}


def resolution_of(cell: str) -> int:
    return int(h3.get_resolution(cell))


def center_of(cell: str) -> Point:
    lat, lng = h3.cell_to_latlng(cell)
    return Point(float(lat), float(lng))


def is_valid_cell(cell: str) -> bool:
    return bool(h3.is_valid_cell(cell))
