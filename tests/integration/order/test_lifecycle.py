from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any
from uuid import UUID

import httpx

from shared.events.catalog import InventoryChanged, StoreUpserted
from shared.events.common import GeoPoint
from shared.events.dispatch import OrderPromiseAtRisk, RouteAssigned
from shared.events.driver import (
    DriverLocationUpdated,
    RouteStopDelivered,
    RouteStopFailed,
    RouteStopPickedUp,
    RouteStopReturned,
)
from shared.events.order import OrderDelivered
from tests.integration.order.conftest import (
    ALL_STORES,
    HOME,
    MALL,
    NORTH,
    OTHER_MALL,
    SOUTH,
    OrderEnv,
)
from tests.support import eventually

DRIVER = uuid.uuid4()
ROUTE = uuid.uuid4()


class CustomerLog:
    """Every customer-facing response of a test, to scan for store and mall identity."""

    def __init__(self) -> None:
        self.responses: list[httpx.Response] = []

    def __call__(self, resp: httpx.Response) -> httpx.Response:
        self.responses.append(resp)
        return resp


async def packaged_order(env: OrderEnv, seen: CustomerLog) -> tuple[str, UUID]:
    api_key, secret = await env.provision(NORTH)
    env.catalog.add_offer("off-1", "sku-1", {NORTH: 5})
    order_id = seen(await env.checkout(("off-1", 1))).json()["id"]
    shipment = UUID(
        str(await env.scalar("SELECT id FROM shipments WHERE order_id = :o", o=UUID(order_id)))
    )
    for body in (
        {"type": "accepted", "shipment_id": str(shipment)},
        {"type": "packaged", "shipment_id": str(shipment), "labels": ["L1"]},
    ):
        assert (await env.pos_event(api_key, secret, body)).status_code == 200
    return order_id, shipment


async def status_of(env: OrderEnv, order_id: str, seen: CustomerLog) -> str:
    resp = seen(await env.client.get(f"/v1/orders/{order_id}", headers=env.customer()))
    return str(resp.json()["status"])


def step(payload_cls: Any, order_id: str, shipment: UUID, **fields: Any) -> Any:
    return payload_cls(
        route_id=ROUTE,
        stop_id=uuid.uuid4(),
        mall_id=MALL.id,
        driver_id=DRIVER,
        order_id=UUID(order_id),
        shipment_id=shipment,
        at=datetime.now(UTC),
        **fields,
    )


async def test_a_full_lifecycle_never_shows_the_customer_a_store_or_mall(env: OrderEnv) -> None:
    seen = CustomerLog()
    seen(await env.checkout(("unknown-offer", 1)))
    order_id, shipment = await packaged_order(env, seen)
    await env.publish(
        RouteAssigned(
            route_id=ROUTE,
            offer_id=uuid.uuid4(),
            mall_id=MALL.id,
            driver_id=DRIVER,
            pay_cents=1200,
            order_ids=[UUID(order_id)],
        ),
        key=MALL.id,
    )
    await env.publish(
        DriverLocationUpdated(
            driver_id=DRIVER, location=GeoPoint(lat=NORTH.lat, lng=NORTH.lng), at=datetime.now(UTC)
        ),
        key=str(DRIVER),
    )
    await eventually(lambda: env.scalar("SELECT count(*) FROM driver_positions"), within=15)
    await eventually(lambda: env.scalar("SELECT driver_id FROM orders"), within=15)

    before_pickup = seen(await env.client.get(f"/v1/orders/{order_id}", headers=env.customer()))
    # At the store, the driver's position would name the store.
    assert before_pickup.json()["driver_location"] is None

    await env.publish(step(RouteStopPickedUp, order_id, shipment, labels=["L1"]), key=str(ROUTE))
    await eventually(lambda: _is(env, order_id, seen, "picked_up"), within=15)
    stale = seen(await env.client.get(f"/v1/orders/{order_id}", headers=env.customer())).json()
    # The last fix is from the store, taken before the pickup: still not shown.
    assert stale["driver_location"] is None
    on_the_way = GeoPoint(lat=(NORTH.lat + HOME["lat"]) / 2, lng=(NORTH.lng + HOME["lng"]) / 2)
    await env.publish(
        DriverLocationUpdated(driver_id=DRIVER, location=on_the_way, at=datetime.now(UTC)),
        key=str(DRIVER),
    )
    moving = await eventually(lambda: _driver_shown(env, order_id, seen), within=15)
    assert moving["driver_location"]["lat"] == on_the_way.lat
    assert moving["eta"] is not None
    await env.publish(
        OrderPromiseAtRisk(
            order_id=UUID(order_id),
            shipment_id=shipment,
            mall_id=MALL.id,
            deliver_by=datetime.now(UTC),
            reason="traffic",
        ),
        key=MALL.id,
    )
    await env.publish(
        step(RouteStopDelivered, order_id, shipment, proof_photo_sha256="ab" * 32), key=str(ROUTE)
    )
    await eventually(lambda: _is(env, order_id, seen, "delivered"), within=15)
    await env.tap.next(OrderDelivered, within=10, where=lambda p: p.order_id == UUID(order_id))
    final = seen(await env.client.get(f"/v1/orders/{order_id}", headers=env.customer())).json()
    assert [e["status"] for e in final["timeline"]] == [
        "placed",
        "accepted",
        "packaged",
        "picked_up",
        "delayed",
        "delivered",
    ]
    seen(await env.client.post(f"/v1/orders/{order_id}/cancel", headers=env.customer()))
    seen(await env.client.get(f"/v1/orders/{uuid.uuid4()}", headers=env.customer()))

    forbidden = {MALL.id, MALL.name, MALL.address, OTHER_MALL.id, OTHER_MALL.name}
    for store in ALL_STORES:
        forbidden |= {store.store_id, store.name, store.pickup_instructions, str(store.lat)}
    assert len(seen.responses) >= 8
    for resp in seen.responses:
        text = resp.text + " ".join(f"{k}: {v}" for k, v in resp.headers.items())
        leaked = {word for word in forbidden if word.lower() in text.lower()}
        assert not leaked, (resp.request.url, leaked)


async def _driver_shown(env: OrderEnv, order_id: str, seen: CustomerLog) -> dict[str, Any] | None:
    resp = seen(await env.client.get(f"/v1/orders/{order_id}", headers=env.customer()))
    body: dict[str, Any] = resp.json()
    return body if body["driver_location"] is not None else None


async def _is(env: OrderEnv, order_id: str, seen: CustomerLog, wanted: str) -> bool:
    return await status_of(env, order_id, seen) == wanted


async def test_the_customer_api_docs_name_no_store_or_mall(env: OrderEnv) -> None:
    spec = (await env.client.get("/openapi.json")).json()
    customer_paths = {
        p: v for p, v in spec["paths"].items() if p.startswith(("/v1/checkout", "/v1/orders"))
    }
    schemas = spec["components"]["schemas"]
    referenced: set[str] = set()
    pending = [str(customer_paths)]
    while pending:
        chunk = pending.pop()
        for name in schemas:
            if f"#/components/schemas/{name}'" in chunk and name not in referenced:
                referenced.add(name)
                pending.append(str(schemas[name]))

    assert "OrderView" in referenced
    text = (str(customer_paths) + "".join(str(schemas[n]) for n in referenced)).lower()
    assert "store" not in text
    assert "mall" not in text


async def test_a_failed_delivery_goes_back_to_the_store(env: OrderEnv) -> None:
    seen = CustomerLog()
    order_id, shipment = await packaged_order(env, seen)

    await env.publish(step(RouteStopPickedUp, order_id, shipment, labels=["L1"]), key=str(ROUTE))
    await env.publish(
        step(RouteStopFailed, order_id, shipment, reason="nobody home"), key=str(ROUTE)
    )
    await env.publish(
        step(RouteStopReturned, order_id, shipment, store_id=NORTH.store_id), key=str(ROUTE)
    )

    await eventually(lambda: _is(env, order_id, seen, "returned_to_store"), within=15)


async def test_an_illegal_driver_event_is_refused_and_the_status_kept(env: OrderEnv) -> None:
    seen = CustomerLog()
    order_id, shipment = await packaged_order(env, seen)

    # Delivered before picked up: refused. The pickup after it still applies.
    await env.publish(
        step(RouteStopDelivered, order_id, shipment, proof_photo_sha256="ab" * 32), key=str(ROUTE)
    )
    await env.publish(step(RouteStopPickedUp, order_id, shipment, labels=["L1"]), key=str(ROUTE))

    await eventually(lambda: _is(env, order_id, seen, "picked_up"), within=15)
    assert await env.scalar("SELECT count(*) FROM outbox WHERE event_type = 'order.delivered'") == 0


async def test_catalog_counts_outrank_the_offers_and_store_updates_are_kept(env: OrderEnv) -> None:
    await env.publish(
        StoreUpserted(
            store_id=NORTH.store_id,
            retailer_id="r-1",
            retailer_name="Zephyr",
            mall_id=MALL.id,
            mall_name=MALL.name,
            name="Zephyr Outfitters (renamed)",
            location=GeoPoint(lat=NORTH.lat, lng=NORTH.lng),
            timezone=MALL.timezone,
            pickup_instructions="New desk",
            prep_minutes=10,
        ),
        key=NORTH.store_id,
    )
    await env.publish(
        InventoryChanged(
            store_id=NORTH.store_id,
            retailer_id="r-1",
            mall_id=MALL.id,
            sku="sku-1",
            quantity=2,
            as_of=datetime.now(UTC),
        ),
        key=NORTH.store_id,
    )
    await eventually(lambda: env.scalar("SELECT count(*) FROM stock WHERE as_of IS NOT NULL"), 15)
    await eventually(lambda: env.scalar("SELECT count(*) FROM stores"), 15)
    # The offer claims plenty; the store's own count (2) is what we reserve against.
    env.catalog.add_offer("off-1", "sku-1", {NORTH: 50})

    too_many = await env.checkout(("off-1", 3))
    enough = await env.checkout(("off-1", 2))

    assert (too_many.status_code, enough.status_code) == (409, 201)
    assert await env.scalar("SELECT name FROM stores") == "Zephyr Outfitters (renamed)"


async def test_a_store_the_catalog_deactivated_gets_no_orders(env: OrderEnv) -> None:
    await env.publish(
        StoreUpserted(
            store_id=SOUTH.store_id,
            retailer_id="r-2",
            retailer_name="Quokka",
            mall_id=MALL.id,
            mall_name=MALL.name,
            name=SOUTH.name,
            location=GeoPoint(lat=SOUTH.lat, lng=SOUTH.lng),
            timezone=MALL.timezone,
            pickup_instructions=SOUTH.pickup_instructions,
            prep_minutes=10,
            is_active=False,
        ),
        key=SOUTH.store_id,
    )
    await eventually(lambda: env.scalar("SELECT count(*) FROM stores"), 15)
    env.catalog.add_offer("off-1", "sku-1", {SOUTH: 9, NORTH: 1})

    first = await env.checkout(("off-1", 1))
    second = await env.checkout(("off-1", 1))

    assert (first.status_code, second.status_code) == (201, 409)
    assert await env.scalar("SELECT DISTINCT store_id FROM shipments") == NORTH.store_id
