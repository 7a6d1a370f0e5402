from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from datetime import datetime, timedelta
from uuid import UUID

import httpx
import orjson
from standardwebhooks import Webhook

from order_service.webhooks import WebhookSender
from shared import clock
from shared.clock import Clock, set_clock
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
    # The endpoint records the call before it answers; the sender records the attempt after.
    attempt = await eventually(
        lambda: env.scalar("SELECT status_code FROM webhook_attempts"), within=10
    )
    assert attempt == 204


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


class ManualClock(Clock):
    """The suite's clock, moved by the test: a day of retries in a moment."""

    def __init__(self, start: datetime) -> None:
        super().__init__(start)
        self.at = start

    def now(self) -> datetime:
        return self.at

    async def sleep(self, simulated_seconds: float) -> None:
        await asyncio.sleep(0.05)


@contextlib.asynccontextmanager
async def a_sender_on_a_manual_clock(
    env: OrderEnv,
) -> AsyncIterator[tuple[WebhookSender, ManualClock]]:
    """The app's own sender stops; the test drives one of its own, on a clock it moves."""
    await env.app.state.webhooks.stop()
    manual, previous = ManualClock(clock.now()), clock.clock()
    set_clock(manual)
    sender = WebhookSender(env.db, env.settings, transport=httpx.ASGITransport(app=env.pos.app))
    try:
        yield sender, manual
    finally:
        set_clock(previous)
        await sender.stop()
        await env.app.state.webhooks.start()


async def run_retries(
    env: OrderEnv, sender: WebhookSender, manual: ManualClock, hours: float
) -> None:
    """Makes every due attempt, then jumps the clock to the next one, for `hours`."""
    until = manual.at + timedelta(hours=hours)
    while manual.at < until:
        if await sender.deliver_due():
            continue
        later = await env.scalar(
            "SELECT min(next_attempt_at) FROM webhook_deliveries"
            " WHERE status = 'pending' AND next_attempt_at > :at",
            at=manual.at,
        )
        if later is None:
            return
        manual.at = later


def types_of(received: list[tuple[dict[str, str], bytes]]) -> list[str]:
    return [orjson.loads(body)["type"] for _, body in received]


async def test_a_store_endpoint_down_for_an_hour_gets_every_webhook_afterwards_in_order(
    env: OrderEnv,
) -> None:
    await env.provision(NORTH)
    env.catalog.add_offer("off-1", "sku-1", {NORTH: 5})

    async with a_sender_on_a_manual_clock(env) as (sender, manual):
        back_at = manual.at + timedelta(hours=1)
        env.pos.answer = lambda _: 500 if clock.now() < back_at else 204
        order = (await env.checkout(("off-1", 1))).json()
        await env.client.post(f"/v1/orders/{order['id']}/cancel", headers=env.customer())
        await run_retries(env, sender, manual, hours=3)

    rows = await env.scalar(
        "SELECT array_agg(event_type || ':' || status ORDER BY delivered_at)"
        " FROM webhook_deliveries"
    )
    assert rows == ["order.created:delivered", "order.cancelled:delivered"]
    # Nothing of the order's later news went out before its first webhook was through.
    sent = types_of(env.pos.received)
    first_success = sent.index("order.created", len(sent) - 2)
    assert "order.cancelled" not in sent[:first_success]
    assert sent[-2:] == ["order.created", "order.cancelled"]
    assert await env.scalar("SELECT count(*) FROM webhook_attempts") == len(sent)
    assert await env.scalar("SELECT max(attempts) FROM webhook_deliveries") > 5


async def test_a_store_whose_endpoint_hangs_delays_no_other_store(env: OrderEnv) -> None:
    await env.provision(NORTH)
    await env.provision(SOUTH)
    hanging = f"/hooks/{NORTH.store_id}"
    env.pos.hold[hanging] = asyncio.Event()
    env.catalog.add_offer("off-n", "sku-n", {NORTH: 5})
    env.catalog.add_offer("off-s", "sku-s", {SOUTH: 5})
    await env.checkout(("off-n", 1))
    await eventually(lambda: hanging in env.pos.in_flight, within=10)

    await env.checkout(("off-s", 1), customer="cust-2")

    try:
        await eventually(lambda: env.pos.received, within=10)
        assert hanging in env.pos.in_flight
        data = orjson.loads(env.pos.received[0][1])["data"]
        shipment = await env.scalar(
            "SELECT id FROM shipments WHERE store_id = :s", s=SOUTH.store_id
        )
        assert data["shipment_id"] == str(shipment)
    finally:
        env.pos.hold[hanging].set()
