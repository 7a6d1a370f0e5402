from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from dispatch_service.domain.pay import BlockType, PayPolicy, block_minutes_for, quote

POLICY = PayPolicy(
    hourly_cents={BlockType.SHORT: 2500, BlockType.STANDARD: 2200, BlockType.LONG: 2000},
    per_stop_cents=250,
    per_mile_cents=70,
)


def test_a_short_route_is_paid_its_block_at_the_short_block_rate() -> None:
    q = quote(POLICY, planned_minutes=40, stop_count=2, miles=5.0)

    assert q.block_minutes == 40
    assert q.block_type is BlockType.SHORT
    assert q.hourly_floor_cents == 2500
    assert q.pay_cents == 1667


def test_a_route_with_many_stops_and_miles_is_paid_by_its_work() -> None:
    q = quote(POLICY, planned_minutes=100, stop_count=20, miles=30.0)

    # Block: 100 min standard at $22/h = $36.67; work: 20 x $2.50 + 30 x $0.70 = $71.
    assert q.block_type is BlockType.STANDARD
    assert q.pay_cents == 20 * 250 + 30 * 70


def test_blocks_are_sold_in_five_minutes_from_a_quarter_hour() -> None:
    assert [block_minutes_for(m) for m in (1, 15, 16, 20, 21, 200)] == [15, 15, 20, 20, 25, 200]


@given(
    planned_minutes=st.integers(min_value=1, max_value=240),
    stop_count=st.integers(min_value=2, max_value=40),
    miles=st.floats(min_value=0, max_value=200, allow_nan=False),
)
def test_pay_never_falls_below_the_advertised_hourly_floor_for_the_block(
    planned_minutes: int, stop_count: int, miles: float
) -> None:
    q = quote(POLICY, planned_minutes=planned_minutes, stop_count=stop_count, miles=miles)

    assert q.block_minutes >= planned_minutes
    assert 1800 <= q.hourly_floor_cents <= 2500
    assert q.pay_cents * 60 >= q.hourly_floor_cents * q.block_minutes
