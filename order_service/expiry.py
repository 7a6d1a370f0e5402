"""The background loop that takes shipments away from stores that did not accept in time."""

from __future__ import annotations

from datetime import timedelta

from order_service import usecases
from order_service.outgoing import Outgoing
from order_service.settings import OrderSettings
from shared import clock
from shared.db import Db
from shared.loop import BackgroundLoop


class ReservationExpiry:
    def __init__(self, db: Db, settings: OrderSettings) -> None:
        self.db = db
        self.ttl = timedelta(seconds=settings.reservation_ttl_seconds)
        self.outgoing = Outgoing.from_settings(settings)
        # A pass that expired something may have left more: the next one starts at once.
        self._loop = BackgroundLoop(
            "order-reservation-expiry",
            self.expire_due,
            settings.reservation_check_seconds,
            again_at_once=lambda expired: expired > 0,
        )

    async def start(self) -> None:
        await self._loop.start()

    async def stop(self) -> None:
        await self._loop.stop()

    async def expire_due(self) -> int:
        async with self.db.begin() as tx:
            return await usecases.expire_unaccepted(tx, clock.now(), self.ttl, self.outgoing)
