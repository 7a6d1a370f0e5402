from __future__ import annotations

from datetime import timedelta
from uuid import UUID

from order_service import usecases
from order_service.outgoing import Outgoing
from shared import clock
from shared.events.order import OrderCancelled, OrderLineRerouted
from tests.integration.order.conftest import NORTH, SOUTH, OrderEnv

TTL = timedelta(minutes=15)


async def expire(env: OrderEnv, after: timedelta) -> int:
    async with env.db.begin() as tx:
        return await usecases.expire_unaccepted(
            tx, clock.now() + after, TTL, Outgoing.from_settings(env.settings)
        )


async def test_a_shipment_not_accepted_in_time_moves_to_another_store(env: OrderEnv) -> None:
    env.catalog.add_offer("off-1", "sku-1", {NORTH: 3, SOUTH: 3})
    order_id = UUID((await env.checkout(("off-1", 2))).json()["id"])

    assert await expire(env, TTL - timedelta(seconds=5)) == 0
    assert await expire(env, TTL + timedelta(seconds=5)) == 1

    moved = (await env.tap.next(OrderLineRerouted, where=lambda p: p.order_id == order_id)).payload
    assert (moved.from_store_id, moved.to_store_id) == (NORTH.store_id, SOUTH.store_id)
    held = "SELECT reserved FROM stock WHERE store_id = :s"
    assert await env.scalar(held, s=NORTH.store_id) == 0
    assert await env.scalar(held, s=SOUTH.store_id) == 2
    view = await env.client.get(f"/v1/orders/{order_id}", headers=env.customer())
    assert view.json()["status"] == "placed"


async def test_an_accepted_shipment_never_expires(env: OrderEnv) -> None:
    api_key, secret = await env.provision(NORTH)
    env.catalog.add_offer("off-1", "sku-1", {NORTH: 3})
    order_id = UUID((await env.checkout(("off-1", 1))).json()["id"])
    shipment = await env.scalar("SELECT id FROM shipments WHERE order_id = :o", o=order_id)
    await env.pos_event(api_key, secret, {"type": "accepted", "shipment_id": str(shipment)})

    assert await expire(env, TTL * 2) == 0
    assert await env.scalar("SELECT reserved FROM stock") == 1


async def test_with_no_other_store_the_expired_order_is_cancelled(env: OrderEnv) -> None:
    env.catalog.add_offer("off-1", "sku-1", {NORTH: 3})
    order_id = UUID((await env.checkout(("off-1", 1))).json()["id"])

    assert await expire(env, TTL * 2) == 1

    cancelled = await env.tap.next(OrderCancelled, where=lambda p: p.order_id == order_id)
    assert cancelled.payload.reason == "not_accepted_in_time"
    assert await env.scalar("SELECT reserved FROM stock") == 0
    view = await env.client.get(f"/v1/orders/{order_id}", headers=env.customer())
    assert view.json()["status"] == "cancelled"
