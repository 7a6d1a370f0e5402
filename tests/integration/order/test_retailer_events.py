from __future__ import annotations

import hashlib
import json
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import UUID

import httpx
import pytest

from shared.events.order import (
    OrderAccepted,
    OrderCancelled,
    OrderLineRerouted,
    OrderReadyForPickup,
)
from tests.integration.order.conftest import HOME, NORTH, SOUTH, OrderEnv, signed_headers

# A UUID or a timestamp, generated for the run: searched for a secret, one may contain "555".
RANDOM_FIELDS = frozenset({"shipment_id", "placed_at", "deliver_by"})


async def placed_at(env: OrderEnv, *stock: tuple[str, str, dict[Any, int], int]) -> dict[str, Any]:
    """A placed order; returns its view and its (only) shipment id."""
    for offer_id, sku, counts, _ in stock:
        env.catalog.add_offer(offer_id, sku, counts)
    resp = await env.checkout(*((offer_id, qty) for offer_id, _, _, qty in stock))
    assert resp.status_code == 201, resp.text
    order: dict[str, Any] = resp.json()
    order["shipment_id"] = str(
        await env.scalar("SELECT id FROM shipments WHERE order_id = :o", o=UUID(order["id"]))
    )
    return order


async def shipment_status(env: OrderEnv, shipment_id: str) -> str:
    return str(await env.scalar("SELECT status FROM shipments WHERE id = :s", s=UUID(shipment_id)))


async def test_accepted_then_packaged_publishes_everything_pickup_needs(env: OrderEnv) -> None:
    api_key, secret = await env.provision(NORTH)
    order = await placed_at(env, ("off-1", "sku-1", {NORTH: 5}, 2))
    shipment = order["shipment_id"]

    accepted = await env.pos_event(api_key, secret, {"type": "accepted", "shipment_id": shipment})
    packaged = await env.pos_event(
        api_key,
        secret,
        {"type": "packaged", "shipment_id": shipment, "labels": ["LBL-1", "LBL-2"]},
    )

    assert (accepted.status_code, packaged.status_code) == (200, 200), packaged.text
    assert packaged.json()["status"] == "packaged"
    await env.tap.next(OrderAccepted, where=lambda p: p.shipment_id == UUID(shipment))
    ready = (
        await env.tap.next(OrderReadyForPickup, where=lambda p: p.shipment_id == UUID(shipment))
    ).payload
    assert (ready.store_id, ready.store_name, ready.mall_name) == (
        NORTH.store_id,
        NORTH.name,
        NORTH.mall_name,
    )
    assert ready.pickup_instructions == NORTH.pickup_instructions
    assert (ready.pickup.lat, ready.pickup.lng) == (NORTH.lat, NORTH.lng)
    assert (ready.package_count, ready.labels) == (2, ["LBL-1", "LBL-2"])
    assert (ready.dropoff.lat, ready.dropoff.lng) == (HOME["lat"], HOME["lng"])
    assert ready.dropoff_address == "4821 Wisteria Lane, Apt 12, Las Vegas, NV 89109"
    assert ready.dropoff_area == "Las Vegas 89109"
    assert ready.customer_first_name == "Harriet"
    assert ready.pin_sha256 == hashlib.sha256(order["delivery_pin"].encode()).hexdigest()
    assert ready.deliver_by == datetime.fromisoformat(order["deliver_by"])
    view = await env.client.get(f"/v1/orders/{order['id']}", headers=env.customer())
    assert view.json()["status"] == "packaged"
    # Packed goods left the shelf: the hold turns into a lower count.
    assert await env.scalar("SELECT quantity - reserved FROM stock") == 3


async def test_the_pull_api_lists_new_orders_with_the_first_name_only(env: OrderEnv) -> None:
    api_key, _ = await env.provision(NORTH)
    order = await placed_at(env, ("off-1", "sku-1", {NORTH: 5}, 1))

    resp = await env.client.get("/v1/retailer/orders?status=new", headers={"x-api-key": api_key})
    other = await env.client.get(
        "/v1/retailer/orders?status=new", headers={"x-api-key": (await env.provision(SOUTH))[0]}
    )

    assert resp.status_code == 200
    [listed] = resp.json()
    assert listed["shipment_id"] == order["shipment_id"]
    assert listed["customer_first_name"] == "Harriet"
    assert listed["lines"] == [{"sku": "sku-1", "title": "Item sku-1", "quantity": 1}]
    shown = json.dumps({k: v for k, v in listed.items() if k not in RANDOM_FIELDS})
    for secret_field in ("Wisteria", "Okonkwo", "555", "0142", "89109"):
        assert secret_field not in shown
    assert other.json() == []


async def test_without_a_valid_api_key_the_pull_api_is_closed(env: OrderEnv) -> None:
    resp = await env.client.get("/v1/retailer/orders", headers={"x-api-key": "mth_sk_nope"})

    assert resp.status_code == 401


async def test_both_secrets_are_accepted_during_a_rotation(env: OrderEnv) -> None:
    old_key, old_secret = await env.provision(NORTH)
    new_key, new_secret = await env.provision(NORTH)
    order = await placed_at(env, ("off-1", "sku-1", {NORTH: 5}, 1))
    shipment = order["shipment_id"]

    by_old = await env.pos_event(old_key, old_secret, {"type": "accepted", "shipment_id": shipment})
    by_new = await env.pos_event(
        new_key, new_secret, {"type": "packaged", "shipment_id": shipment, "labels": ["L1"]}
    )

    assert (by_old.status_code, by_new.status_code) == (200, 200)


async def test_a_packaged_before_accepted_is_refused_as_illegal(env: OrderEnv) -> None:
    api_key, secret = await env.provision(NORTH)
    order = await placed_at(env, ("off-1", "sku-1", {NORTH: 5}, 1))

    resp = await env.pos_event(
        api_key, secret, {"type": "packaged", "shipment_id": order["shipment_id"], "labels": ["L"]}
    )

    assert resp.status_code == 409
    assert resp.json()["code"] == "illegal_transition"
    assert await shipment_status(env, order["shipment_id"]) == "placed"


async def test_out_of_stock_moves_the_line_to_another_store_of_the_mall(env: OrderEnv) -> None:
    api_key, secret = await env.provision(NORTH)
    order = await placed_at(env, ("off-1", "sku-1", {NORTH: 5, SOUTH: 2}, 2))

    resp = await env.pos_event(
        api_key,
        secret,
        {"type": "out_of_stock", "shipment_id": order["shipment_id"], "lines": [{"sku": "sku-1"}]},
    )

    assert resp.status_code == 200, resp.text
    assert resp.json()["status"] == "rejected_by_store"
    moved = (
        await env.tap.next(OrderLineRerouted, where=lambda p: p.order_id == UUID(order["id"]))
    ).payload
    assert (moved.from_store_id, moved.to_store_id) == (NORTH.store_id, SOUTH.store_id)
    assert await shipment_status(env, str(moved.to_shipment_id)) == "placed"
    view = (await env.client.get(f"/v1/orders/{order['id']}", headers=env.customer())).json()
    assert view["status"] == "placed"
    assert view["lines"][0]["is_cancelled"] is False
    assert await env.scalar("SELECT reserved FROM stock WHERE store_id = :s", s=SOUTH.store_id) == 2
    assert await env.scalar("SELECT quantity FROM stock WHERE store_id = :s", s=NORTH.store_id) == 0


async def test_out_of_stock_with_no_other_store_cancels_the_line_and_tells_the_customer(
    env: OrderEnv,
) -> None:
    api_key, secret = await env.provision(NORTH)
    order = await placed_at(env, ("off-1", "sku-1", {NORTH: 5}, 1))

    resp = await env.pos_event(
        api_key,
        secret,
        {"type": "out_of_stock", "shipment_id": order["shipment_id"], "lines": [{"sku": "sku-1"}]},
    )

    assert resp.status_code == 200
    view = (await env.client.get(f"/v1/orders/{order['id']}", headers=env.customer())).json()
    assert view["status"] == "cancelled"
    assert view["lines"][0]["is_cancelled"] is True
    assert view["total_cents"] == 0
    assert "item_unavailable" in [entry["status"] for entry in view["timeline"]]
    await env.tap.next(OrderCancelled, where=lambda p: p.order_id == UUID(order["id"]))


# --- every attack: a clear 4xx and no state change -----------------------------------------


@pytest.fixture
async def accepted_attempt(env: OrderEnv) -> dict[str, Any]:
    api_key, secret = await env.provision(NORTH)
    order = await placed_at(env, ("off-1", "sku-1", {NORTH: 5}, 1))
    body = {"type": "accepted", "shipment_id": order["shipment_id"]}
    raw = httpx.Request("POST", "/", json=body).content
    return {"api_key": api_key, "secret": secret, "order": order, "body": body, "raw": raw}


async def assert_nothing_changed(env: OrderEnv, attempt: dict[str, Any]) -> None:
    assert await shipment_status(env, attempt["order"]["shipment_id"]) == "placed"
    assert await env.scalar("SELECT count(*) FROM outbox WHERE event_type = 'order.accepted'") == 0


async def send(env: OrderEnv, raw: bytes, headers: dict[str, str]) -> httpx.Response:
    return await env.client.post("/v1/retailer/events", content=raw, headers=headers)


async def test_a_bad_signature_is_rejected(env: OrderEnv, accepted_attempt: dict[str, Any]) -> None:
    a = accepted_attempt
    _, stranger_secret = await env.provision(SOUTH)
    headers = signed_headers(a["api_key"], stranger_secret, a["raw"])

    resp = await send(env, a["raw"], headers)

    assert resp.status_code == 400
    assert resp.json()["code"] == "invalid_signature"
    await assert_nothing_changed(env, a)


async def test_a_stale_timestamp_is_rejected(
    env: OrderEnv, accepted_attempt: dict[str, Any]
) -> None:
    a = accepted_attempt
    old = datetime.now(UTC) - timedelta(minutes=6)

    resp = await send(env, a["raw"], signed_headers(a["api_key"], a["secret"], a["raw"], None, old))

    assert resp.status_code == 400
    assert resp.json()["code"] == "stale_timestamp"
    await assert_nothing_changed(env, a)


async def test_a_replayed_webhook_id_is_rejected(
    env: OrderEnv, accepted_attempt: dict[str, Any]
) -> None:
    a = accepted_attempt
    headers = signed_headers(a["api_key"], a["secret"], a["raw"], "msg_once")
    assert (await send(env, a["raw"], headers)).status_code == 200
    # Put the shipment back so a replay, if applied, would be visible.
    await env.scalar(
        "UPDATE shipments SET status = 'placed' WHERE id = :s RETURNING 1",
        s=UUID(a["order"]["shipment_id"]),
    )
    await env.scalar("DELETE FROM outbox RETURNING 1")

    resp = await send(env, a["raw"], headers)

    assert resp.status_code == 409
    assert resp.json()["code"] == "webhook_replayed"
    await assert_nothing_changed(env, a)


async def test_a_tampered_body_is_rejected(env: OrderEnv, accepted_attempt: dict[str, Any]) -> None:
    a = accepted_attempt
    headers = signed_headers(a["api_key"], a["secret"], a["raw"])
    tampered = a["raw"].replace(b'"accepted"', b'"cancelled"')

    resp = await send(env, tampered, headers)

    assert resp.status_code == 400
    assert resp.json()["code"] == "invalid_signature"
    await assert_nothing_changed(env, a)


@pytest.mark.parametrize(
    "signature", ["garbage", "v1,%%%not-base64%%%", "v1", "v1,a,b", " ", "v1,YQ== v2"]
)
async def test_a_malformed_signature_header_is_a_400_not_a_500(
    env: OrderEnv, accepted_attempt: dict[str, Any], signature: str
) -> None:
    a = accepted_attempt
    headers = {
        **signed_headers(a["api_key"], a["secret"], a["raw"]),
        "webhook-signature": signature,
    }

    resp = await send(env, a["raw"], headers)

    assert resp.status_code == 400
    assert resp.json()["code"] in {"invalid_signature", "missing_signature"}
    await assert_nothing_changed(env, a)


async def test_an_unknown_order_is_not_found(
    env: OrderEnv, accepted_attempt: dict[str, Any]
) -> None:
    a = accepted_attempt

    resp = await env.pos_event(
        a["api_key"], a["secret"], {"type": "accepted", "shipment_id": str(uuid.uuid4())}
    )

    assert resp.status_code == 404
    await assert_nothing_changed(env, a)


async def test_another_stores_order_looks_unknown(
    env: OrderEnv, accepted_attempt: dict[str, Any]
) -> None:
    a = accepted_attempt
    other_key, other_secret = await env.provision(SOUTH)

    resp = await env.pos_event(other_key, other_secret, a["body"])

    assert resp.status_code == 404
    await assert_nothing_changed(env, a)


async def test_an_oversize_body_is_rejected(
    env: OrderEnv, accepted_attempt: dict[str, Any]
) -> None:
    a = accepted_attempt
    huge = {**a["body"], "reason": "x" * (env.settings.retailer_event_max_bytes + 1)}
    raw = httpx.Request("POST", "/", json=huge).content

    resp = await send(env, raw, signed_headers(a["api_key"], a["secret"], raw))

    assert resp.status_code == 413
    assert resp.json()["code"] == "payload_too_large"
    await assert_nothing_changed(env, a)


async def test_a_missing_api_key_is_unauthorized(
    env: OrderEnv, accepted_attempt: dict[str, Any]
) -> None:
    a = accepted_attempt
    headers = signed_headers(a["api_key"], a["secret"], a["raw"])
    del headers["x-api-key"]

    resp = await send(env, a["raw"], headers)

    assert resp.status_code == 401
    await assert_nothing_changed(env, a)
