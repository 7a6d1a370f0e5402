from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

from hypothesis import given
from hypothesis import strategies as st

from driver_service.domain.earnings import Period, period_bounds, route_pay, summarize, wait_pay

NOON = datetime(2026, 11, 25, 12, 0, tzinfo=UTC)
FREE = timedelta(minutes=10)


def test_waiting_within_the_free_ten_minutes_pays_nothing() -> None:
    pay = wait_pay(NOON, NOON + timedelta(minutes=10), FREE, hourly_cents=1800)

    assert (pay.waited_seconds, pay.paid_seconds, pay.paid_cents) == (600, 0, 0)


def test_wait_past_the_free_minutes_is_paid_at_the_hourly_rate() -> None:
    pay = wait_pay(NOON, NOON + timedelta(minutes=25), FREE, hourly_cents=1800)

    # 15 paid minutes at $18/h.
    assert (pay.paid_seconds, pay.paid_cents) == (900, 450)


def test_wait_pay_rounds_half_a_cent_up() -> None:
    # 1 paid second at $18/h is 0.5 cents.
    pay = wait_pay(NOON, NOON + FREE + timedelta(seconds=1), FREE, hourly_cents=1800)

    assert pay.paid_cents == 1


def test_a_route_within_its_block_is_paid_as_offered() -> None:
    pay = route_pay(
        pay_cents=2400,
        hourly_floor_cents=1800,
        started_at=NOON,
        finished_at=NOON + timedelta(minutes=50),
    )

    assert (pay.floor_top_up_cents, pay.total_cents) == (0, 2400)


def test_a_route_running_long_is_topped_up_to_the_floor_for_the_time_worked() -> None:
    pay = route_pay(
        pay_cents=2400,
        hourly_floor_cents=1800,
        started_at=NOON,
        finished_at=NOON + timedelta(hours=2, minutes=30),
    )

    # 2.5 h at $18/h is $45: $21 on top of the $24 offered.
    assert (pay.floor_top_up_cents, pay.total_cents) == (2100, 4500)


def test_wait_pay_counts_toward_the_floor_and_tips_stay_on_top() -> None:
    pay = route_pay(
        pay_cents=2400,
        hourly_floor_cents=1800,
        started_at=NOON,
        finished_at=NOON + timedelta(hours=2),
        wait_pay_cents=450,
        tip_cents=500,
    )

    assert (pay.floor_top_up_cents, pay.total_cents) == (750, 3600 + 500)


@given(
    pay_cents=st.integers(1, 20_000),
    floor_cents=st.integers(1, 5_000),
    worked_seconds=st.integers(0, 12 * 3600),
    wait_cents=st.integers(0, 5_000),
    tip_cents=st.integers(0, 5_000),
)
def test_pay_never_falls_under_the_floor_nor_under_what_was_offered(
    pay_cents: int, floor_cents: int, worked_seconds: int, wait_cents: int, tip_cents: int
) -> None:
    pay = route_pay(
        pay_cents=pay_cents,
        hourly_floor_cents=floor_cents,
        started_at=NOON,
        finished_at=NOON + timedelta(seconds=worked_seconds),
        wait_pay_cents=wait_cents,
        tip_cents=tip_cents,
    )

    earned = pay.total_cents - tip_cents
    assert earned * 3600 >= floor_cents * worked_seconds - 1800
    assert earned >= pay_cents + wait_cents
    assert pay.total_cents == pay_cents + wait_cents + pay.floor_top_up_cents + tip_cents


def test_a_summary_adds_up_its_routes() -> None:
    one = route_pay(
        pay_cents=2400, hourly_floor_cents=1800, started_at=NOON, finished_at=NOON, tip_cents=100
    )
    two = route_pay(
        pay_cents=1000,
        hourly_floor_cents=1800,
        started_at=NOON,
        finished_at=NOON + timedelta(hours=1),
        wait_pay_cents=300,
    )

    total = summarize([one, two])

    assert (total.routes, total.pay_cents, total.wait_pay_cents) == (2, 3400, 300)
    assert (total.floor_top_up_cents, total.tip_cents, total.total_cents) == (500, 100, 4300)


def test_a_week_runs_monday_to_monday_and_a_day_is_one_utc_day() -> None:
    thursday = date(2026, 11, 26)

    week = period_bounds(Period.WEEK, thursday)
    day = period_bounds(Period.DAY, thursday)

    assert week == (
        datetime(2026, 11, 23, tzinfo=UTC),
        datetime(2026, 11, 30, tzinfo=UTC),
    )
    assert day == (datetime(2026, 11, 26, tzinfo=UTC), datetime(2026, 11, 27, tzinfo=UTC))
