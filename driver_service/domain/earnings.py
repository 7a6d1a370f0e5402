"""Driver pay: route pay as offered, the hourly floor, wait pay, tips. Integer cents only."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from enum import StrEnum


@dataclass(frozen=True)
class WaitPay:
    waited_seconds: int
    paid_seconds: int
    paid_cents: int


@dataclass(frozen=True)
class RoutePay:
    pay_cents: int
    wait_pay_cents: int
    floor_top_up_cents: int
    tip_cents: int
    worked_seconds: int

    @property
    def total_cents(self) -> int:
        return self.pay_cents + self.wait_pay_cents + self.floor_top_up_cents + self.tip_cents


@dataclass(frozen=True)
class Summary:
    routes: int
    pay_cents: int
    wait_pay_cents: int
    floor_top_up_cents: int
    tip_cents: int
    total_cents: int
    worked_seconds: int


class Period(StrEnum):
    DAY = "day"
    WEEK = "week"


# A week must fit the calendar: one starting before year 1 or ending after 9999 has no bounds.
EARLIEST_DAY = date.min + timedelta(days=7)
LATEST_DAY = date.max - timedelta(days=7)


def _cents_for(seconds: int, hourly_cents: int) -> int:
    # Round half up, in integers: no float money.
    return (seconds * hourly_cents + 1800) // 3600


def wait_pay(
    arrived_at: datetime, handed_over_at: datetime, free_wait: timedelta, hourly_cents: int
) -> WaitPay:
    waited = max(0, int((handed_over_at - arrived_at).total_seconds()))
    paid = max(0, waited - int(free_wait.total_seconds()))
    return WaitPay(waited, paid, _cents_for(paid, hourly_cents))


def route_pay(
    *,
    pay_cents: int,
    hourly_floor_cents: int,
    started_at: datetime,
    finished_at: datetime,
    wait_pay_cents: int = 0,
    tip_cents: int = 0,
) -> RoutePay:
    """The floor counts the route pay and wait pay for the time worked; tips stay on top."""
    worked = max(0, int((finished_at - started_at).total_seconds()))
    floor = _cents_for(worked, hourly_floor_cents)
    top_up = max(0, floor - pay_cents - wait_pay_cents)
    return RoutePay(pay_cents, wait_pay_cents, top_up, tip_cents, worked)


def summarize(pays: Iterable[RoutePay]) -> Summary:
    items = list(pays)
    return Summary(
        routes=len(items),
        pay_cents=sum(p.pay_cents for p in items),
        wait_pay_cents=sum(p.wait_pay_cents for p in items),
        floor_top_up_cents=sum(p.floor_top_up_cents for p in items),
        tip_cents=sum(p.tip_cents for p in items),
        total_cents=sum(p.total_cents for p in items),
        worked_seconds=sum(p.worked_seconds for p in items),
    )


def period_bounds(period: Period, day: date) -> tuple[datetime, datetime]:
    """UTC day, or the ISO week (Monday first) holding `day`."""
    start_day = day if period is Period.DAY else day - timedelta(days=day.weekday())
    start = datetime.combine(start_day, time(0), tzinfo=UTC)
    return start, start + timedelta(days=1 if period is Period.DAY else 7)
