"""The demo's figures: what it recorded, the per-mall table, and the SUMMARY line. Pure."""

from __future__ import annotations

import statistics
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from services.demo.baseline import BaselineResult
from shared.geo import meters_to_miles

CONVENTIONS = """\
Conventions (all times on the suite's simulated clock):
  on_time_pct             delivered orders whose delivery (order timeline) falls within the
                          order's own window (not before it opens, not after deliver_by), over
                          the orders that are due: delivered ones plus any not delivered (nor
                          cancelled) whose deliver_by has passed when the demo stops; orders
                          still within their window are left out, and so are orders promised
                          for a window opening after the simulated day ends (the chart's
                          extra bar: tonight's and tomorrow's slots)
  later_window_pct        orders placed in a later window than the shopper's first choice (the
                          listing's "today by" promise, or tonight's evening slot), over orders
  turned_away_pct         shoppers who got no window today or tomorrow, over shoppers
  median_minutes_to_door  median of placed -> delivered, delivered orders
  miles_per_order         miles the simulated drivers drove for accepted routes, at the travel
                          model's road distance, over delivered orders: from the end of the
                          driver's previous route (the drive back towards the mall counts, as
                          the baseline counts the drive from its last drop-off to the next
                          pickup) to the last stop; as in the baseline, the drive home after a
                          driver's last route is not counted
  orders_per_driver_hour  delivered orders over driver hours; a route's driver hours run from
                          its accept to its last stop (the driver service's completed_at), plus
                          the drive back towards the mall before it (waiting is not counted,
                          in the demo nor in the baseline)
  baseline_*              the same delivered orders, each sent alone, when it was packed, to the
                          nearest free driver of its mall (the same drivers, starting where they
                          went online), with dispatch's travel model and service times; a trip's
                          hours run from its start to its drop-off
  driver_pay_per_hour     dollars: the drivers' day earnings (route pay, wait pay, floor top-up)
                          over their worked hours, as the driver service reports them
  paid_wait_minutes       pickup wait beyond the free wait, paid at the route's hourly floor
  offer_accept_seconds_p50  median of a route's first offer -> its accept (dispatch's log)
  store_leaks             store or mall identifiers found in customer-facing responses"""


@dataclass(frozen=True, slots=True)
class OrderOutcome:
    order_id: str
    mall_id: str
    status: str
    placed_at: datetime
    deliver_by: datetime
    delivered_at: datetime | None
    # When the outcome was read: an undelivered order whose promise had passed is late.
    observed_at: datetime | None = None
    # The window opens then (a scheduled slot); None: from the order's placing.
    window_start: datetime | None = None
    # When the simulated day ends: a window ending later is not the demo's to judge.
    day_ends_at: datetime | None = None
    # Placed in a later window than the shopper's first choice.
    is_later_window: bool = False

    @property
    def is_delivered(self) -> bool:
        return self.status == "delivered" and self.delivered_at is not None

    @property
    def is_after_day(self) -> bool:
        """Promised for a window opening after the simulated day ends: not the demo's to judge."""
        opens = self.window_start or self.placed_at
        return self.day_ends_at is not None and opens >= self.day_ends_at

    @property
    def is_overdue(self) -> bool:
        return (
            not self.is_delivered
            and self.status != "cancelled"
            and self.observed_at is not None
            and self.observed_at > self.deliver_by
        )

    @property
    def is_on_time(self) -> bool:
        if self.delivered_at is None or self.delivered_at > self.deliver_by:
            return False
        return self.window_start is None or self.delivered_at >= self.window_start

    @property
    def minutes_to_door(self) -> float | None:
        if self.delivered_at is None:
            return None
        return (self.delivered_at - self.placed_at).total_seconds() / 60


@dataclass(frozen=True, slots=True)
class RouteOutcome:
    route_id: str
    driver_id: str
    mall_id: str
    accepted_at: datetime
    completed_at: datetime | None
    driven_meters: float
    offer_accept_seconds: float | None
    paid_wait_minutes: float
    # The drive back towards the mall before the accept, counted as the baseline counts its
    # drive from the last drop-off.
    returning_seconds: float = 0.0

    @property
    def hours(self) -> float:
        if self.completed_at is None:
            return 0.0
        on_route = (self.completed_at - self.accepted_at).total_seconds()
        return (on_route + self.returning_seconds) / 3600


@dataclass(frozen=True, slots=True)
class Pay:
    total_cents: int
    worked_seconds: int


@dataclass(frozen=True, slots=True)
class Figures:
    orders: int
    delivered: int
    on_time_pct: float
    median_minutes_to_door: float
    miles_per_order: float
    orders_per_driver_hour: float
    routes: int
    baseline_miles_per_order: float
    baseline_orders_per_driver_hour: float


@dataclass(frozen=True, slots=True)
class Summary:
    figures: Figures
    driver_pay_per_hour: float
    paid_wait_minutes: float
    offer_accept_seconds_p50: float
    store_leaks: int
    later_window_pct: float = 0.0
    turned_away_pct: float = 0.0
    after_day: int = 0


def median(values: Sequence[float]) -> float:
    return float(statistics.median(values)) if values else 0.0


def figures(
    orders: Sequence[OrderOutcome], routes: Sequence[RouteOutcome], baseline: BaselineResult
) -> Figures:
    delivered = [o for o in orders if o.is_delivered]
    judged = [o for o in orders if not o.is_after_day]
    on_time = sum(o.is_on_time for o in judged)
    due = sum(o.is_delivered or o.is_overdue for o in judged)
    hours = sum(r.hours for r in routes)
    miles = meters_to_miles(sum(r.driven_meters for r in routes))
    return Figures(
        orders=len(orders),
        delivered=len(delivered),
        on_time_pct=100 * on_time / due if due else 0,
        median_minutes_to_door=median([o.minutes_to_door or 0.0 for o in delivered]),
        miles_per_order=miles / len(delivered) if delivered else 0.0,
        orders_per_driver_hour=len(delivered) / hours if hours > 0 else 0.0,
        routes=len(routes),
        baseline_miles_per_order=baseline.miles_per_order,
        baseline_orders_per_driver_hour=baseline.orders_per_driver_hour,
    )


def summarize(
    orders: Sequence[OrderOutcome],
    routes: Sequence[RouteOutcome],
    baseline: BaselineResult,
    pay: Sequence[Pay],
    store_leaks: int,
    *,
    shoppers: int = 0,
    turned_away: int = 0,
) -> Summary:
    worked = sum(p.worked_seconds for p in pay)
    accept = [r.offer_accept_seconds for r in routes if r.offer_accept_seconds is not None]
    return Summary(
        figures=figures(orders, routes, baseline),
        driver_pay_per_hour=(sum(p.total_cents for p in pay) / 100) / (worked / 3600)
        if worked
        else 0.0,
        paid_wait_minutes=sum(r.paid_wait_minutes for r in routes),
        offer_accept_seconds_p50=median(accept),
        store_leaks=store_leaks,
        later_window_pct=100 * sum(o.is_later_window for o in orders) / len(orders)
        if orders
        else 0.0,
        turned_away_pct=100 * turned_away / shoppers if shoppers else 0.0,
        after_day=sum(o.is_after_day for o in orders),
    )


def summary_line(summary: Summary) -> str:
    f = summary.figures
    return (
        f"SUMMARY orders={f.orders} delivered={f.delivered} on_time_pct={f.on_time_pct:.1f} "
        f"median_minutes_to_door={f.median_minutes_to_door:.1f} "
        f"miles_per_order={f.miles_per_order:.2f} "
        f"orders_per_driver_hour={f.orders_per_driver_hour:.2f} "
        f"baseline_miles_per_order={f.baseline_miles_per_order:.2f} "
        f"baseline_orders_per_driver_hour={f.baseline_orders_per_driver_hour:.2f} "
        f"driver_pay_per_hour={summary.driver_pay_per_hour:.2f} "
        f"paid_wait_minutes={summary.paid_wait_minutes:.1f} "
        f"offer_accept_seconds_p50={summary.offer_accept_seconds_p50:.0f} "
        f"store_leaks={summary.store_leaks} "
        f"later_window_pct={summary.later_window_pct:.1f} "
        f"turned_away_pct={summary.turned_away_pct:.1f}"
    )


TABLE_COLUMNS = (
    ("mall", 24),
    ("orders", 6),
    ("deliv", 5),
    ("on-time%", 8),
    ("med-min", 7),
    ("routes", 6),
    ("mi/order", 8),
    ("base mi/o", 9),
    ("ord/drv-h", 9),
    ("base o/dh", 9),
)


def table_row(mall_name: str, f: Figures) -> str:
    cells = (
        mall_name[:24],
        str(f.orders),
        str(f.delivered),
        f"{f.on_time_pct:.1f}",
        f"{f.median_minutes_to_door:.1f}",
        str(f.routes),
        f"{f.miles_per_order:.2f}",
        f"{f.baseline_miles_per_order:.2f}",
        f"{f.orders_per_driver_hour:.2f}",
        f"{f.baseline_orders_per_driver_hour:.2f}",
    )
    return "  ".join(
        cell.ljust(width) if index == 0 else cell.rjust(width)
        for index, (cell, (_, width)) in enumerate(zip(cells, TABLE_COLUMNS, strict=True))
    )


def mall_table(rows: Sequence[tuple[str, Figures]]) -> str:
    header = "  ".join(
        name.ljust(width) if index == 0 else name.rjust(width)
        for index, (name, width) in enumerate(TABLE_COLUMNS)
    )
    return "\n".join([header, "-" * len(header), *(table_row(name, f) for name, f in rows)])
