from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

from catalog_service.domain.promise import (
    CapacityRule,
    MallCapacity,
    MallRules,
    NoPromise,
    Promise,
    WindowKind,
    promise_for,
    windows_for,
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


def test_after_the_cutoff_the_evening_slot_then_tomorrow_is_the_promise() -> None:
    after_cutoff = datetime(2026, 11, 26, 3, 31, tzinfo=UTC)  # 19:31 in Las Vegas
    too_late_to_pack = datetime(2026, 11, 26, 4, 31, tzinfo=UTC)  # 20:31; closes at 21:00

    evening = promise_for(mall(LAS_VEGAS), STRIP, after_cutoff, OPEN)
    tomorrow = promise_for(mall(LAS_VEGAS), STRIP, too_late_to_pack, OPEN)

    assert isinstance(evening, Promise) and isinstance(tomorrow, Promise)
    assert evening.window.kind is WindowKind.SCHEDULED
    assert evening.human == "Arrives today 8–10 PM"
    assert tomorrow.deliver_by.isoformat() == "2026-11-26T12:00:00-08:00"
    assert tomorrow.human == "Arrives tomorrow by 12 PM"
    # Offer ids made now are good for the day they were made on, not the delivery's.
    assert tomorrow.day.isoformat() == "2026-11-25"


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
    # Too late to pack on Sunday: Monday's first window, from its 10:00 opening.
    monday = promise_for(mall(LAS_VEGAS), STRIP, sunday_1831, OPEN)
    assert isinstance(monday, Promise)
    assert monday.deliver_by.isoformat() == "2026-11-30T12:00:00-08:00"


def test_capacity_delays_today_s_promise_or_pauses_today_for_tomorrow() -> None:
    base = promise_for(mall(LAS_VEGAS), STRIP, NOW, OPEN)
    delayed = promise_for(mall(LAS_VEGAS), STRIP, NOW, CapacityRule(True, 60))
    paused = promise_for(mall(LAS_VEGAS), STRIP, NOW, CapacityRule(False, 0))

    assert isinstance(base, Promise) and isinstance(delayed, Promise)
    assert delayed.deliver_by - base.deliver_by == timedelta(hours=1)
    assert isinstance(paused, Promise)
    assert paused.human == "Arrives tomorrow by 12 PM"


def test_paused_with_no_hours_tomorrow_gives_the_paused_reason() -> None:
    today_only = replace(mall(LAS_VEGAS), hours={"wed": mall(LAS_VEGAS).hours["wed"]})

    assert promise_for(today_only, STRIP, NOW, CapacityRule(False, 0)) is NoPromise.PAUSED
    assert promise_for(today_only, STRIP, NOW, OPEN) != NoPromise.PAUSED


def test_a_slot_is_offered_beside_the_sooner_promise_while_most_of_it_is_ahead() -> None:
    before_six = datetime(2026, 11, 26, 1, 59, tzinfo=UTC)  # 17:59 in Las Vegas
    begun = datetime(2026, 11, 26, 2, 30, tzinfo=UTC)  # 18:30
    half_gone = datetime(2026, 11, 26, 3, 0, tzinfo=UTC)  # 19:00

    def labels(now: datetime) -> list[str]:
        windows = windows_for(mall(LAS_VEGAS), STRIP, now, OPEN)
        assert isinstance(windows, list)
        return [w.label(now.astimezone(mall(LAS_VEGAS).zone).date()) for w in windows][:3]

    assert labels(before_six) == ["by 6:45 PM", "6–8 PM", "8–10 PM"]
    assert labels(begun) == ["by 7:15 PM", "6–8 PM", "8–10 PM"]
    assert labels(half_gone)[:2] == ["by 7:45 PM", "8–10 PM"]


def test_windows_are_the_asap_one_then_two_hour_slots_today_and_tomorrow() -> None:
    windows = windows_for(mall(LAS_VEGAS), STRIP, NOW, OPEN)

    assert isinstance(windows, list)
    today = NOW.astimezone(mall(LAS_VEGAS).zone).date()
    labels = [w.label(today) for w in windows]
    assert labels == [
        "by 11:45 AM",
        "12–2 PM",
        "2–4 PM",
        "4–6 PM",
        "6–8 PM",
        "8–10 PM",
        "tomorrow by 12 PM",
        "tomorrow 12–2 PM",
        "tomorrow 2–4 PM",
        "tomorrow 4–6 PM",
        "tomorrow 6–8 PM",
        "tomorrow 8–10 PM",
    ]
    assert windows[0].kind is WindowKind.ASAP
    assert all(w.kind is WindowKind.SCHEDULED for w in windows[1:])


def test_windows_are_mall_level_so_two_points_near_each_other_get_the_same_slots() -> None:
    near = type(STRIP)(STRIP.lat + 0.005, STRIP.lng)
    here = windows_for(mall(LAS_VEGAS), STRIP, NOW, OPEN)
    there = windows_for(mall(LAS_VEGAS), near, NOW, OPEN)

    assert isinstance(here, list) and isinstance(there, list)
    assert [(w.starts_at, w.ends_at) for w in here[1:]] == [
        (w.starts_at, w.ends_at) for w in there[1:]
    ]


def test_a_delay_drops_today_s_slots_it_cannot_reach() -> None:
    at_five = datetime(2026, 11, 26, 1, 0, tzinfo=UTC)  # 17:00 in Las Vegas

    windows = windows_for(mall(LAS_VEGAS), STRIP, at_five, CapacityRule(True, 120))

    assert isinstance(windows, list)
    today = at_five.astimezone(mall(LAS_VEGAS).zone).date()
    # 17:00 + 30 min prep + 2 h delay + the drive: by 7:45 PM; the 6-8 PM slot is still
    # reachable before it ends, the 4-6 PM one (begun) is not offered.
    assert [w.label(today) for w in windows][:4] == [
        "by 7:45 PM",
        "6–8 PM",
        "8–10 PM",
        "tomorrow by 12 PM",
    ]


def test_a_cell_rule_adds_to_the_whole_area_rule() -> None:
    capacity = MallCapacity(CapacityRule(True, 15), {"cell-a": CapacityRule(True, 45)})

    assert capacity.rule_for({7: "cell-a"}) == CapacityRule(True, 45)
    assert capacity.rule_for({7: "cell-b"}) == CapacityRule(True, 15)
