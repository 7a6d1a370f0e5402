"""A busy mall for the operator console: 200 routes and 500 shipments in a running suite.

The console's browser test and its benchmark (`bench/console.py`) load the page with that
many things on the map. Planning 200 routes through the solver would take minutes and give a
different count each time, so this writes the day straight into the suite's dispatch database
through dispatch's own store code (the rows the service itself would write): stores, shipments
waiting and on routes, routes in every phase (each planned, offered, accepted and followed
through dispatch's `Route`, as the service would), drivers on them and a few silent ones. The
service then reads, streams and draws them like any other. `remove_busy_mall` takes it all out.
"""

from __future__ import annotations

import math
import random
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from uuid import UUID

from sqlalchemy import delete

from dispatch_service.domain import pay
from dispatch_service.domain.offers import Candidate
from dispatch_service.domain.planning import PlannedRoute, stop_id
from dispatch_service.domain.route import Route
from dispatch_service.settings import DispatchSettings
from dispatch_service.store import console, drivers, routes, shipments
from dispatch_service.store import tables as t
from dispatch_service.usecases import Policies
from shared.db import Db
from shared.events.catalog import StoreUpserted
from shared.events.common import GeoPoint
from shared.events.dispatch import RouteStop, StopKind
from shared.events.driver import (
    DriverAvailabilityChanged,
    RouteStopsChanged,
    RouteStopState,
    StopStatus,
)
from shared.events.order import OrderReadyForPickup
from shared.geo import Point, TravelModel, haversine_m, meters_to_miles
from shared.malls import Mall, pilot_malls

BUSY_MALL = "tysons-corner-center"
METERS_PER_DEGREE = 111_320.0
STORES = 12
SHIPMENTS_PER_ROUTE = 2


@dataclass
class Seeded:
    mall_id: str
    route_ids: list[UUID] = field(default_factory=list)
    shipment_ids: list[UUID] = field(default_factory=list)
    driver_ids: list[UUID] = field(default_factory=list)
    store_ids: list[str] = field(default_factory=list)

    @property
    def waiting(self) -> int:
        return len(self.shipment_ids) - SHIPMENTS_PER_ROUTE * len(self.route_ids)


def _offset(origin: Point, meters: float, bearing: float) -> Point:
    north, east = meters * math.cos(bearing), meters * math.sin(bearing)
    return Point(
        round(origin.lat + north / METERS_PER_DEGREE, 6),
        round(origin.lng + east / (METERS_PER_DEGREE * math.cos(math.radians(origin.lat))), 6),
    )


def _geo(point: Point) -> GeoPoint:
    return GeoPoint(lat=point.lat, lng=point.lng)


def _mall(mall_id: str) -> Mall:
    return next(m for m in pilot_malls() if m.id == mall_id)


async def seed_busy_mall(
    database_url: str,
    now: datetime,
    *,
    mall_id: str = BUSY_MALL,
    route_count: int = 200,
    shipment_count: int = 500,
    seed: int = 7,
) -> Seeded:
    if shipment_count < SHIPMENTS_PER_ROUTE * route_count:
        raise ValueError(f"{route_count} routes need {SHIPMENTS_PER_ROUTE * route_count} shipments")
    mall = _mall(mall_id)
    rng = random.Random(seed)
    settings = DispatchSettings(database_url=database_url)
    policies = Policies.from_settings(settings)
    travel = TravelModel(settings.road_factor, settings.average_speed_kmh)
    seeded = Seeded(mall_id)
    db = Db(database_url, pool_size=1)
    try:
        async with db.begin() as tx:
            store_points = []
            for index in range(STORES):
                store_id = f"store-busy-{index:02d}"
                point = _offset(mall.point, 40 + 110 * rng.random(), rng.uniform(0, math.tau))
                store_points.append((store_id, point))
                await console.upsert_store(
                    tx,
                    StoreUpserted(
                        store_id=store_id,
                        retailer_id=f"ret-busy-{index:02d}",
                        retailer_name=f"Busy Retailer {index:02d}",
                        mall_id=mall.id,
                        mall_name=mall.name,
                        name=f"Busy Store {index:02d}",
                        location=_geo(point),
                        timezone=mall.timezone,
                        pickup_instructions="Service desk",
                        prep_minutes=20,
                    ),
                    now,
                )
                seeded.store_ids.append(store_id)
            ready: list[OrderReadyForPickup] = []
            for index in range(shipment_count):
                store_id, pickup = store_points[index % STORES]
                home = _offset(mall.point, 2_000 + 9_000 * rng.random(), rng.uniform(0, math.tau))
                shipment = OrderReadyForPickup(
                    order_id=uuid.uuid4(),
                    shipment_id=uuid.uuid4(),
                    mall_id=mall.id,
                    mall_name=mall.name,
                    store_id=store_id,
                    store_name=f"Busy Store {index % STORES:02d}",
                    pickup_instructions="Service desk",
                    pickup=_geo(pickup),
                    package_count=1,
                    labels=[f"BUSY-{index:04d}"],
                    ready_at=now - timedelta(minutes=rng.randint(2, 40)),
                    deliver_by=now + timedelta(minutes=rng.randint(50, 240)),
                    dropoff=_geo(home),
                    dropoff_address=f"{100 + index} Busy Lane",
                    dropoff_area=f"Area {index % 20:02d}",
                    customer_first_name="Sam",
                )
                await shipments.add_to_pool(tx, shipment, now)
                await console.record_progress(
                    tx,
                    shipment.shipment_id,
                    order_id=shipment.order_id,
                    mall_id=mall.id,
                    now=now,
                    store_id=store_id,
                    deliver_by=shipment.deliver_by,
                    placed_at=shipment.ready_at - timedelta(minutes=15),
                    ready_at=shipment.ready_at,
                )
                ready.append(shipment)
                seeded.shipment_ids.append(shipment.shipment_id)
            for number in range(route_count):
                part = ready[SHIPMENTS_PER_ROUTE * number : SHIPMENTS_PER_ROUTE * (number + 1)]
                planned = _route(mall, part, now, travel)
                quote = pay.quote(
                    policies.pay,
                    planned_minutes=planned.planned_minutes,
                    stop_count=len(planned.stops),
                    miles=planned.planned_miles,
                )
                route, _ = Route.plan(
                    planned, mall_id=mall.id, mall_name=mall.name, quote=quote,
                    currency="USD", now=now,
                )  # fmt: skip
                await routes.insert(tx, route, now)
                await shipments.mark_routed(tx, planned.shipment_ids, planned.route_id, now)
                seeded.route_ids.append(planned.route_id)
                # One route in ten still looks for a driver; the others are on their way.
                if number % 10 == 0:
                    continue
                driver_id = uuid.uuid4()
                seeded.driver_ids.append(driver_id)
                progress = number % 4
                where = planned.stops[min(progress + 1, len(planned.stops) - 1)].location
                await drivers.record_availability(
                    tx,
                    DriverAvailabilityChanged(
                        driver_id=driver_id,
                        online=True,
                        vehicle_type="car",
                        capacity_packages=15,
                        location=where,
                        at=now,
                    ),
                    now,
                )
                assigned_at = now - timedelta(minutes=20)
                offer_id = uuid.uuid4()
                route.offer_to(
                    offer_id=offer_id, round_number=1, pay_cents=quote.pay_cents,
                    surge_level=0, radius_m=settings.offer_radius_m,
                    candidates=[Candidate(driver_id, 500.0)], pickup_area=mall.name,
                    now=assigned_at - timedelta(minutes=1), expires_at=assigned_at,
                )  # fmt: skip
                route.accept(offer_id, driver_id, quote.pay_cents, at=assigned_at)
                # Accepted, picking up, on the road, delivering: pickups done in order, as
                # the driver service's copy of the route says.
                done = {s.shipment_id for s in part[:progress]}
                route.follow_driver(
                    RouteStopsChanged(
                        route_id=route.route_id,
                        mall_id=mall.id,
                        driver_id=driver_id,
                        revision=1,
                        stops=[
                            RouteStopState(
                                **stop.model_dump(),
                                status=StopStatus.PICKED_UP
                                if stop.kind is StopKind.PICKUP and stop.shipment_id in done
                                else StopStatus.PENDING,
                            )
                            for stop in route.stops
                        ],
                        is_completed=False,
                        at=now - timedelta(minutes=5),
                    )
                )
                await routes.save(tx, route, now)
                await drivers.assign_route(tx, driver_id, planned.route_id, assigned_at)
                for shipment in part[:progress]:
                    await console.record_progress(
                        tx,
                        shipment.shipment_id,
                        order_id=shipment.order_id,
                        mall_id=mall.id,
                        now=now,
                        picked_up_at=now - timedelta(minutes=5),
                        route_id=planned.route_id,
                        driver_id=driver_id,
                    )
            # Drivers who stopped reporting: exceptions an operator would act on.
            for index in range(max(0, len(seeded.route_ids) - len(seeded.driver_ids))):
                silent = uuid.uuid4()
                seeded.driver_ids.append(silent)
                await drivers.record_availability(
                    tx,
                    DriverAvailabilityChanged(
                        driver_id=silent,
                        online=True,
                        vehicle_type="car",
                        capacity_packages=15,
                        location=_geo(_offset(mall.point, 300 + 50 * index, index)),
                        at=now - timedelta(hours=1),
                    ),
                    now,
                )
    finally:
        await db.dispose()
    return seeded


def _route(
    mall: Mall, part: list[OrderReadyForPickup], now: datetime, travel: TravelModel
) -> PlannedRoute:
    route_id = uuid.uuid4()
    depart = now + timedelta(minutes=5)
    legs: list[tuple[StopKind, OrderReadyForPickup, GeoPoint]] = [
        *((StopKind.PICKUP, s, s.pickup) for s in part),
        *((StopKind.DROPOFF, s, s.dropoff) for s in part),
    ]
    stops = []
    here, clock_at, meters = mall.point, depart, 0.0
    for sequence, (kind, shipment, location) in enumerate(legs):
        there = Point(location.lat, location.lng)
        meters += travel.road_meters(here, there)
        clock_at += timedelta(seconds=travel.travel_seconds(here, there) + 120)
        here = there
        stops.append(
            RouteStop(
                stop_id=stop_id(route_id, kind, shipment.shipment_id),
                sequence=sequence,
                kind=kind,
                shipment_id=shipment.shipment_id,
                order_id=shipment.order_id,
                store_id=shipment.store_id,
                store_name=shipment.store_name,
                location=location,
                address=shipment.pickup_instructions
                if kind is StopKind.PICKUP
                else shipment.dropoff_address,
                area=shipment.dropoff_area,
                labels=list(shipment.labels),
                package_count=shipment.package_count,
                eta=clock_at,
                deliver_by=shipment.deliver_by,
            )
        )
    meters += haversine_m(here, mall.point)
    latest = min(s.deliver_by - (s.eta - depart) for s in stops if s.kind is StopKind.DROPOFF)
    return PlannedRoute(
        route_id=route_id,
        stops=tuple(stops),
        depart_at=depart,
        latest_start_at=latest,
        planned_miles=round(meters_to_miles(meters), 2),
        planned_minutes=math.ceil((clock_at - depart).total_seconds() / 60),
        max_load=len(part),
    )


async def remove_busy_mall(database_url: str, seeded: Seeded) -> None:
    """Takes the seeded day out again, so it weighs on no later test."""
    db = Db(database_url, pool_size=1)
    try:
        async with db.begin() as tx:
            await tx.execute(
                delete(t.offer_views).where(t.offer_views.c.route_id.in_(seeded.route_ids))
            )
            await tx.execute(delete(t.offers).where(t.offers.c.route_id.in_(seeded.route_ids)))
            await tx.execute(delete(t.routes).where(t.routes.c.route_id.in_(seeded.route_ids)))
            for table in (t.shipments, t.shipment_progress):
                await tx.execute(delete(table).where(table.c.shipment_id.in_(seeded.shipment_ids)))
            await tx.execute(delete(t.drivers).where(t.drivers.c.driver_id.in_(seeded.driver_ids)))
            await tx.execute(delete(t.stores).where(t.stores.c.store_id.in_(seeded.store_ids)))
    finally:
        await db.dispose()
