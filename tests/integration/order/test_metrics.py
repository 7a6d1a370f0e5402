"""The order service's business metrics move where their events happen."""

from __future__ import annotations

from uuid import UUID

from shared.events.driver import RouteStopDelivered, RouteStopPickedUp
from tests.integration.order.conftest import MALL, NORTH, OrderEnv
from tests.integration.order.test_lifecycle import (
    ROUTE,
    CustomerLog,
    _is,
    packaged_order,
    step,
)
from tests.support import eventually, metric_value, scrape

STATUSES = ("placed", "accepted", "packaged", "picked_up", "delivered")


async def deliver(env: OrderEnv, order_id: str, shipment: UUID, seen: CustomerLog) -> None:
    await env.publish(step(RouteStopPickedUp, order_id, shipment, labels=["L1"]), key=str(ROUTE))
    await env.publish(
        step(RouteStopDelivered, order_id, shipment, proof_photo_sha256="ab" * 32), key=str(ROUTE)
    )
    await eventually(lambda: _is(env, order_id, seen, "delivered"), within=15)


def counted(before: str, after: str, name: str, **labels: str) -> float:
    return metric_value(after, name, **labels) - metric_value(before, name, **labels)


async def test_each_status_an_order_reaches_is_counted_and_on_time_is_no_miss(
    env: OrderEnv,
) -> None:
    seen = CustomerLog()
    before = await scrape(env.client)

    order_id, shipment = await packaged_order(env, seen)
    await deliver(env, order_id, shipment, seen)

    after = await scrape(env.client)
    for status in STATUSES:
        assert counted(before, after, "orders_total", mall=MALL.id, status=status) == 1, status
    assert counted(before, after, "order_promise_misses_total", mall=MALL.id) == 0


async def test_a_delivery_after_the_promised_time_is_a_promise_miss(env: OrderEnv) -> None:
    seen = CustomerLog()
    order_id, shipment = await packaged_order(env, seen)
    await env.scalar(
        "UPDATE orders SET deliver_by = now() - interval '1 hour' WHERE id = :o RETURNING 1",
        o=UUID(order_id),
    )
    before = await scrape(env.client)

    await deliver(env, order_id, shipment, seen)

    after = await scrape(env.client)
    assert counted(before, after, "order_promise_misses_total", mall=MALL.id) == 1


async def test_failed_webhook_deliveries_are_counted_until_one_gets_through(
    env: OrderEnv,
) -> None:
    await env.provision(NORTH)
    env.pos.failures = 2
    env.catalog.add_offer("off-1", "sku-1", {NORTH: 5})
    before = await scrape(env.client)

    await env.checkout(("off-1", 1))

    await eventually(
        lambda: env.scalar("SELECT count(*) FROM webhook_deliveries WHERE status = 'delivered'"),
        within=15,
    )
    after = await scrape(env.client)
    assert counted(before, after, "webhook_failures_total", outcome="will_retry") == 2
    assert counted(before, after, "webhook_failures_total", outcome="gave_up") == 0
