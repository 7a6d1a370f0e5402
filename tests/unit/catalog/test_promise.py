from __future__ import annotations

from datetime import UTC, datetime, timedelta

from catalog_service.domain.promise import (
    CapacityRule,
    MallCapacity,
    MallRules,
    NoPromise,
    Promise,
    promise_for,
)
from tests.unit.catalog.conftest import LAS_VEGAS, NOW, STRIP, pilot_rules

OPEN = CapacityRule()


def mall(mall_id: str) -> MallRules:
    return next(m for m in pilot_rules() if m.mall_id == mall_id)


def test_a_near_point_gets_a_quarter_hour_promise_in_the_mall_s_zone() -> None:
    promise = promise_for(mall(LAS_VEGAS), STRIP, NOW, OPEN)

    assert isinstance(promise, Promise)
    assert promise.deliver_by.utcoffset() == timedelta(hours=-8)
    assert promise.deliver_by.minute % 15 == 0
    # 11:00 + 30 min prep + a short drive, rounded up to the quarter hour.
    assert promise.deliver_by.strftime("%H:%M") == "11:45"
    assert promise.human == "Arrives today by 11:45 AM"


def test_chandler_keeps_no_daylight_saving_time() -> None:
    chandler = mall("chandler-fashion-center")
    near = chandler.point
    summer = datetime(2026, 7, 15, 18, 0, tzinfo=UTC)

    in_winter = promise_for(chandler, near, NOW, OPEN)
    in_summer = promise_for(chandler, near, summer, OPEN)

    assert isinstance(in_winter, Promise) and isinstance(in_summer, Promise)
    assert in_winter.deliver_by.utcoffset() == timedelta(hours=-7)
    assert in_summer.deliver_by.utcoffset() == timedelta(hours=-7)
    vegas_summer = promise_for(mall(LAS_VEGAS), STRIP, summer, OPEN)
    assert isinstance(vegas_summer, Promise)
    assert vegas_summer.deliver_by.utcoffset() == timedelta(hours=-7)


def test_a_point_beyond_the_radius_is_outside_the_area() -> None:
    far = type(STRIP)(STRIP.lat + 1.0, STRIP.lng)

    assert promise_for(mall(LAS_VEGAS), far, NOW, OPEN) is NoPromise.OUTSIDE_AREA


def test_after_the_cutoff_same_day_is_closed() -> None:
    after_cutoff = datetime(2026, 11, 26, 3, 31, tzinfo=UTC)  # 19:31 in Las Vegas

    assert promise_for(mall(LAS_VEGAS), STRIP, after_cutoff, OPEN) is NoPromise.CLOSED


def test_an_order_before_opening_is_promised_from_the_opening_time() -> None:
    before_opening = datetime(2026, 11, 25, 15, 0, tzinfo=UTC)  # 07:00 in Las Vegas
    at_opening = datetime(2026, 11, 25, 18, 0, tzinfo=UTC)  # 10:00

    early = promise_for(mall(LAS_VEGAS), STRIP, before_opening, OPEN)
    on_time = promise_for(mall(LAS_VEGAS), STRIP, at_opening, OPEN)

    assert isinstance(early, Promise) and isinstance(on_time, Promise)
    assert early.deliver_by == on_time.deliver_by


def test_sunday_hours_are_the_mall_s_own() -> None:
    sunday_1030 = datetime(2026, 11, 29, 18, 30, tzinfo=UTC)  # 10:30 in Las Vegas; opens 11:00
    sunday_1100 = datetime(2026, 11, 29, 19, 0, tzinfo=UTC)
    sunday_1831 = datetime(2026, 11, 30, 2, 31, tzinfo=UTC)  # closes 19:00, cut-off 18:30

    early = promise_for(mall(LAS_VEGAS), STRIP, sunday_1030, OPEN)
    opening = promise_for(mall(LAS_VEGAS), STRIP, sunday_1100, OPEN)

    assert isinstance(early, Promise) and isinstance(opening, Promise)
    assert early.deliver_by == opening.deliver_by
    assert promise_for(mall(LAS_VEGAS), STRIP, sunday_1831, OPEN) is NoPromise.CLOSED


def test_capacity_pauses_or_delays_the_promise() -> None:
    base = promise_for(mall(LAS_VEGAS), STRIP, NOW, OPEN)
    delayed = promise_for(mall(LAS_VEGAS), STRIP, NOW, CapacityRule(True, 60))
    paused = promise_for(mall(LAS_VEGAS), STRIP, NOW, CapacityRule(False, 0))

    assert isinstance(base, Promise) and isinstance(delayed, Promise)
    assert delayed.deliver_by - base.deliver_by == timedelta(hours=1)
    assert paused is NoPromise.PAUSED


def test_a_cell_rule_adds_to_the_whole_area_rule() -> None:
    capacity = MallCapacity(CapacityRule(True, 15), {"cell-a": CapacityRule(True, 45)})

    assert capacity.rule_for({7: "cell-a"}) == CapacityRule(True, 45)
    assert capacity.rule_for({7: "cell-b"}) == CapacityRule(True, 15)
