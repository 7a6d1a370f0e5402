"""The pilot malls, shipped with the package so nothing reads files outside the repo at run time."""

from __future__ import annotations

import json
from datetime import time
from functools import cache
from importlib import resources

from pydantic import BaseModel, ConfigDict

from shared.geo import Point

WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


class Mall(BaseModel):
    model_config = ConfigDict(frozen=True)

    id: str
    name: str
    address: str
    lat: float
    lng: float
    timezone: str
    # weekday ("mon".."sun") -> (open, close), local time of the mall
    hours: dict[str, tuple[time, time]]

    @property
    def point(self) -> Point:
        return Point(self.lat, self.lng)


def _expand_hours(raw: dict[str, list[str]]) -> dict[str, tuple[time, time]]:
    hours: dict[str, tuple[time, time]] = {}
    for days, (opens, closes) in raw.items():
        first, _, last = days.partition("-")
        span = WEEKDAYS[WEEKDAYS.index(first) : WEEKDAYS.index(last or first) + 1]
        for day in span:
            hours[day] = (time.fromisoformat(opens), time.fromisoformat(closes))
    return hours


@cache
def pilot_malls() -> tuple[Mall, ...]:
    raw = json.loads(resources.files("shared").joinpath("data/pilot_malls.json").read_text())
    return tuple(Mall(**{**m, "hours": _expand_hours(m["hours"])}) for m in raw["malls"])
