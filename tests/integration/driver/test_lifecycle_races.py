"""Races on a driver's route on the real database, each in both orders: two transactions held
open by hand, the second started while the first has not committed."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from datetime import timedelta
from typing import Any

import pytest
from aiokafka import AIOKafkaProducer
from sqlalchemy import text

from driver_service import usecases
from driver_service.domain.errors import StopRemoved
from shared import clock
from shared.db import Db
from shared.events.dispatch import RouteOffered, RouteReleased
from shared.events.order import OrderTipped
from tests.integration.driver.conftest import Driver, Service, an_offer, publish, register
from tests.support import eventually


async def an_accepted_route(service: Service, driver: Driver) -> RouteOffered:
    offer = an_offer([driver.id])
    async with service.app.state.db.begin() as tx:
        await usecases.record_offer(tx, offer)
    accepted = await service.client.post(
        f"/v1/offers/{offer.offer_id}/accept", headers=driver.headers
    )
    assert accepted.status_code == 200, accepted.text
    return offer


async def waiting_on_a_lock(db: Db) -> int:
    async with db.begin() as tx:
        found = await tx.execute(
            text(
                "SELECT count(*) FROM pg_stat_activity"
                " WHERE datname = current_database() AND wait_event_type = 'Lock'"
            )
        )
        return int(found.scalar_one())


async def second_while_first_open(
    db: Db,
    first: Callable[[Any], Awaitable[None]],
    second: Callable[[Any], Awaitable[None]],
) -> BaseException | None:
    """Runs `first` in a transaction, starts `second` in its own before `first` commits, and
    commits `first` once `second` finished or waits on one of its locks. Returns what
    `second` raised."""

    async def run_second() -> None:
        async with db.begin() as tx:
            await second(tx)

    async with db.begin() as tx:
        await first(tx)
        task = asyncio.create_task(run_second())

        async def second_done_or_blocked() -> bool:
            return task.done() or await waiting_on_a_lock(db) > 0

        await eventually(second_done_or_blocked, within=15)
    try:
        await task
    except Exception as error:
        return error
    return None


async def statuses(service: Service, driver: Driver, offer: RouteOffered) -> list[tuple[str, str]]:
    route = await service.client.get(f"/v1/routes/{offer.route_id}", headers=driver.headers)
    return [(s["kind"], s["status"]) for s in route.json()["stops"]]


# --- 1. cancel vs pickup scan ------------------------------------------------------------------


@pytest.mark.parametrize("first", ["pickup", "cancel"])
async def test_a_pickup_scan_and_a_cancellation_never_leave_goods_in_the_car_unreturned(
    service: Service, first: str
) -> None:
    driver = await register(service.client)
    offer = await an_accepted_route(service, driver)
    pickup, shipment = offer.stops[0], offer.stops[0].shipment_id
    db = service.app.state.db

    async def scan(tx: Any) -> None:
        await usecases.pick_up(
            tx,
            service.settings,
            offer.route_id,
            pickup.stop_id,
            driver.id,
            list(pickup.labels),
            False,
            clock.now(),
        )

    async def cancel(tx: Any) -> None:
        await usecases.cancel_shipments(tx, [shipment], clock.now())

    if first == "pickup":
        refused = await second_while_first_open(db, scan, cancel)

        assert refused is None
        # The scan won: the package is aboard, so the drop-off became a return to the store.
        assert await statuses(service, driver, offer) == [
            ("pickup", "picked_up"),
            ("dropoff", "cancelled"),
            ("return", "pending"),
        ]
    else:
        refused = await second_while_first_open(db, cancel, scan)

        # The cancellation won: the scan is refused and the stop shows removed.
        assert isinstance(refused, StopRemoved)
        assert await statuses(service, driver, offer) == [
            ("pickup", "cancelled"),
            ("dropoff", "cancelled"),
        ]
        again = await service.client.post(
            f"/v1/routes/{offer.route_id}/stops/{pickup.stop_id}/pickup",
            json={"barcodes": list(pickup.labels)},
            headers=driver.headers,
        )
        assert again.status_code == 409
        assert again.json()["code"] == "stop_removed"


# --- 2. cancel vs accept -----------------------------------------------------------------------


@pytest.mark.parametrize("first", ["accept", "cancel"])
async def test_an_accept_and_a_cancellation_of_its_order_leave_no_live_stop_of_it(
    service: Service, first: str
) -> None:
    driver = await register(service.client)
    offer = an_offer([driver.id])
    db = service.app.state.db
    async with db.begin() as tx:
        await usecases.record_offer(tx, offer)

    async def accept(tx: Any) -> None:
        await usecases.accept_offer(tx, offer.offer_id, driver.id, clock.now())

    async def cancel(tx: Any) -> None:
        await usecases.cancel_shipments(tx, [offer.stops[0].shipment_id], clock.now())

    if first == "accept":
        failed = await second_while_first_open(db, accept, cancel)
    else:
        failed = await second_while_first_open(db, cancel, accept)

    assert failed is None
    assert await statuses(service, driver, offer) == [
        ("pickup", "cancelled"),
        ("dropoff", "cancelled"),
    ]


# --- 6. tips -----------------------------------------------------------------------------------


async def deliver_first_of_two(service: Service, driver: Driver) -> tuple[RouteOffered, Any]:
    """A route with a second pending drop-off after a delivered one: not complete yet."""
    offer = an_offer([driver.id])
    extra = an_offer([driver.id]).stops
    second = [
        extra[0].model_copy(update={"sequence": 2}),
        extra[1].model_copy(update={"sequence": 3}),
    ]
    offer = offer.model_copy(update={"stops": [*offer.stops, *second], "stop_count": 4})
    async with service.app.state.db.begin() as tx:
        await usecases.record_offer(tx, offer)
    accepted = await service.client.post(
        f"/v1/offers/{offer.offer_id}/accept", headers=driver.headers
    )
    assert accepted.status_code == 200
    pickup, dropoff = offer.stops[0], offer.stops[1]
    await service.client.post(
        f"/v1/routes/{offer.route_id}/stops/{pickup.stop_id}/pickup",
        json={"barcodes": list(pickup.labels)},
        headers=driver.headers,
    )
    delivered = await service.client.post(
        f"/v1/routes/{offer.route_id}/stops/{dropoff.stop_id}/deliver",
        data={"lat": str(dropoff.location.lat), "lng": str(dropoff.location.lng), "pin": "4821"},
        files={"photo": ("door.jpg", b"\xff\xd8\xff\xe0jpeg", "image/jpeg")},
        headers=driver.headers,
    )
    assert delivered.status_code == 200, delivered.text
    return offer, second


async def finish(service: Service, driver: Driver, offer: RouteOffered, stops: Any) -> None:
    for path, body in (
        ("pickup", {"json": {"barcodes": list(stops[0].labels)}}),
        (
            "deliver",
            {
                "data": {
                    "lat": str(stops[1].location.lat),
                    "lng": str(stops[1].location.lng),
                    "pin": "4821",
                },
                "files": {"photo": ("door.jpg", b"\xff\xd8\xff\xe0jpeg", "image/jpeg")},
            },
        ),
    ):
        stop = stops[0] if path == "pickup" else stops[1]
        resp = await service.client.post(
            f"/v1/routes/{offer.route_id}/stops/{stop.stop_id}/{path}",
            headers=driver.headers,
            **body,
        )
        assert resp.status_code == 200, resp.text


async def tips_earned(service: Service, driver: Driver) -> int:
    resp = await service.client.get("/v1/drivers/me/earnings", headers=driver.headers)
    return int(resp.json()["totals"]["tip_cents"])


@pytest.mark.parametrize("first", ["tip", "route_completed"])
async def test_a_tip_reaches_the_earnings_of_the_driver_who_delivered(
    service: Service,
    producer: AIOKafkaProducer,
    topic_suffix: str,
    first: str,
) -> None:
    driver = await register(service.client)
    offer, rest = await deliver_first_of_two(service, driver)
    tipped = OrderTipped(
        order_id=offer.stops[1].order_id,
        mall_id=offer.mall_id,
        tip_cents=500,
        currency="USD",
        at=clock.now() + timedelta(minutes=5),
    )

    async def tip_recorded() -> bool:
        async with service.app.state.db.begin() as tx:
            found = await tx.execute(
                text("SELECT tip_cents FROM routes WHERE id = :r"), {"r": offer.route_id}
            )
            return bool(found.scalar_one() == 500)

    if first == "tip":
        await publish(producer, topic_suffix, tipped, key=offer.mall_id)
        await eventually(tip_recorded, within=15)
        await finish(service, driver, offer, rest)
    else:
        await finish(service, driver, offer, rest)
        await publish(producer, topic_suffix, tipped, key=offer.mall_id)
        await eventually(tip_recorded, within=15)

    assert await tips_earned(service, driver) == 500


async def test_a_route_dispatch_releases_after_a_late_accept_shows_its_stops_removed(
    service: Service, producer: AIOKafkaProducer, topic_suffix: str
) -> None:
    driver = await register(service.client)
    offer = await an_accepted_route(service, driver)

    await publish(
        producer,
        topic_suffix,
        RouteReleased(
            route_id=offer.route_id,
            mall_id=offer.mall_id,
            driver_id=driver.id,
            reason="withdrawn before your accept arrived",
        ),
        key=str(offer.route_id),
    )

    async def ended() -> dict[str, Any] | None:
        route = await service.client.get(f"/v1/routes/{offer.route_id}", headers=driver.headers)
        body: dict[str, Any] = route.json()
        return body if body["completed_at"] is not None else None

    route = await eventually(ended, within=15)
    assert [s["status"] for s in route["stops"]] == ["cancelled", "cancelled"]
    scan = await service.client.post(
        f"/v1/routes/{offer.route_id}/stops/{offer.stops[0].stop_id}/pickup",
        json={"barcodes": list(offer.stops[0].labels)},
        headers=driver.headers,
    )
    assert scan.status_code == 409
