"""The batching and offer loops, on the suite's clock so the demo can compress time."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable

import asyncpg
from fastapi import FastAPI

from dispatch_service import usecases
from dispatch_service.settings import DispatchSettings
from dispatch_service.store import shipments
from dispatch_service.usecases import Policies
from shared import clock
from shared.db import Db, asyncpg_dsn
from shared.retry import describe

log = logging.getLogger(__name__)


async def _every(
    name: str,
    seconds: float,
    step: Callable[[], Awaitable[object]],
    wake: asyncio.Event | None = None,
) -> None:
    """Runs `step` every `seconds`, and at once when `wake` is set."""
    while True:
        if wake is not None:
            # Cleared before the step: a wake-up during it runs the step once more.
            wake.clear()
        try:
            await step()
        except asyncio.CancelledError:
            raise
        except Exception:
            # A failed round is retried on the next tick; the loop must outlive it.
            log.exception("timer_step_failed", extra={"timer": name})
        await _sleep(seconds, wake)


async def _sleep(seconds: float, wake: asyncio.Event | None) -> None:
    if wake is None:
        await clock.clock().sleep(seconds)
        return
    waits = [
        asyncio.ensure_future(clock.clock().sleep(seconds)),
        asyncio.ensure_future(wake.wait()),
    ]
    try:
        await asyncio.wait(waits, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for waiting in waits:
            waiting.cancel()


async def _watch_pool(db: Db, wake: asyncio.Event, reconnect_seconds: float = 2.0) -> None:
    """Sets `wake` whenever a shipment is pooled, so a round that became due (a full pool)
    starts at once rather than on the next tick. The tick still runs every round: this only
    makes it prompt, and a lost connection only makes it wait for the tick again."""
    while True:
        try:
            await _listen_for_pooled(db, wake)
        except asyncio.CancelledError:
            raise
        except (OSError, asyncpg.PostgresError, TimeoutError) as error:
            log.warning("pool_watch_lost", extra={"error": describe(error)})
        await asyncio.sleep(reconnect_seconds)


async def _listen_for_pooled(db: Db, wake: asyncio.Event) -> None:
    """Until the connection is lost."""
    listener = await asyncpg.connect(asyncpg_dsn(db.url), timeout=5)
    try:
        lost = asyncio.Event()
        listener.add_termination_listener(lambda _conn: lost.set())
        await listener.add_listener(shipments.POOL_CHANNEL, lambda *_: wake.set())
        wake.set()  # shipments pooled while nobody listened
        await lost.wait()
    finally:
        if not listener.is_closed():
            with contextlib.suppress(Exception):
                await listener.close(timeout=2)


async def start_timers(app: FastAPI) -> None:
    settings: DispatchSettings = app.state.settings
    policies: Policies = app.state.policies
    db: Db = app.state.db
    app.state.timers = []
    if not settings.is_timers_enabled:
        return
    pooled = asyncio.Event()
    app.state.timers = [
        asyncio.create_task(_watch_pool(db, pooled), name="dispatch-pool-watch"),
        asyncio.create_task(
            _every(
                "batching",
                settings.batch_tick_seconds,
                lambda: usecases.run_due_rounds(db, clock.now(), policies),
                wake=pooled,
            ),
            name="dispatch-batching",
        ),
        asyncio.create_task(
            _every(
                "offers",
                settings.offer_tick_seconds,
                lambda: usecases.run_offer_rounds(db, clock.now(), policies),
            ),
            name="dispatch-offers",
        ),
    ]


async def stop_timers(app: FastAPI) -> None:
    for task in app.state.timers:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
    app.state.timers = []
