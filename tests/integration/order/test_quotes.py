"""Quotes and delivery windows at checkout: what the fleet can still keep, for five minutes."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any
from uuid import UUID

import httpx

from shared.events.dispatch import ZoneCapacityChanged
from shared.events.order import OrderPlaced
from tests.integration.order.conftest import MALL, NORTH, SOUTH, OrderEnv, a_checkout
from tests.support import eventually

IDENTIFIERS = [
    value.casefold()
    for store in (NORTH, SOUTH)
    for value in (store.store_id, store.name, store.pickup_instructions, store.mall_name)
] + [MALL.id.casefold(), MALL.address.casefold()]


def no_store_in(response: httpx.Response) -> httpx.Response:
    text = response.text.casefold()
    assert not [i for i in IDENTIFIERS if i in text], response.text
    return response


async def quote(env: OrderEnv, *lines: tuple[str, int], customer: str = "cust-1") -> Any:
    body = a_checkout(*lines)
    resp = no_store_in(
        await env.client.post(
            "/v1/quotes",
            json={"lines": body["lines"], "address": body["address"]},
            headers=env.customer(customer),
        )
    )
    assert resp.status_code == 201, resp.text
    return resp.json()


async def checkout_in(
    env: OrderEnv, quote_id: str, window_id: str, *lines: tuple[str, int], customer: str = "cust-1"
) -> httpx.Response:
    return no_store_in(
        await env.client.post(
            "/v1/checkout",
            json={**a_checkout(*lines), "quote_id": quote_id, "window_id": window_id},
            headers={**env.customer(customer), "Idempotency-Key": uuid.uuid4().hex},
        )
    )


def window_of(quoted: Any, kind: str, index: int = 0) -> Any:
    return [w for w in quoted["windows"] if w["kind"] == kind][index]


async def fleet_rate(env: OrderEnv, orders_per_hour: float) -> None:
    await env.publish(
        ZoneCapacityChanged(
            mall_id=MALL.id,
            same_day_enabled=True,
            promise_delay_minutes=0,
            reason="test",
            orders_per_hour=orders_per_hour,
        ),
        key=MALL.id,
    )
    await eventually(
        lambda: env.scalar(
            "SELECT orders_per_hour FROM mall_capacity WHERE mall_id = :m", m=MALL.id
        ),
        within=15,
    )


async def test_a_quote_offers_windows_and_checkout_keeps_the_chosen_evening_one(
    env: OrderEnv,
) -> None:
    env.catalog.add_offer("off-1", "sku-1", {NORTH: 5}, price_cents=1000)

    quoted = await quote(env, ("off-1", 2))
    evening = window_of(quoted, "scheduled")
    placed = await checkout_in(env, quoted["id"], evening["id"], ("off-1", 2))

    assert quoted["can_arrive_today"] is True and quoted["items_total_cents"] == 2000
    assert [w["kind"] for w in quoted["windows"]] == ["asap", "scheduled", "scheduled"]
    assert [w["delivery_fee_cents"] for w in quoted["windows"]] == [599, 399, 399]
    assert placed.status_code == 201, placed.text
    order = placed.json()
    assert datetime.fromisoformat(order["window"]["starts_at"]) == datetime.fromisoformat(
        evening["starts_at"]
    )
    assert datetime.fromisoformat(order["deliver_by"]) == datetime.fromisoformat(evening["ends_at"])
    assert order["delivery_fee_cents"] == 399
    event = await env.tap.next(OrderPlaced, where=lambda p: p.order_id == UUID(order["id"]))
    assert event.payload.window_starts_at == datetime.fromisoformat(evening["starts_at"])


async def test_an_expired_quote_is_refused_with_a_409_and_nothing_changes(env: OrderEnv) -> None:
    env.catalog.add_offer("off-1", "sku-1", {NORTH: 5})
    quoted = await quote(env, ("off-1", 1))
    await env.scalar(
        "UPDATE quotes SET expires_at = now() - interval '1 second' WHERE id = :q RETURNING id",
        q=UUID(quoted["id"]),
    )

    refused = await checkout_in(env, quoted["id"], "w1", ("off-1", 1))

    assert refused.status_code == 409
    assert refused.json()["code"] == "quote_expired"
    assert "new quote" in refused.json()["detail"]
    assert await env.scalar("SELECT count(*) FROM orders") == 0
    assert await env.scalar("SELECT coalesce(sum(reserved), 0) FROM stock") == 0


async def test_a_checkout_must_be_what_was_quoted(env: OrderEnv) -> None:
    env.catalog.add_offer("off-1", "sku-1", {NORTH: 5})
    quoted = await quote(env, ("off-1", 1))

    other_cart = await checkout_in(env, quoted["id"], "w1", ("off-1", 2))
    other_customer = await checkout_in(env, quoted["id"], "w1", ("off-1", 1), customer="cust-2")
    no_such_window = await checkout_in(env, quoted["id"], "w9", ("off-1", 1))
    half = await env.client.post(
        "/v1/checkout",
        json={**a_checkout(("off-1", 1)), "quote_id": quoted["id"]},
        headers={**env.customer(), "Idempotency-Key": uuid.uuid4().hex},
    )

    assert (other_cart.status_code, other_cart.json()["code"]) == (409, "quote_mismatch")
    assert other_customer.status_code == 404
    assert (no_such_window.status_code, no_such_window.json()["code"]) == (422, "unknown_window")
    assert half.status_code == 422
    assert await env.scalar("SELECT count(*) FROM orders") == 0


async def test_when_the_fleet_is_booked_the_promise_bends_later_and_a_full_window_is_refused(
    env: OrderEnv,
) -> None:
    env.catalog.add_offer("off-1", "sku-1", {NORTH: 50})
    # Four deliveries an hour: three fit before the as-soon-as-possible promise (45 minutes).
    await fleet_rate(env, 4.0)
    first = await quote(env, ("off-1", 1))
    stale = await quote(env, ("off-1", 1), customer="cust-9")
    for n in range(3):
        q = await quote(env, ("off-1", 1), customer=f"cust-{n}")
        placed = await checkout_in(env, q["id"], "w1", ("off-1", 1), customer=f"cust-{n}")
        assert placed.status_code == 201, placed.text

    later = await quote(env, ("off-1", 1))
    full = await checkout_in(env, stale["id"], "w1", ("off-1", 1), customer="cust-9")

    bent, original = window_of(later, "asap"), window_of(first, "asap")
    assert datetime.fromisoformat(bent["ends_at"]) > datetime.fromisoformat(original["ends_at"])
    assert bent["label"].startswith("by ")
    assert (full.status_code, full.json()["code"]) == (409, "window_full")
    assert await env.scalar("SELECT count(*) FROM orders") == 3


async def test_a_cart_no_mall_can_fill_is_sold_out_at_the_quote(env: OrderEnv) -> None:
    env.catalog.add_offer("off-1", "sku-1", {NORTH: 1})
    body = a_checkout(("off-1", 2))

    resp = no_store_in(
        await env.client.post(
            "/v1/quotes",
            json={"lines": body["lines"], "address": body["address"]},
            headers=env.customer(),
        )
    )

    assert (resp.status_code, resp.json()["code"]) == (409, "sold_out")
