"""Odd or hostile checkout input gets a 4xx problem and changes nothing."""

from __future__ import annotations

import uuid
from typing import Any
from uuid import UUID

import pytest
from sqlalchemy import text

from tests.integration.order.conftest import MALL, NORTH, OrderEnv, a_checkout


async def orders_count(env: OrderEnv) -> int:
    return int(await env.scalar("SELECT count(*) FROM orders"))


async def post_checkout(env: OrderEnv, body: dict[str, Any]) -> Any:
    return await env.client.post(
        "/v1/checkout",
        json=body,
        headers={**env.customer(), "Idempotency-Key": uuid.uuid4().hex},
    )


@pytest.mark.parametrize("name", ["   ", "\t\n"])
async def test_a_blank_contact_name_is_refused_at_checkout(env: OrderEnv, name: str) -> None:
    await env.provision(NORTH)  # the store's webhook carries the customer's first name
    env.catalog.add_offer("off-1", "sku-1", {NORTH: 5})
    body = a_checkout(("off-1", 1))
    body["contact"]["name"] = name

    resp = await post_checkout(env, body)

    assert resp.status_code == 422, resp.text
    assert resp.headers["content-type"] == "application/problem+json"
    assert [e["field"] for e in resp.json()["errors"]] == ["contact.name"]
    assert await orders_count(env) == 0


async def test_an_order_stored_with_a_blank_name_still_serves_the_pull_api_and_packaged(
    env: OrderEnv,
) -> None:
    # Orders placed before names were checked may hold a blank one.
    api_key, secret = await env.provision(NORTH, with_webhook=False)
    env.catalog.add_offer("off-1", "sku-1", {NORTH: 5})
    placed = await env.checkout(("off-1", 1))
    assert placed.status_code == 201, placed.text
    order_id = UUID(placed.json()["id"])
    async with env.db.begin() as tx:
        await tx.execute(
            text("UPDATE orders SET contact_name = '   ' WHERE id = :id"), {"id": order_id}
        )
    shipment = str(await env.scalar("SELECT id FROM shipments WHERE order_id = :o", o=order_id))

    pulled = await env.client.get("/v1/retailer/orders", headers={"X-API-Key": api_key})
    accepted = await env.pos_event(api_key, secret, {"type": "accepted", "shipment_id": shipment})
    packaged = await env.pos_event(
        api_key, secret, {"type": "packaged", "shipment_id": shipment, "labels": ["L-1"]}
    )

    assert pulled.status_code == 200, pulled.text
    assert pulled.json()[0]["customer_first_name"] == ""
    assert (accepted.status_code, packaged.status_code) == (200, 200), packaged.text


@pytest.mark.parametrize(
    ("part", "field"),
    [
        ("address", "line1"),
        ("address", "instructions"),
        ("contact", "name"),
        ("contact", "phone"),
    ],
)
async def test_nul_characters_in_text_are_refused_before_the_database(
    env: OrderEnv, part: str, field: str
) -> None:
    env.catalog.add_offer("off-1", "sku-1", {NORTH: 5})
    body = a_checkout(("off-1", 1))
    body[part][field] = "Apt 4\x00B 555 0100"

    resp = await post_checkout(env, body)

    assert resp.status_code == 422, resp.text
    assert [e["field"] for e in resp.json()["errors"]] == [f"{part}.{field}"]
    assert await orders_count(env) == 0


@pytest.mark.parametrize("offer_id", ["../stores", "a\n", "off 1", "%2e%2e%2fstores", "x/y"])
async def test_an_offer_id_not_in_the_offer_format_never_reaches_the_catalog(
    env: OrderEnv, offer_id: str
) -> None:
    resp = await post_checkout(env, a_checkout((offer_id, 1)))

    assert resp.status_code == 422, resp.text
    assert [e["field"] for e in resp.json()["errors"]] == ["lines.0.offer_id"]
    assert env.catalog.requested == []
    assert await orders_count(env) == 0


async def test_the_admin_store_path_refuses_nul_and_odd_store_ids(env: OrderEnv) -> None:
    headers = {"Authorization": f"Bearer {env.settings.operator_token}"}

    resp = await env.client.post("/v1/admin/stores/st%00x/pos-credentials", headers=headers)

    assert resp.status_code == 422, resp.text
    assert await env.scalar("SELECT count(*) FROM pos_credentials") == 0


async def test_an_address_outside_the_malls_delivery_area_is_refused(env: OrderEnv) -> None:
    area = (MALL.lat, MALL.lng, 30_000)
    env.catalog.add_offer("off-1", "sku-1", {NORTH: 5}, area=area)
    far = a_checkout(("off-1", 1))
    far["address"].update(lat=MALL.lat + 2.0, lng=MALL.lng)  # about 220 km north
    key = uuid.uuid4().hex
    headers = {**env.customer(), "Idempotency-Key": key}

    refused = await env.client.post("/v1/checkout", json=far, headers=headers)
    near = await env.client.post("/v1/checkout", json=a_checkout(("off-1", 1)), headers=headers)

    assert refused.status_code == 422, refused.text
    assert refused.json()["code"] == "address_out_of_area"
    assert [e["field"] for e in refused.json()["errors"]] == ["address"]
    assert NORTH.mall_name not in refused.text and MALL.id not in refused.text
    # Nothing was kept of the refused attempt, not even its idempotency key.
    assert near.status_code == 201, near.text
    assert await orders_count(env) == 1


async def test_a_stock_query_for_an_odd_sku_is_a_422_not_a_database_error(env: OrderEnv) -> None:
    api_key, _ = await env.provision(NORTH, with_webhook=False)

    resp = await env.client.get("/v1/retailer/stock/SKU%00X", headers={"X-API-Key": api_key})

    assert resp.status_code == 422, resp.text
    assert resp.headers["content-type"] == "application/problem+json"
