"""The batching and offer loops, on the suite's clock so the demo can compress time."""

from __future__ import annotations

import asyncio
import contextlib
import logging

import asyncpg
from fastapi import FastAPI

from dispatch_service import usecases
from dispatch_service.settings import DispatchSettings
from dispatch_service.store import shipments
from dispatch_service.usecases import Policies
from shared import clock
from shared.db import Db, asyncpg_dsn
from shared.loop import BackgroundLoop
from shared.retry import describe

log = logging.getLogger(__name__)

_POOL_WATCH_RECONNECT_SECONDS = 2.0


async def _watch_pool(db: Db, wake: asyncio.Event) -> None:
    """Sets `wake` whenever a shipment is pooled, so a round that became due (a full pool)
    starts at once rather than on the next tick. The tick still runs every round: this only
    makes it prompt, and a lost connection (the loop listens again after a pause) only makes it
    wait for the tick again."""
    try:
        await _listen_for_pooled(db, wake)
    except (OSError, asyncpg.PostgresError, TimeoutError) as error:
        log.warning("pool_watch_lost", extra={"error": describe(error)})


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
    # A failed round is retried on the next tick (the loop logs it and lives on).
    app.state.timers = [
        # No grace at stop: listening never finishes by itself.
        BackgroundLoop(
            "dispatch-pool-watch",
            lambda: _watch_pool(db, pooled),
            _POOL_WATCH_RECONNECT_SECONDS,
            on_suite_clock=False,
            grace_seconds=0,
        ),
        BackgroundLoop(
            "dispatch-batching",
            lambda: usecases.run_due_rounds(db, clock.now(), policies),
            settings.batch_tick_seconds,
            wake=pooled,
        ),
        BackgroundLoop(
            "dispatch-offers",
            lambda: usecases.run_offer_rounds(db, clock.now(), policies),
            settings.offer_tick_seconds,
        ),
    ]
    for timer in app.state.timers:
        await timer.start()


async def stop_timers(app: FastAPI) -> None:
    await asyncio.gather(*(timer.stop() for timer in app.state.timers))
    app.state.timers = []
