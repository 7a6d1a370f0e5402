from __future__ import annotations

from uuid import UUID

import orjson
from standardwebhooks import Webhook

from tests.integration.order.conftest import NORTH, SOUTH, OrderEnv
from tests.support import eventually


async def test_a_new_order_reaches_the_stores_pos_signed(env: OrderEnv) -> None:
    _, secret = await env.provision(NORTH)
    env.catalog.add_offer("off-1", "sku-1", {NORTH: 5})

    order = (await env.checkout(("off-1", 1))).json()

    await eventually(lambda: env.pos.received, within=10)
    headers, body = env.pos.received[0]
    payload = Webhook(secret).verify(body, headers)
    assert payload["type"] == "order.created"
    assert payload["data"]["customer_first_name"] == "Harriet"
    assert "Wisteria" not in body.decode()
    shipment = await env.scalar("SELECT id FROM shipments WHERE order_id = :o", o=UUID(order["id"]))
    assert payload["data"]["shipment_id"] == str(shipment)
    assert await env.scalar("SELECT status_code FROM webhook_attempts") == 204


async def test_a_failing_endpoint_is_retried_with_each_attempt_recorded(env: OrderEnv) -> None:
    await env.provision(NORTH)
    env.pos.failures = 2
    env.catalog.add_offer("off-1", "sku-1", {NORTH: 5})

    await env.checkout(("off-1", 1))

    await eventually(
        lambda: env.scalar("SELECT count(*) FROM webhook_deliveries WHERE status = 'delivered'"),
        within=15,
    )
    codes = await env.scalar("SELECT array_agg(status_code ORDER BY id) FROM webhook_attempts")
    assert codes == [500, 500, 204]
    assert await env.scalar("SELECT attempts FROM webhook_deliveries") == 3
    # Every attempt of one delivery carries the same webhook-id, so the POS can dedupe.
    assert len({headers["webhook-id"] for headers, _ in env.pos.received}) == 1


async def test_a_cancelled_order_is_announced_to_its_store(env: OrderEnv) -> None:
    await env.provision(NORTH)
    await env.provision(SOUTH, with_webhook=False)
    env.catalog.add_offer("off-1", "sku-1", {NORTH: 5})
    order = (await env.checkout(("off-1", 1))).json()

    await env.client.post(f"/v1/orders/{order['id']}/cancel", headers=env.customer())

    await eventually(lambda: len(env.pos.received) == 2, within=10)
    types = [orjson.loads(body)["type"] for _, body in env.pos.received]
    assert sorted(types) == ["order.cancelled", "order.created"]
