"""The one travel model every service uses, so the catalog's promise and dispatch's routes agree.

Road distance is approximated as great-circle distance times a road factor; travel time is that
distance over an average speed. Both are configurable per mall.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

EARTH_RADIUS_M = 6_371_008.8
METERS_PER_MILE = 1609.344


@dataclass(frozen=True, slots=True)
class Point:
    lat: float
    lng: float


@dataclass(frozen=True, slots=True)
class TravelModel:
    road_factor: float = 1.3
    average_speed_kmh: float = 40.0

    def road_meters(self, a: Point, b: Point) -> float:
        return haversine_m(a, b) * self.road_factor

    def travel_seconds(self, a: Point, b: Point) -> float:
        return self.seconds_for_meters(self.road_meters(a, b))

    def seconds_for_meters(self, road_meters: float) -> float:
        return road_meters / (self.average_speed_kmh * 1000.0 / 3600.0)


def haversine_m(a: Point, b: Point) -> float:
    phi1, phi2 = math.radians(a.lat), math.radians(b.lat)
    dphi = phi2 - phi1
    dlmb = math.radians(b.lng - a.lng)
    h = math.sin(dphi / 2) ** 2 + math.cos(phi1) * math.cos(phi2) * math.sin(dlmb / 2) ** 2
    return 2 * EARTH_RADIUS_M * math.asin(min(1.0, math.sqrt(h)))


def meters_to_miles(meters: float) -> float:
    return meters / METERS_PER_MILE
