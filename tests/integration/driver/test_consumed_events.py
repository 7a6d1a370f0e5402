from __future__ import annotations

from typing import Any

import httpx
from aiokafka import AIOKafkaProducer
from sqlalchemy import text

from driver_service import usecases
from shared.events.dispatch import RouteAssigned, RouteOffered, RouteReleased
from shared.events.driver import DriverLocationUpdated
from shared.events.order import OrderCancelled
from tests.integration.driver.conftest import (
    Driver,
    Service,
    an_offer,
    publish,
    register,
)
from tests.support import EventTap, eventually


async def offer_ids(api: httpx.AsyncClient, driver: Driver) -> list[Any]:
    resp = await api.get("/v1/drivers/me/offers", headers=driver.headers)
    return [o["offer_id"] for o in resp.json()["offers"]]


async def stop_statuses(api: httpx.AsyncClient, driver: Driver, offer: RouteOffered) -> list[str]:
    route = await api.get(f"/v1/routes/{offer.route_id}", headers=driver.headers)
    return [s["status"] for s in route.json()["stops"]]


def cancellation(offer: RouteOffered) -> OrderCancelled:
    return OrderCancelled(
        order_id=offer.stops[0].order_id,
        mall_id=offer.mall_id,
        shipment_ids=[offer.stops[0].shipment_id],
        reason="customer_request",
    )


async def test_route_assigned_on_kafka_confirms_the_route_and_positions_name_it(
    service: Service, producer: AIOKafkaProducer, topic_suffix: str, tap: EventTap
) -> None:
    api = service.client
    driver = await register(api)
    offer = an_offer([driver.id])
    await publish(producer, topic_suffix, offer, key=offer.mall_id)
    await eventually(lambda: offer_ids(api, driver), within=15)
    accepted = await api.post(f"/v1/offers/{offer.offer_id}/accept", headers=driver.headers)
    assert accepted.status_code == 200

    await publish(
        producer,
        topic_suffix,
        RouteAssigned(
            route_id=offer.route_id,
            offer_id=offer.offer_id,
            mall_id=offer.mall_id,
            driver_id=driver.id,
            pay_cents=offer.pay_cents,
            order_ids=[offer.stops[0].order_id],
        ),
        key=offer.mall_id,
    )

    async def assigned() -> bool:
        async with service.app.state.db.begin() as tx:
            at = await tx.execute(
                text("SELECT assigned_at FROM routes WHERE id = :id"), {"id": offer.route_id}
            )
            return at.scalar_one() is not None

    await eventually(assigned, within=15)
    moved = await api.post(
        "/v1/drivers/me/location", json={"lat": 36.1, "lng": -115.1}, headers=driver.headers
    )
    assert moved.status_code == 200
    position = await tap.next(DriverLocationUpdated, within=15)
    assert position.payload.route_id == offer.route_id


async def test_a_cancelled_order_drops_untouched_stops_and_returns_packages_aboard(
    service: Service, producer: AIOKafkaProducer, topic_suffix: str
) -> None:
    api = service.client
    driver = await register(api)
    waiting, aboard = an_offer([driver.id]), an_offer([driver.id])
    async with service.app.state.db.begin() as tx:
        await usecases.record_offer(tx, waiting)
        await usecases.record_offer(tx, aboard)
    for offer in (waiting, aboard):
        resp = await api.post(f"/v1/offers/{offer.offer_id}/accept", headers=driver.headers)
        assert resp.status_code == 200
    picked = await api.post(
        f"/v1/routes/{aboard.route_id}/stops/{aboard.stops[0].stop_id}/pickup",
        json={"barcodes": ["PKG-1", "PKG-2"]},
        headers=driver.headers,
    )
    assert picked.status_code == 200

    for offer in (waiting, aboard):
        await publish(producer, topic_suffix, cancellation(offer), key=offer.mall_id)

    async def both_handled() -> bool:
        return await stop_statuses(api, driver, waiting) == ["cancelled", "cancelled"] and (
            await stop_statuses(api, driver, aboard) == ["picked_up", "cancelled", "pending"]
        )

    await eventually(both_handled, within=15)
    route = (await api.get(f"/v1/routes/{aboard.route_id}", headers=driver.headers)).json()
    assert route["stops"][2]["kind"] == "return"
    assert route["completed_at"] is None
    emptied = (await api.get(f"/v1/routes/{waiting.route_id}", headers=driver.headers)).json()
    # Nothing was done on it: it waits for dispatch, which may add a re-routed pickup to it.
    assert emptied["completed_at"] is None
    await publish(
        producer,
        topic_suffix,
        RouteReleased(
            route_id=waiting.route_id,
            mall_id=waiting.mall_id,
            driver_id=driver.id,
            reason="every order on it was cancelled",
        ),
        key=str(waiting.route_id),
    )

    async def released() -> bool:
        route = await api.get(f"/v1/routes/{waiting.route_id}", headers=driver.headers)
        return route.json()["completed_at"] is not None

    await eventually(released, within=15)


async def test_an_offer_accepted_after_its_order_was_cancelled_drops_those_stops(
    service: Service, producer: AIOKafkaProducer, topic_suffix: str
) -> None:
    api = service.client
    driver = await register(api)
    offer = an_offer([driver.id])
    async with service.app.state.db.begin() as tx:
        await usecases.record_offer(tx, offer)
    await publish(producer, topic_suffix, cancellation(offer), key=offer.mall_id)

    async def cancellation_seen() -> bool:
        async with service.app.state.db.begin() as tx:
            row = await tx.execute(
                text("SELECT 1 FROM cancelled_shipments WHERE shipment_id = :s"),
                {"s": offer.stops[0].shipment_id},
            )
            return row.first() is not None

    await eventually(cancellation_seen, within=15)
    accepted = await api.post(f"/v1/offers/{offer.offer_id}/accept", headers=driver.headers)

    assert accepted.status_code == 200
    assert await stop_statuses(api, driver, offer) == ["cancelled", "cancelled"]
