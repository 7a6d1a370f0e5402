"""`python -m order_service.dev provision-store --order`: play the store that fills an order."""

from __future__ import annotations

import uuid
from uuid import UUID

from order_service.dev import provision_order_stores
from tests.integration.order.conftest import NORTH, SOUTH, OrderEnv


async def test_the_store_filling_an_order_gets_credentials_and_its_shipment(env: OrderEnv) -> None:
    env.catalog.add_offer("off-1", "sku-1", {NORTH: 5})
    order = (await env.checkout(("off-1", 1))).json()

    issued = await provision_order_stores(env.settings, UUID(order["id"]), None)

    assert [i["store_id"] for i in issued] == [NORTH.store_id]
    listed = await env.client.get(
        "/v1/retailer/orders",
        params={"status": "new"},
        headers={"X-API-Key": str(issued[0]["api_key"])},
    )
    assert listed.status_code == 200
    assert [o["shipment_id"] for o in listed.json()] == [issued[0]["shipment_id"]]
    assert str(issued[0]["webhook_secret"]).startswith("whsec_")


async def test_an_order_split_across_stores_names_each_store(env: OrderEnv) -> None:
    env.catalog.add_offer("off-1", "sku-1", {NORTH: 5})
    env.catalog.add_offer("off-2", "sku-2", {SOUTH: 5})
    order = (await env.checkout(("off-1", 1), ("off-2", 1))).json()

    issued = await provision_order_stores(env.settings, UUID(order["id"]), None)

    assert {i["store_id"] for i in issued} == {NORTH.store_id, SOUTH.store_id}
    assert len({i["shipment_id"] for i in issued}) == 2


async def test_an_unknown_order_gets_nothing(env: OrderEnv) -> None:
    assert await provision_order_stores(env.settings, uuid.uuid4(), None) == []
