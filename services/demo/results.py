"""The results: what the services recorded, read back and judged, against the one-order-per-trip
baseline; the tables, pictures and files of the report, and the SUMMARY line."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable
from datetime import UTC, datetime, timedelta
from typing import Any

from services.demo import charts
from services.demo.baseline import (
    BaselineDriver,
    BaselineOrder,
    BaselineResult,
    ServiceTimes,
    one_order_per_trip,
)
from services.demo.day import Demo
from services.demo.options import DELIVERY_SERVICE_S, PICKUP_SERVICE_S, TERMINAL, TRAVEL
from services.demo.records import PlacedOrder, at
from services.demo.report import (
    CONVENTIONS,
    Figures,
    OrderOutcome,
    RouteOutcome,
    figures,
    mall_table,
    summarize,
    summary_line,
)
from shared.clock import now
from shared.geo import Point
from shared.malls import pilot_malls


def offer_accept_seconds(log_view: dict[str, Any]) -> float | None:
    """From the route's first offer to the accept that won it, on dispatch's clock."""
    rounds = log_view.get("rounds") or []
    if not rounds:
        return None
    first = min(at(r["created_at"]) or datetime.max.replace(tzinfo=UTC) for r in rounds)
    answers = [
        at(v["answered_at"])
        for r in rounds
        for v in r["shown_to"]
        if v["answer"] == "accepted" and v["answered_at"]
    ]
    accepted = min((a for a in answers if a is not None), default=None)
    return None if accepted is None else (accepted - first).total_seconds()


def order_outcome(
    order: PlacedOrder, day_ends_at: datetime, *, stopped_at: datetime | None = None
) -> OrderOutcome:
    """The order as judged when the demo stopped its actors (`stopped_at`; now if not given):
    reading the results back takes minutes of the suite's clock while nobody drives."""
    timeline = order.view.get("timeline", [])
    delivered = [at(e["at"]) for e in timeline if e["status"] == "delivered"]
    placed_at = datetime.fromisoformat(order.view["placed_at"])
    window_start = at(order.view.get("window", {}).get("starts_at"))
    return OrderOutcome(
        order_id=order.order_id,
        mall_id=order.mall_id,
        status=order.status,
        placed_at=placed_at,
        deliver_by=order.deliver_by,
        delivered_at=delivered[-1] if delivered else None,
        observed_at=stopped_at or now(),
        # An as-soon-as-possible window opens when the order is placed: no lower bound.
        window_start=window_start if window_start and window_start > placed_at else None,
        day_ends_at=day_ends_at,
        is_later_window=order.is_later_window,
    )


def ready_at(order: PlacedOrder) -> datetime:
    packed = [at(e["at"]) for e in order.view.get("timeline", []) if e["status"] == "packaged"]
    found = [p for p in packed if p is not None]
    return found[0] if found else datetime.fromisoformat(order.view["placed_at"])


async def collect(demo: Demo) -> list[str]:
    """Reads what the services recorded, computes the figures, draws; returns the report."""
    o = demo.o
    gate = asyncio.Semaphore(8)

    async def limited(call: Awaitable[Any]) -> Any:
        async with gate:
            return await call

    await demo.await_deliveries_heard(real_seconds=120.0)
    await asyncio.gather(*(limited(demo.read_order(order)) for order in demo.orders.values()))
    dispatch_views = await asyncio.gather(
        *(limited(demo.dispatch_route(r.route_id)) for r in demo.routes)
    )
    pays = await asyncio.gather(*(limited(demo.earnings(r)) for r in demo.drivers))

    outcomes = [
        order_outcome(order, demo.day_ends_at, stopped_at=demo.stopped_at)
        for order in demo.orders.values()
    ]
    delivered_ids = {x.order_id for x in outcomes if x.is_delivered}
    # order -> shipment -> (sequence, store point): a shipment counts once, whatever re-planning.
    pickups: dict[str, dict[str, tuple[int, Point]]] = {}
    route_outcomes: list[RouteOutcome] = []
    for route, (planned, offer_log) in zip(demo.routes, dispatch_views, strict=True):
        for stop in planned.get("stops", []):
            if stop["kind"] == "pickup":
                pickups.setdefault(stop["order_id"], {})[stop["shipment_id"]] = (
                    stop["sequence"],
                    Point(stop["lat"], stop["lng"]),
                )
        view = route.view or {}
        stops = view.get("stops", [])
        floor = int(view.get("hourly_floor_cents") or 0)
        wait_cents = sum(int(s["wait_pay_cents"]) for s in stops if s["kind"] == "pickup")
        route_outcomes.append(
            RouteOutcome(
                route_id=route.route_id,
                driver_id=route.driver_id,
                mall_id=route.mall_id,
                accepted_at=at(view.get("accepted_at")) or o.start,
                completed_at=at(view.get("completed_at")),
                driven_meters=route.meters,
                returning_seconds=route.returning_seconds,
                offer_accept_seconds=offer_accept_seconds(offer_log),
                paid_wait_minutes=wait_cents * 60 / floor if floor else 0.0,
            )
        )
    baseline_orders = [
        BaselineOrder(
            order_id=order.order_id,
            mall_id=order.mall_id,
            ready_at=ready_at(order),
            pickups=tuple(
                p for _, p in sorted(pickups.get(order.order_id, {}).values(), key=lambda x: x[0])
            ),
            dropoff=order.point,
        )
        for order in demo.orders.values()
        if order.order_id in delivered_ids
    ]
    baseline_drivers = [
        BaselineDriver(r.driver_id, r.driver.mall.id, r.driver.home) for r in demo.drivers
    ]
    service = ServiceTimes(
        timedelta(seconds=PICKUP_SERVICE_S), timedelta(seconds=DELIVERY_SERVICE_S)
    )

    def baseline_for(mall_id: str | None) -> BaselineResult:
        return one_order_per_trip(
            [b for b in baseline_orders if mall_id in (None, b.mall_id)],
            [d for d in baseline_drivers if mall_id in (None, d.mall_id)],
            TRAVEL,
            service,
        )

    rows: list[tuple[str, Figures]] = []
    for mall in pilot_malls():
        rows.append(
            (
                mall.name,
                figures(
                    [x for x in outcomes if x.mall_id == mall.id],
                    [r for r in route_outcomes if r.mall_id == mall.id],
                    baseline_for(mall.id),
                ),
            )
        )
    baseline = baseline_for(None)
    summary = summarize(
        outcomes,
        route_outcomes,
        baseline,
        pays,
        len(demo.scanner.leaks),
        shoppers=o.customers,
        turned_away=demo.turned_away,
    )
    rows.append(("all malls", summary.figures))

    o.out.mkdir(parents=True, exist_ok=True)
    pictures = charts.draw(
        o.out,
        malls=pilot_malls(),
        stores=demo.directory.get("stores", []),
        routes=[p for p, _ in dispatch_views if p],
        placed=[x.placed_at for x in outcomes],
        delivered=[x.delivered_at for x in outcomes if x.delivered_at is not None],
        after_day=summary.after_day,
    )
    report = [mall_table(rows), "", CONVENTIONS, ""]
    report.append(
        f"routes accepted {len(demo.routes)}; baseline trips {len(baseline.trips)}; "
        f"responses leak-checked {demo.scanner.responses_checked}; "
        f"orders still open at the end {sum(x.status not in TERMINAL for x in outcomes)}, "
        f"of them promised after the day {summary.after_day}; shoppers {o.customers} "
        f"(demand x{o.demand:g}), turned away {demo.turned_away}; shoppers without an order: "
        "see actions and refused calls below"
    )
    report.append("actions: " + ", ".join(f"{k} x{n}" for k, n in sorted(demo.counts.items())))
    if demo.problems:
        report.append(
            "refused or failed calls: " + ", ".join(f"{k} x{n}" for k, n in demo.problems.items())
        )
    report += [f"LEAK {leak}" for leak in demo.scanner.leaks[:20]]
    details = o.out / "orders.json"
    details.write_text(
        json.dumps(
            [
                {
                    "order_id": x.order_id,
                    "mall_id": x.mall_id,
                    "status": x.status,
                    "placed_at": x.placed_at.isoformat(),
                    "window_start": x.window_start.isoformat() if x.window_start else None,
                    "deliver_by": x.deliver_by.isoformat(),
                    "delivered_at": x.delivered_at.isoformat() if x.delivered_at else None,
                    "is_later_window": x.is_later_window,
                    "is_after_day": x.is_after_day,
                    # Where the time went: the order's own steps, on the suite's clock.
                    "window": demo.orders[x.order_id].view.get("window"),
                    "timeline": demo.orders[x.order_id].view.get("timeline", []),
                }
                for x in outcomes
            ],
            indent=1,
        )
    )
    routes_file = o.out / "routes.json"
    routes_file.write_text(
        json.dumps(
            [
                {"planned": planned, "offers": offer_log, "driven": route.view}
                for route, (planned, offer_log) in zip(demo.routes, dispatch_views, strict=True)
            ],
            indent=1,
        )
    )
    report.append(
        "pictures: " + ", ".join(str(p) for p in pictures) + f"; details: {details}, {routes_file}"
    )
    report.append(summary_line(summary))
    return report
