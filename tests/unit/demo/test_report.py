from __future__ import annotations

import re
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

from services.demo.baseline import BaselineResult, BaselineTrip
from services.demo.report import (
    OrderOutcome,
    Pay,
    RouteOutcome,
    mall_table,
    summarize,
    summary_line,
)
from shared.geo import METERS_PER_MILE

T0 = datetime(2026, 11, 25, 20, 0, tzinfo=UTC)
SUMMARY_FORMAT = re.compile(
    r"SUMMARY orders=\d+ delivered=\d+ on_time_pct=[\d.]+ median_minutes_to_door=[\d.]+ "
    r"miles_per_order=[\d.]+ orders_per_driver_hour=[\d.]+ baseline_miles_per_order=[\d.]+ "
    r"baseline_orders_per_driver_hour=[\d.]+ driver_pay_per_hour=[\d.]+ "
    r"paid_wait_minutes=[\d.]+ offer_accept_seconds_p50=[\d.]+ store_leaks=\d+ "
    r"later_window_pct=[\d.]+ turned_away_pct=[\d.]+"
)


def an_order(order_id: str, *, minutes_to_door: float | None, late: bool = False) -> OrderOutcome:
    delivered = None if minutes_to_door is None else T0 + timedelta(minutes=minutes_to_door)
    promise = T0 + timedelta(minutes=(minutes_to_door or 60) + (-5 if late else 5))
    return OrderOutcome(
        order_id=order_id,
        mall_id="m",
        status="delivered" if delivered else "packaged",
        placed_at=T0,
        deliver_by=promise,
        delivered_at=delivered,
    )


def a_route(miles: float, hours: float, accept_s: float | None = 30.0) -> RouteOutcome:
    return RouteOutcome(
        route_id="r",
        driver_id="d",
        mall_id="m",
        accepted_at=T0,
        completed_at=T0 + timedelta(hours=hours),
        driven_meters=miles * METERS_PER_MILE,
        offer_accept_seconds=accept_s,
        paid_wait_minutes=1.5,
    )


BASELINE = BaselineResult(
    (
        BaselineTrip("o1", "d", T0, T0 + timedelta(hours=1), 3 * METERS_PER_MILE),
        BaselineTrip("o2", "d", T0, T0 + timedelta(hours=1), 3 * METERS_PER_MILE),
    )
)


def test_figures_come_from_the_delivered_orders_and_the_routes_driven() -> None:
    orders = [
        an_order("o1", minutes_to_door=30),
        an_order("o2", minutes_to_door=50, late=True),
        an_order("o3", minutes_to_door=None),
    ]
    routes = [a_route(miles=4, hours=0.5, accept_s=20), a_route(miles=2, hours=0.5, accept_s=60)]

    summary = summarize(orders, routes, BASELINE, [Pay(4_000, 7_200)], store_leaks=0)

    f = summary.figures
    assert (f.orders, f.delivered) == (3, 2)
    assert f.on_time_pct == pytest.approx(50.0)
    assert f.median_minutes_to_door == pytest.approx(40.0)
    assert f.miles_per_order == pytest.approx(3.0)
    assert f.orders_per_driver_hour == pytest.approx(2.0)
    assert f.baseline_miles_per_order == pytest.approx(3.0)
    assert f.baseline_orders_per_driver_hour == pytest.approx(1.0)
    assert summary.driver_pay_per_hour == pytest.approx(20.0)
    assert summary.paid_wait_minutes == pytest.approx(3.0)
    assert summary.offer_accept_seconds_p50 == pytest.approx(40.0)


def test_the_summary_line_has_every_field_in_order() -> None:
    summary = summarize(
        [an_order("o1", minutes_to_door=30)], [a_route(1, 1)], BASELINE, [], store_leaks=2
    )

    line = summary_line(summary)

    assert SUMMARY_FORMAT.fullmatch(line), line
    assert line.endswith("store_leaks=2 later_window_pct=0.0 turned_away_pct=0.0")
    assert "orders=1 delivered=1 on_time_pct=100.0 median_minutes_to_door=30.0 " in line


def test_a_day_without_deliveries_reports_zeros() -> None:
    summary = summarize([an_order("o1", minutes_to_door=None)], [], BaselineResult(()), [], 0)

    assert SUMMARY_FORMAT.fullmatch(summary_line(summary))
    assert summary.figures.on_time_pct == 0.0
    assert summary.driver_pay_per_hour == 0.0


def test_the_mall_table_has_a_header_and_a_row_per_mall() -> None:
    summary = summarize([an_order("o1", minutes_to_door=30)], [a_route(1, 1)], BASELINE, [], 0)

    table = mall_table([("Fashion Show Mall", summary.figures), ("all malls", summary.figures)])

    lines = table.splitlines()
    assert lines[0].split()[:3] == ["mall", "orders", "deliv"]
    assert lines[2].startswith("Fashion Show Mall")
    assert lines[3].split()[:4] == ["all", "malls", "1", "1"]


def test_an_undelivered_order_past_its_promise_counts_as_late() -> None:
    on_time = an_order("o1", minutes_to_door=30)
    overdue = OrderOutcome(
        order_id="o2",
        mall_id=on_time.mall_id,
        status="picked_up",
        placed_at=on_time.placed_at,
        deliver_by=on_time.deliver_by,
        delivered_at=None,
        observed_at=on_time.deliver_by + timedelta(minutes=1),
    )
    in_flight = replace(overdue, order_id="o3", observed_at=on_time.deliver_by)

    summary = summarize([on_time, overdue, in_flight], [a_route(1, 1)], BASELINE, [], 0)

    assert summary.figures.on_time_pct == 50.0


def test_a_routes_hours_include_the_drive_back_before_it_but_not_the_wait() -> None:
    route = a_route(miles=4, hours=0.5)
    with_drive_back = replace(route, returning_seconds=900.0)

    assert route.hours == pytest.approx(0.5)
    assert with_drive_back.hours == pytest.approx(0.75)


def test_on_time_is_within_the_order_s_own_window_and_after_the_day_is_not_judged() -> None:
    evening_start = T0 + timedelta(hours=2)
    day_ends = T0 + timedelta(hours=1)
    in_window = replace(
        an_order("o1", minutes_to_door=150),
        window_start=evening_start,
        deliver_by=T0 + timedelta(hours=4),
    )
    too_early = replace(in_window, order_id="o2", delivered_at=T0 + timedelta(minutes=90))
    after_day = replace(
        an_order("o3", minutes_to_door=None),
        window_start=evening_start,
        deliver_by=T0 + timedelta(hours=4),
        day_ends_at=day_ends,
        observed_at=T0 + timedelta(hours=5),
        is_later_window=True,
    )

    summary = summarize(
        [in_window, too_early, after_day],
        [a_route(1, 1)],
        BASELINE,
        [],
        0,
        shoppers=4,
        turned_away=1,
    )

    assert summary.figures.on_time_pct == pytest.approx(50.0)
    assert summary.after_day == 1
    assert summary.later_window_pct == pytest.approx(100 / 3)
    assert summary.turned_away_pct == pytest.approx(25.0)
    assert summary_line(summary).endswith("later_window_pct=33.3 turned_away_pct=25.0")
