"""The batching and offer loops, on the suite's clock so the demo can compress time."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable

from fastapi import FastAPI

from dispatch_service import usecases
from dispatch_service.settings import DispatchSettings
from dispatch_service.usecases import Policies
from shared import clock
from shared.db import Db

log = logging.getLogger(__name__)


async def _every(name: str, seconds: float, step: Callable[[], Awaitable[object]]) -> None:
    while True:
        try:
            await step()
        except asyncio.CancelledError:
            raise
        except Exception:
            # A failed round is retried on the next tick; the loop must outlive it.
            log.exception("timer_step_failed", extra={"timer": name})
        await clock.clock().sleep(seconds)


async def start_timers(app: FastAPI) -> None:
    settings: DispatchSettings = app.state.settings
    policies: Policies = app.state.policies
    db: Db = app.state.db
    app.state.timers = []
    if not settings.is_timers_enabled:
        return
    app.state.timers = [
        asyncio.create_task(
            _every(
                "batching",
                settings.batch_tick_seconds,
                lambda: usecases.run_due_rounds(db, clock.now(), policies),
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
