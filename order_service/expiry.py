"""The background loop that takes shipments away from stores that did not accept in time."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from datetime import timedelta

from order_service import usecases
from order_service.outgoing import Outgoing
from order_service.settings import OrderSettings
from shared import clock
from shared.db import Db

log = logging.getLogger(__name__)


class ReservationExpiry:
    def __init__(self, db: Db, settings: OrderSettings) -> None:
        self.db = db
        self.ttl = timedelta(seconds=settings.reservation_ttl_seconds)
        self.check_seconds = settings.reservation_check_seconds
        self.outgoing = Outgoing.from_settings(settings)
        self._task: asyncio.Task[None] | None = None

    async def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name="order-reservation-expiry")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None

    async def _run(self) -> None:
        while True:
            try:
                async with self.db.begin() as tx:
                    expired = await usecases.expire_unaccepted(
                        tx, clock.now(), self.ttl, self.outgoing
                    )
                if expired == 0:
                    await clock.clock().sleep(self.check_seconds)
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("reservation_expiry_error")
                await clock.clock().sleep(self.check_seconds)
