"""The batching and offer loops, on the suite's clock so the demo can compress time."""

from __future__ import annotations

import asyncio

from fastapi import FastAPI

from dispatch_service import usecases
from dispatch_service.settings import DispatchSettings
from dispatch_service.usecases import Policies
from shared import clock
from shared.db import Db
from shared.loop import BackgroundLoop


async def start_timers(app: FastAPI) -> None:
    settings: DispatchSettings = app.state.settings
    policies: Policies = app.state.policies
    db: Db = app.state.db
    app.state.timers = []
    if not settings.is_timers_enabled:
        return
    # A failed round is retried on the next tick (the loop logs it and lives on).
    app.state.timers = [
        BackgroundLoop(
            "dispatch-batching",
            lambda: usecases.run_due_rounds(db, clock.now(), policies),
            settings.batch_tick_seconds,
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
