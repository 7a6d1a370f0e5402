"""Races of the order's lifecycle on the real broker and database, each in both orders: a cancel
against the pickup scan, stock coming back, the driver's first fix after pickup, tips."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import UUID

import orjson
import pytest

from shared.events.common import GeoPoint
from shared.events.dispatch import RouteAssigned
from shared.events.driver import (
    DriverLocationUpdated,
    RouteStopDelivered,
    RouteStopFailed,
    RouteStopPickedUp,
    RouteStopReturned,
)
from shared.events.order import OrderCancelled, OrderLineRerouted, OrderTipped
from tests.integration.order.conftest import HOME, NORTH, SOUTH, OrderEnv, StoreInfo
from tests.support import eventually

DRIVER = uuid.uuid4()
ROUTE = uuid.uuid4()
# Metres of latitude per degree.
M_PER_DEG = 111_200.0


async def a_packaged_order(env: OrderEnv, quantity: int = 1) -> tuple[str, UUID, str, str]:
    api_key, secret = await env.provision(NORTH)
    # The other store of the mall holds none, yet the directory knows where it is.
    env.catalog.add_offer("off-1", "sku-1", {NORTH: 5, SOUTH: 0})
    placed = await env.checkout(("off-1", quantity))
    assert placed.status_code == 201, placed.text
    order_id = placed.json()["id"]
    shipment = UUID(
        str(await env.scalar("SELECT id FROM shipments WHERE order_id = :o", o=UUID(order_id)))
    )
    for body in (
        {"type": "accepted", "shipment_id": str(shipment)},
        {"type": "packaged", "shipment_id": str(shipment), "labels": ["L1"]},
    ):
        resp = await env.pos_event(api_key, secret, body)
        assert resp.status_code == 200, resp.text
    return order_id, shipment, api_key, secret


def a_step(payload_cls: Any, order_id: str, shipment: UUID, **fields: Any) -> Any:
    values: dict[str, Any] = {
        "route_id": ROUTE,
        "stop_id": uuid.uuid4(),
        "mall_id": NORTH.mall_id,
        "driver_id": DRIVER,
        "order_id": UUID(order_id),
        "shipment_id": shipment,
        "at": datetime.now(UTC),
    }
    values.update(fields)
    return payload_cls(**values)


async def view_of(env: OrderEnv, order_id: str) -> dict[str, Any]:
    resp = await env.client.get(f"/v1/orders/{order_id}", headers=env.customer())
    assert resp.status_code == 200, resp.text
    body: dict[str, Any] = resp.json()
    return body


async def reaches(env: OrderEnv, order_id: str, status: str) -> dict[str, Any]:
    async def check() -> dict[str, Any] | None:
        view = await view_of(env, order_id)
        return view if view["status"] == status else None

    found: dict[str, Any] = await eventually(check, within=15)
    return found


async def ledger(env: OrderEnv, store: StoreInfo, sku: str) -> tuple[int, int, int]:
    """(available, reserved, sold) of one SKU at one store: sold is what reached customers."""
    available = await env.scalar(
        "SELECT quantity - reserved FROM stock WHERE store_id = :s AND sku = :k",
        s=store.store_id,
        k=sku,
    )
    reserved = await env.scalar(
        "SELECT reserved FROM stock WHERE store_id = :s AND sku = :k", s=store.store_id, k=sku
    )
    sold = await env.scalar(
        "SELECT coalesce(sum(l.quantity), 0) FROM order_lines l JOIN shipments s"
        " ON s.id = l.shipment_id WHERE s.store_id = :s AND l.sku = :k"
        " AND s.status = 'delivered' AND NOT l.is_cancelled",
        s=store.store_id,
        k=sku,
    )
    return int(available), int(reserved), int(sold)


def webhooks_of(env: OrderEnv, event_type: str) -> list[dict[str, Any]]:
    found = []
    for _, body in env.pos.received:
        event: dict[str, Any] = orjson.loads(body)
        if event["type"] == event_type:
            found.append(event)
    return found


async def restock(env: OrderEnv, api_key: str, secret: str, shipment: UUID) -> dict[str, Any]:
    resp = await env.pos_event(api_key, secret, {"type": "restocked", "shipment_id": str(shipment)})
    assert resp.status_code == 200, resp.text
    body: dict[str, Any] = resp.json()
    return body


# --- 1. cancel vs pickup scan ------------------------------------------------------------------


@pytest.mark.parametrize("first", ["pickup", "cancel"])
async def test_a_cancel_racing_the_pickup_scan_becomes_a_return_the_store_restocks(
    env: OrderEnv, first: str
) -> None:
    order_id, shipment, api_key, secret = await a_packaged_order(env)
    # The packed item is off the shelf and not sold: it counts again once restocked.
    packed = sum(await ledger(env, NORTH, "sku-1"))

    async def pickup_applies() -> None:
        await env.publish(a_step(RouteStopPickedUp, order_id, shipment, labels=["L1"]), "k")

    if first == "pickup":
        await pickup_applies()
        await reaches(env, order_id, "picked_up")
        cancelled = await env.client.post(f"/v1/orders/{order_id}/cancel", headers=env.customer())
        assert cancelled.status_code == 200, cancelled.text
    else:
        cancelled = await env.client.post(f"/v1/orders/{order_id}/cancel", headers=env.customer())
        assert cancelled.status_code == 200, cancelled.text
        assert cancelled.json()["status"] == "cancelled"
        # The driver app had scanned first: the pickup event arrives after the cancel.
        await pickup_applies()

    returning = await reaches(env, order_id, "returning")
    assert returning["timeline"][-1]["message"] == (
        "Order cancelled; it is being returned and you will not be charged."
    )
    assert returning["driver_location"] is None and returning["eta"] is None
    told = await env.tap.next(
        OrderCancelled, within=10, where=lambda p: p.order_id == UUID(order_id)
    )
    assert told.payload.shipment_ids == [shipment]
    await eventually(lambda: webhooks_of(env, "order.returning"), within=15)

    await env.publish(
        a_step(RouteStopReturned, order_id, shipment, store_id=NORTH.store_id), "k"
    )
    await reaches(env, order_id, "returned_to_store")
    # Off the shelf until the store says the goods are back on it.
    assert sum(await ledger(env, NORTH, "sku-1")) == packed
    await eventually(lambda: webhooks_of(env, "order.returned"), within=15)
    assert (await restock(env, api_key, secret, shipment))["status"] == "returned_to_store"

    assert sum(await ledger(env, NORTH, "sku-1")) == packed + 1 == 5
    again = await env.pos_event(
        api_key, secret, {"type": "restocked", "shipment_id": str(shipment)}
    )
    assert again.status_code == 409
    assert sum(await ledger(env, NORTH, "sku-1")) == packed + 1


# --- 4. stock comes back -----------------------------------------------------------------------


async def test_stock_of_an_order_cancelled_after_packing_comes_back_once_the_store_confirms(
    env: OrderEnv,
) -> None:
    order_id, shipment, api_key, secret = await a_packaged_order(env, quantity=2)
    before = await ledger(env, NORTH, "sku-1")
    assert before == (3, 0, 0)

    cancelled = await env.client.post(f"/v1/orders/{order_id}/cancel", headers=env.customer())
    assert cancelled.status_code == 200
    retailer = await env.client.get(
        "/v1/retailer/orders", params={"status": "cancelled"}, headers={"x-api-key": api_key}
    )
    assert [o["is_restock_due"] for o in retailer.json()] == [True]
    await restock(env, api_key, secret, shipment)

    after = await ledger(env, NORTH, "sku-1")
    assert after == (5, 0, 0)
    assert sum(after) == sum(before) + 2


@pytest.mark.parametrize("first", ["restocked", "pickup"])
async def test_a_restock_racing_a_late_pickup_scan_never_counts_goods_twice(
    env: OrderEnv, first: str
) -> None:
    order_id, shipment, api_key, secret = await a_packaged_order(env)
    total = sum(await ledger(env, NORTH, "sku-1")) + 1
    cancelled = await env.client.post(f"/v1/orders/{order_id}/cancel", headers=env.customer())
    assert cancelled.status_code == 200
    pickup = a_step(RouteStopPickedUp, order_id, shipment, labels=["L1"])

    if first == "restocked":
        # The store put it back on the shelf, but the driver had scanned it already.
        await restock(env, api_key, secret, shipment)
        assert sum(await ledger(env, NORTH, "sku-1")) == total
        await env.publish(pickup, "k")
        await reaches(env, order_id, "returning")
    else:
        await env.publish(pickup, "k")
        await reaches(env, order_id, "returning")
        refused = await env.pos_event(
            api_key, secret, {"type": "restocked", "shipment_id": str(shipment)}
        )
        assert refused.status_code == 409
    # In the car, not on the shelf.
    assert sum(await ledger(env, NORTH, "sku-1")) == total - 1

    await env.publish(a_step(RouteStopReturned, order_id, shipment, store_id=NORTH.store_id), "k")
    await reaches(env, order_id, "returned_to_store")
    await restock(env, api_key, secret, shipment)
    assert sum(await ledger(env, NORTH, "sku-1")) == total


async def test_stock_of_returned_goods_comes_back_once_the_store_confirms(env: OrderEnv) -> None:
    order_id, shipment, api_key, secret = await a_packaged_order(env)
    placed_total = sum(await ledger(env, NORTH, "sku-1")) + 1

    await env.publish(a_step(RouteStopPickedUp, order_id, shipment, labels=["L1"]), "k")
    await env.publish(a_step(RouteStopFailed, order_id, shipment, reason="nobody home"), "k")
    await env.publish(a_step(RouteStopReturned, order_id, shipment, store_id=NORTH.store_id), "k")
    await reaches(env, order_id, "returned_to_store")
    await restock(env, api_key, secret, shipment)

    assert sum(await ledger(env, NORTH, "sku-1")) == placed_total


async def test_a_delivered_order_counts_as_sold_and_cannot_be_restocked(env: OrderEnv) -> None:
    order_id, shipment, api_key, secret = await a_packaged_order(env)
    total = sum(await ledger(env, NORTH, "sku-1")) + 1

    await env.publish(a_step(RouteStopPickedUp, order_id, shipment, labels=["L1"]), "k")
    await env.publish(
        a_step(RouteStopDelivered, order_id, shipment, proof_photo_sha256="ab" * 32), "k"
    )
    await reaches(env, order_id, "delivered")
    refused = await env.pos_event(
        api_key, secret, {"type": "restocked", "shipment_id": str(shipment)}
    )

    assert refused.status_code == 409
    assert await ledger(env, NORTH, "sku-1") == (4, 0, 1)
    assert sum(await ledger(env, NORTH, "sku-1")) == total


# --- 5. no driver fix near the mall -------------------------------------------------------------


def north_of(store: StoreInfo, metres: float) -> GeoPoint:
    return GeoPoint(lat=store.lat + metres / M_PER_DEG, lng=store.lng)


@pytest.mark.parametrize("first", ["position", "pickup"])
async def test_the_first_fixes_after_pickup_near_the_mall_are_never_shown(
    env: OrderEnv, first: str
) -> None:
    order_id, shipment, _, _ = await a_packaged_order(env)
    picked_at = datetime.now(UTC)
    pickup = a_step(RouteStopPickedUp, order_id, shipment, labels=["L1"], at=picked_at)
    # Taken after the scan, still in the car park: 250 m from the store.
    at_the_mall = DriverLocationUpdated(
        driver_id=DRIVER, location=north_of(NORTH, 250), at=picked_at + timedelta(seconds=5)
    )
    steps = [(at_the_mall, str(DRIVER)), (pickup, "k")]
    for payload, key in steps if first == "position" else reversed(steps):
        await env.publish(payload, key)
    await reaches(env, order_id, "picked_up")
    await eventually(
        lambda: env.scalar("SELECT count(*) FROM driver_positions WHERE at > :t", t=picked_at),
        within=15,
    )

    assert (await view_of(env, order_id))["driver_location"] is None
    # Near another store of the same mall is no better.
    await env.publish(
        DriverLocationUpdated(
            driver_id=DRIVER, location=north_of(SOUTH, -280), at=picked_at + timedelta(seconds=9)
        ),
        str(DRIVER),
    )
    await eventually(
        lambda: env.scalar(
            "SELECT count(*) FROM driver_positions WHERE at > :t",
            t=picked_at + timedelta(seconds=8),
        ),
        within=15,
    )
    assert (await view_of(env, order_id))["driver_location"] is None

    away = GeoPoint(lat=(NORTH.lat + HOME["lat"]) / 2, lng=(NORTH.lng + HOME["lng"]) / 2)
    await env.publish(
        DriverLocationUpdated(
            driver_id=DRIVER, location=away, at=picked_at + timedelta(seconds=20)
        ),
        str(DRIVER),
    )

    async def shown() -> dict[str, Any] | None:
        view = await view_of(env, order_id)
        return view if view["driver_location"] else None

    moving = await eventually(shown, within=15)
    assert moving["driver_location"]["lat"] == away.lat


# --- 6. tips -----------------------------------------------------------------------------------


async def delivered_order(env: OrderEnv, delivered_at: datetime) -> str:
    order_id, shipment, _, _ = await a_packaged_order(env)
    await env.publish(a_step(RouteStopPickedUp, order_id, shipment, labels=["L1"]), "k")
    await env.publish(
        a_step(
            RouteStopDelivered, order_id, shipment, proof_photo_sha256="ab" * 32, at=delivered_at
        ),
        "k",
    )
    await reaches(env, order_id, "delivered")
    return order_id


@pytest.mark.parametrize("first", ["tip", "delivered"])
async def test_a_tip_is_taken_once_the_order_is_delivered_and_is_idempotent(
    env: OrderEnv, first: str
) -> None:
    order_id, shipment, _, _ = await a_packaged_order(env)
    tip_url = f"/v1/orders/{order_id}/tip"
    await env.publish(a_step(RouteStopPickedUp, order_id, shipment, labels=["L1"]), "k")
    await reaches(env, order_id, "picked_up")
    if first == "tip":
        early = await env.client.post(tip_url, json={"tip_cents": 500}, headers=env.customer())
        assert early.status_code == 409
        assert early.json()["code"] == "tip_not_allowed"
    await env.publish(
        a_step(RouteStopDelivered, order_id, shipment, proof_photo_sha256="ab" * 32), "k"
    )
    await reaches(env, order_id, "delivered")

    tipped = await env.client.post(tip_url, json={"tip_cents": 500}, headers=env.customer())
    again = await env.client.post(tip_url, json={"tip_cents": 500}, headers=env.customer())
    other = await env.client.post(tip_url, json={"tip_cents": 700}, headers=env.customer())
    stranger = await env.client.post(
        tip_url, json={"tip_cents": 500}, headers=env.customer("someone-else")
    )

    assert (tipped.status_code, again.status_code, other.status_code) == (200, 200, 409)
    assert stranger.status_code == 404
    assert tipped.json()["tip_cents"] == again.json()["tip_cents"] == 500
    event = await env.tap.next(OrderTipped, within=10, where=lambda p: p.order_id == UUID(order_id))
    assert (event.payload.tip_cents, event.payload.currency) == (500, "USD")
    assert (
        await env.scalar("SELECT count(*) FROM outbox WHERE event_type = 'order.tipped'")
    ) == 1


async def test_a_tip_after_a_day_is_refused(env: OrderEnv) -> None:
    order_id = await delivered_order(env, datetime.now(UTC) - timedelta(hours=25))

    late = await env.client.post(
        f"/v1/orders/{order_id}/tip", json={"tip_cents": 300}, headers=env.customer()
    )

    assert late.status_code == 409
    assert "24 hours" in late.json()["detail"]
    assert (
        await env.scalar("SELECT count(*) FROM outbox WHERE event_type = 'order.tipped'")
    ) == 0


# --- 3. a store rejects after a driver is assigned ----------------------------------------------


@pytest.mark.parametrize("first", ["assigned", "rejected"])
async def test_a_store_rejecting_after_packing_sends_the_line_to_another_store(
    env: OrderEnv, first: str
) -> None:
    south_key, south_secret = await env.provision(SOUTH)
    api_key, secret = await env.provision(NORTH)
    env.catalog.add_offer("off-1", "sku-1", {NORTH: 5, SOUTH: 3})
    order_id = (await env.checkout(("off-1", 1))).json()["id"]
    shipment = UUID(
        str(await env.scalar("SELECT id FROM shipments WHERE order_id = :o", o=UUID(order_id)))
    )
    assert await env.scalar("SELECT store_id FROM shipments WHERE id = :s", s=shipment) == (
        NORTH.store_id
    )
    for body in (
        {"type": "accepted", "shipment_id": str(shipment)},
        {"type": "packaged", "shipment_id": str(shipment), "labels": ["L1"]},
    ):
        assert (await env.pos_event(api_key, secret, body)).status_code == 200
    assigned = RouteAssigned(
        route_id=ROUTE,
        offer_id=uuid.uuid4(),
        mall_id=NORTH.mall_id,
        driver_id=DRIVER,
        pay_cents=1200,
        order_ids=[UUID(order_id)],
    )

    async def reject() -> None:
        resp = await env.pos_event(
            api_key,
            secret,
            {"type": "out_of_stock", "shipment_id": str(shipment), "lines": [{"sku": "sku-1"}]},
        )
        assert resp.status_code == 200, resp.text
        assert resp.json()["status"] == "rejected_by_store"

    if first == "assigned":
        await env.publish(assigned, NORTH.mall_id)
        await eventually(lambda: env.scalar("SELECT route_id FROM orders"), within=15)
        await reject()
    else:
        await reject()
        await env.publish(assigned, NORTH.mall_id)
        await eventually(lambda: env.scalar("SELECT route_id FROM orders"), within=15)

    moved = await env.tap.next(
        OrderLineRerouted, within=10, where=lambda p: p.from_shipment_id == shipment
    )
    assert (moved.payload.to_store_id, [(x.sku, x.quantity) for x in moved.payload.lines]) == (
        SOUTH.store_id,
        [("sku-1", 1)],
    )
    dropped = await env.tap.next(
        OrderCancelled, within=10, where=lambda p: p.order_id == UUID(order_id)
    )
    assert dropped.payload.shipment_ids == [shipment]
    view = await view_of(env, order_id)
    assert view["status"] == "placed"
    assert [line["is_cancelled"] for line in view["lines"]] == [False]
    south_orders = await env.client.get(
        "/v1/retailer/orders", params={"status": "new"}, headers={"x-api-key": south_key}
    )
    assert [o["shipment_id"] for o in south_orders.json()] == [str(moved.payload.to_shipment_id)]
    assert south_secret


async def test_packages_missing_at_the_pickup_scan_take_the_same_path(env: OrderEnv) -> None:
    await env.provision(SOUTH)
    api_key, secret = await env.provision(NORTH)
    env.catalog.add_offer("off-1", "sku-1", {NORTH: 5, SOUTH: 3})
    env.catalog.add_offer("off-2", "sku-2", {NORTH: 5, SOUTH: 3})
    order_id = (await env.checkout(("off-1", 1), ("off-2", 1))).json()["id"]
    shipment = UUID(
        str(await env.scalar("SELECT id FROM shipments WHERE order_id = :o", o=UUID(order_id)))
    )
    for body in (
        {"type": "accepted", "shipment_id": str(shipment)},
        {"type": "packaged", "shipment_id": str(shipment), "labels": ["L1", "L2"]},
    ):
        assert (await env.pos_event(api_key, secret, body)).status_code == 200
    await env.publish(
        a_step(RouteStopPickedUp, order_id, shipment, labels=["L1"], missing_labels=["L2"]), "k"
    )
    await reaches(env, order_id, "picked_up")
    asked = await eventually(lambda: webhooks_of(env, "order.packages_missing"), within=15)
    assert asked[0]["data"]["missing_labels"] == ["L2"]

    reported = await env.pos_event(
        api_key,
        secret,
        {"type": "out_of_stock", "shipment_id": str(shipment), "lines": [{"sku": "sku-2"}]},
    )
    everything = await env.pos_event(
        api_key,
        secret,
        {"type": "out_of_stock", "shipment_id": str(shipment), "lines": [{"sku": "sku-1"}]},
    )

    assert reported.status_code == 200, reported.text
    assert reported.json()["status"] == "picked_up"
    # The driver holds the rest: not everything can be missing.
    assert everything.status_code == 422
    moved = await env.tap.next(
        OrderLineRerouted, within=10, where=lambda p: p.from_shipment_id == shipment
    )
    assert moved.payload.to_store_id == SOUTH.store_id
