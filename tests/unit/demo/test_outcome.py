"""An order's outcome as the demo judges it, from what the order service showed."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from services.demo import PlacedOrder, order_outcome
from shared.clock import Clock, clock, set_clock
from shared.geo import Point

T0 = datetime(2026, 11, 25, 19, 30, tzinfo=UTC)


def on_the_way(deliver_by: datetime) -> PlacedOrder:
    return PlacedOrder(
        order_id="o1",
        token="t",
        mall_id="m",
        point=Point(36.1, -115.1),
        pin=None,
        view={
            "status": "picked_up",
            "placed_at": T0.isoformat(),
            "deliver_by": deliver_by.isoformat(),
            "window": {"starts_at": T0.isoformat(), "ends_at": deliver_by.isoformat()},
            "timeline": [{"at": T0.isoformat(), "status": "placed"}],
        },
    )


def test_an_order_on_the_way_when_the_demo_stopped_is_not_late_for_the_minutes_spent_reading() -> (
    None
):
    """Issue 16: the demo judged open orders at the moment it read them back, minutes of the
    suite's clock after it had stopped its drivers; an order still within its window at the stop
    became "late" while nobody drove it. It is judged at the stop."""
    stopped = T0 + timedelta(minutes=40)
    order = on_the_way(deliver_by=stopped + timedelta(minutes=5))
    day_ends = T0 + timedelta(hours=2)
    # Reading the results back took ten simulated minutes.
    suite_clock = clock()
    set_clock(Clock(stopped + timedelta(minutes=10), 1.0))
    try:
        at_the_stop = order_outcome(order, day_ends, stopped_at=stopped)
    finally:
        set_clock(suite_clock)

    assert not at_the_stop.is_overdue
    assert order_outcome(order, day_ends, stopped_at=stopped + timedelta(minutes=6)).is_overdue
