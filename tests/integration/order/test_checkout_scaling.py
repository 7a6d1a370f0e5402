"""Checkout under contention: events keyed by the order, a lock it cannot get in time answered
with 503 and Retry-After, and the round trips one checkout makes."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any
from uuid import UUID

import asyncpg
from sqlalchemy import event

from shared.db import asyncpg_dsn
from shared.events.order import OrderCancelled, OrderPlaced
from tests.integration.order.conftest import NORTH, SOUTH, OrderEnv

# Set around the counted request only: the app's background loops share its engine.
_COUNTING: ContextVar[list[str] | None] = ContextVar("counting", default=None)

# Far above the lock timeout: a checkout that has not answered by then hangs.
HANG_SECONDS = 30.0


async def test_every_order_event_is_keyed_by_its_order(env: OrderEnv) -> None:
    env.catalog.add_offer("off-1", "sku-1", {NORTH: 5})
    order_id = (await env.checkout(("off-1", 1))).json()["id"]

    await env.client.post(f"/v1/orders/{order_id}/cancel", headers=env.customer())

    placed = await env.tap.next(
        OrderPlaced, within=10, where=lambda p: p.order_id == UUID(order_id)
    )
    cancelled = await env.tap.next(
        OrderCancelled, within=10, where=lambda p: p.order_id == UUID(order_id)
    )
    # Consumers read the mall from the payload; the key only keeps one order's events in order.
    assert placed.key == cancelled.key == order_id
    assert placed.payload.mall_id == NORTH.mall_id


async def test_a_checkout_that_cannot_lock_the_stock_in_time_is_a_503_with_retry_after(
    env: OrderEnv,
) -> None:
    env.catalog.add_offer("off-1", "sku-1", {NORTH: 5, SOUTH: 5})
    assert (await env.checkout(("off-1", 1))).status_code == 201
    holder = await asyncpg.connect(asyncpg_dsn(env.settings.database_url))
    try:
        async with holder.transaction():
            # Another writer sits on the stock rows (a long transaction, a stuck session).
            await holder.execute("SELECT * FROM stock WHERE sku = 'sku-1' FOR UPDATE")

            resp = await asyncio.wait_for(env.checkout(("off-1", 1), key="k-2"), HANG_SECONDS)

            assert resp.status_code == 503, resp.text
            assert resp.json()["code"] == "busy"
            assert int(resp.headers["retry-after"]) >= 1
    finally:
        await holder.close()
    # Nothing of the refused checkout stays, and its key is free for the customer's retry.
    assert await env.scalar("SELECT count(*) FROM orders") == 1
    assert await env.scalar("SELECT sum(reserved) FROM stock") == 1
    assert (await env.checkout(("off-1", 1), key="k-2")).status_code == 201


@contextmanager
def counted_round_trips(env: OrderEnv) -> Iterator[list[str]]:
    """Every statement, transaction start and end, and pool pre-ping the app's engine sends
    for requests made inside the block (SQLAlchemy runs its events in the caller's context)."""
    engine = env.db.engine.sync_engine
    sent: list[str] = []

    def note(what: str) -> None:
        counting = _COUNTING.get()
        if counting is not None:
            counting.append(what)

    def statement(*args: Any) -> None:
        note(str(args[2]).split(None, 1)[0].upper())

    def begin(_conn: Any) -> None:
        note("BEGIN")

    def commit(_conn: Any) -> None:
        note("COMMIT")

    def rollback(_conn: Any) -> None:
        note("ROLLBACK")

    do_ping = engine.dialect.do_ping

    def ping(dbapi_connection: Any) -> bool:
        note("PING")
        return bool(do_ping(dbapi_connection))

    hooks = [
        ("before_cursor_execute", statement),
        ("begin", begin),
        ("commit", commit),
        ("rollback", rollback),
    ]
    for name, hook in hooks:
        event.listen(engine, name, hook)
    engine.dialect.do_ping = ping  # type: ignore[method-assign]
    token = _COUNTING.set(sent)
    try:
        yield sent
    finally:
        _COUNTING.reset(token)
        engine.dialect.do_ping = do_ping  # type: ignore[method-assign]
        for name, hook in hooks:
            event.remove(engine, name, hook)


async def test_a_checkout_of_two_lines_takes_at_most_twenty_round_trips(env: OrderEnv) -> None:
    env.catalog.add_offer("off-1", "sku-1", {NORTH: 5, SOUTH: 5})
    env.catalog.add_offer("off-2", "sku-2", {NORTH: 5})
    # The first checkout seeds the stores and stock; the second is the usual case.
    assert (await env.checkout(("off-1", 1))).status_code == 201

    with counted_round_trips(env) as sent:
        resp = await env.checkout(("off-1", 1), ("off-2", 1))

    assert resp.status_code == 201, resp.text
    print(f"round trips of one checkout: {len(sent)}: {' '.join(sent)}")
    assert "PING" not in sent
    assert len(sent) <= 20, " ".join(sent)


async def test_a_cart_s_offers_are_resolved_in_one_catalog_call(env: OrderEnv) -> None:
    env.catalog.add_offer("off-1", "sku-1", {NORTH: 5})
    env.catalog.add_offer("off-2", "sku-2", {NORTH: 5})
    env.catalog.add_offer("off-3", "sku-3", {NORTH: 5})

    resp = await env.checkout(("off-1", 1), ("off-2", 2), ("off-3", 1))

    assert resp.status_code == 201, resp.text
    assert env.catalog.calls == 1
    assert len(resp.json()["lines"]) == 3
