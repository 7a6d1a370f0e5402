from __future__ import annotations

from services.chaos.__main__ import (
    ORDERING_WINDOW_S,
    RATE_MARGIN,
    SLOW_RATE,
    SPEED_RANGE,
    clock_speed,
    parse_options,
)
from services.chaos.faults import due_after_orders


def test_the_faults_spread_evenly_over_the_ordering() -> None:
    thresholds = [due_after_orders(n, 2000, 30) for n in range(1, 31)]

    assert thresholds[0] == 65 and thresholds[-1] == 1936
    assert thresholds == sorted(thresholds) and len(set(thresholds)) == 30
    # Every fault of the run comes before the last order.
    assert due_after_orders(30, 2000, 30) < 2000


def test_the_clock_keeps_same_day_open_at_a_quarter_of_the_rate_or_slower() -> None:
    for orders, rate in ((2000, 4.0), (10_000, 4.0), (200, 4.0), (50_000, 4.0)):
        speed = clock_speed(orders, rate)
        assert SPEED_RANGE[0] <= speed <= SPEED_RANGE[1]
        if SPEED_RANGE[0] < speed:
            slow_run_s = orders / min(rate / RATE_MARGIN, SLOW_RATE)
            assert slow_run_s * speed <= ORDERING_WINDOW_S + 1e-6


def test_the_default_run_has_stock_for_every_order_and_a_bounded_settle() -> None:
    o = parse_options([])

    assert (o.orders, o.faults, o.rate) == (2000, 30, 4.0)
    # Even if a mall's shoppers (a quarter) all bought two of the 30 items they are shown, at
    # the seed's least (one unit a row), times the scale, nothing sells out.
    assert 30 * 1 * o.stock_scale >= o.orders / 4 * 2
    assert 120.0 <= o.settle_seconds <= 300.0
    assert parse_options(["--stock-scale", "3", "--speed", "5"]).stock_scale == 3
