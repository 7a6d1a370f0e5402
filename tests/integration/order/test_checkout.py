from __future__ import annotations

import asyncio
import re
import uuid
from datetime import UTC, datetime, timedelta
from uuid import UUID

from order_service import usecases
from order_service.api.checkout import CheckoutRequest
from order_service.store.tables import idempotency_keys
from shared.events.order import OrderCancelled, OrderPlaced
from tests.integration.order.conftest import ELSEWHERE, NORTH, SOUTH, OrderEnv, a_checkout
from tests.support import eventually


async def test_checkout_places_an_order_and_publishes_order_placed(env: OrderEnv) -> None:
    env.catalog.add_offer("off-1", "sku-1", {NORTH: 3, SOUTH: 3})
    env.catalog.add_offer("off-2", "sku-2", {NORTH: 1})

    resp = await env.checkout(("off-1", 2), ("off-2", 1))

    assert resp.status_code == 201, resp.text
    order = resp.json()
    assert order["status"] == "placed"
    assert order["total_cents"] == 3 * 2500
    assert re.fullmatch(r"\d{4}", order["delivery_pin"])
    assert resp.headers["location"] == f"/v1/orders/{order['id']}"
    placed = await env.tap.next(
        OrderPlaced, within=10, where=lambda p: p.order_id == UUID(order["id"])
    )
    # One store holds the whole cart: it gets the order, in one shipment.
    assert [s.store_id for s in placed.payload.shipments] == [NORTH.store_id]
    assert placed.payload.mall_id == NORTH.mall_id
    assert (
        await env.scalar("SELECT sum(reserved) FROM stock WHERE store_id = :s", s=NORTH.store_id)
        == 3
    )


async def test_a_retry_with_the_same_key_and_body_returns_the_same_order(env: OrderEnv) -> None:
    env.catalog.add_offer("off-1", "sku-1", {NORTH: 5})

    first = await env.checkout(("off-1", 1), key="k-1")
    again = await env.checkout(("off-1", 1), key="k-1")

    assert (first.status_code, again.status_code) == (201, 200)
    assert again.json()["id"] == first.json()["id"]
    assert await env.scalar("SELECT count(*) FROM orders") == 1
    assert await env.scalar("SELECT sum(reserved) FROM stock") == 1


async def test_the_same_key_with_another_body_is_refused(env: OrderEnv) -> None:
    env.catalog.add_offer("off-1", "sku-1", {NORTH: 5})
    await env.checkout(("off-1", 1), key="k-1")

    resp = await env.checkout(("off-1", 2), key="k-1")

    assert resp.status_code == 409
    assert resp.json()["code"] == "idempotency_key_reused"
    assert await env.scalar("SELECT count(*) FROM orders") == 1


async def test_a_retry_while_the_first_still_runs_is_told_to_wait(env: OrderEnv) -> None:
    env.catalog.add_offer("off-1", "sku-1", {NORTH: 5})
    env.catalog.gate = asyncio.Event()
    first = asyncio.create_task(env.checkout(("off-1", 1), key="k-1"))
    await eventually(lambda: env.catalog.calls >= 1, within=5)

    second = await env.checkout(("off-1", 1), key="k-1")
    env.catalog.gate.set()

    assert second.status_code == 409
    assert second.json()["code"] == "request_in_progress"
    assert (await first).status_code == 201


async def test_a_checkout_without_an_idempotency_key_is_a_bad_request(env: OrderEnv) -> None:
    env.catalog.add_offer("off-1", "sku-1", {NORTH: 5})

    resp = await env.client.post(
        "/v1/checkout", json=a_checkout(("off-1", 1)), headers=env.customer()
    )

    assert resp.status_code == 400
    assert resp.headers["content-type"] == "application/problem+json"
    assert resp.json()["code"] == "idempotency_key_missing"


async def test_keys_are_scoped_per_customer(env: OrderEnv) -> None:
    env.catalog.add_offer("off-1", "sku-1", {NORTH: 5})

    mine = await env.checkout(("off-1", 1), customer="alice", key="shared-key")
    theirs = await env.checkout(("off-1", 1), customer="bob", key="shared-key")

    assert (mine.status_code, theirs.status_code) == (201, 201)
    assert mine.json()["id"] != theirs.json()["id"]


async def test_catalog_down_is_a_503_with_retry_after_and_reserves_nothing(env: OrderEnv) -> None:
    env.catalog.add_offer("off-1", "sku-1", {NORTH: 5})
    env.catalog.is_down = True

    resp = await env.checkout(("off-1", 1), key="k-1")

    assert resp.status_code == 503
    assert resp.json()["code"] == "catalog_unavailable"
    assert int(resp.headers["retry-after"]) > 0
    assert env.catalog.calls == env.settings.catalog_attempts
    assert await env.scalar("SELECT count(*) FROM orders") == 0
    assert await env.scalar("SELECT coalesce(sum(reserved), 0) FROM stock") == 0
    # The key is free again: the customer's retry goes through once the catalog is back.
    env.catalog.is_down = False
    assert (await env.checkout(("off-1", 1), key="k-1")).status_code == 201


async def test_a_catalog_refusing_the_internal_token_is_a_503_and_reserves_nothing(
    env: OrderEnv,
) -> None:
    env.catalog.add_offer("off-1", "sku-1", {NORTH: 5})
    env.catalog.internal_token = "a-rotated-catalog-token-the-order-service-lacks"

    resp = await env.checkout(("off-1", 1))

    assert resp.status_code == 503
    assert resp.json()["code"] == "catalog_unavailable"
    assert await env.scalar("SELECT count(*) FROM orders") == 0
    assert await env.scalar("SELECT coalesce(sum(reserved), 0) FROM stock") == 0


async def test_an_unknown_offer_is_unprocessable(env: OrderEnv) -> None:
    resp = await env.checkout(("gone", 1))

    assert resp.status_code == 422
    assert resp.json()["code"] == "offer_unavailable"
    assert resp.json()["errors"][0]["field"] == "lines.0.offer_id"


async def test_a_cart_no_mall_can_fill_is_sold_out(env: OrderEnv) -> None:
    env.catalog.add_offer("off-1", "sku-1", {NORTH: 1})
    env.catalog.add_offer("off-2", "sku-2", {ELSEWHERE: 1})

    resp = await env.checkout(("off-1", 1), ("off-2", 1))

    assert resp.status_code == 409
    assert resp.json()["code"] == "sold_out"
    assert await env.scalar("SELECT coalesce(sum(reserved), 0) FROM stock") == 0


async def test_200_concurrent_checkouts_never_oversell_10_units(env: OrderEnv) -> None:
    env.catalog.add_offer("hot", "sku-hot", {NORTH: 6, SOUTH: 4})

    responses = await asyncio.gather(
        *(env.checkout(("hot", 1), customer=f"c{i}") for i in range(200))
    )

    codes = [r.status_code for r in responses]
    # A burst beyond what the machine serves within the lock and pool timeouts is told to
    # come back (503 busy, nothing changed); everything else is placed or sold out.
    assert set(codes) <= {201, 409, 503}, sorted(set(codes))
    assert codes.count(201) == 10, sorted(set(codes))
    assert {r.json()["code"] for r in responses if r.status_code == 409} == {"sold_out"}
    assert {r.json()["code"] for r in responses if r.status_code == 503} <= {"busy"}
    assert await env.scalar("SELECT sum(reserved) FROM stock WHERE sku = 'sku-hot'") == 10
    assert await env.scalar("SELECT count(*) FROM order_lines") == 10


async def test_an_order_is_invisible_to_another_customer(env: OrderEnv) -> None:
    env.catalog.add_offer("off-1", "sku-1", {NORTH: 5})
    order_id = (await env.checkout(("off-1", 1), customer="alice")).json()["id"]

    theirs = await env.client.get(f"/v1/orders/{order_id}", headers=env.customer("bob"))
    missing = await env.client.get(f"/v1/orders/{uuid.uuid4()}", headers=env.customer("bob"))
    anonymous = await env.client.get(f"/v1/orders/{order_id}")

    assert theirs.status_code == 404
    assert theirs.json()["detail"] == missing.json()["detail"]
    assert anonymous.status_code == 401


async def test_a_customer_cancels_before_pickup_and_the_stock_comes_back(env: OrderEnv) -> None:
    env.catalog.add_offer("off-1", "sku-1", {NORTH: 5})
    order_id = (await env.checkout(("off-1", 2))).json()["id"]

    resp = await env.client.post(f"/v1/orders/{order_id}/cancel", headers=env.customer())

    assert resp.status_code == 200
    assert resp.json()["status"] == "cancelled"
    cancelled = await env.tap.next(
        OrderCancelled, within=10, where=lambda p: p.order_id == UUID(order_id)
    )
    assert cancelled.payload.reason == "customer_cancelled"
    assert await env.scalar("SELECT sum(reserved) FROM stock") == 0
    again = await env.client.post(f"/v1/orders/{order_id}/cancel", headers=env.customer())
    assert again.status_code == 409
    assert again.json()["code"] == "not_cancellable"


async def test_a_key_left_behind_by_a_crashed_checkout_is_taken_over(env: OrderEnv) -> None:
    env.catalog.add_offer("off-1", "sku-1", {NORTH: 5})
    body = CheckoutRequest.model_validate(a_checkout(("off-1", 1)))
    fingerprint = usecases.request_fingerprint(body.model_dump_json().encode())
    long_ago = datetime.now(UTC) - timedelta(seconds=env.settings.idempotency_stale_seconds + 60)
    async with env.db.begin() as tx:
        await tx.execute(
            idempotency_keys.insert().values(
                customer_id="cust-1", key="k-1", request_sha256=fingerprint, created_at=long_ago
            )
        )

    resp = await env.checkout(("off-1", 1), key="k-1")

    assert resp.status_code == 201
