"""Open offers in memory, so long-polling drivers never hit the database per poll.

Every change to an offer commits a NOTIFY on `driver_offers`; each instance's hub listens,
reloads that one offer, and wakes the drivers it concerns. On start and after a lost listener
connection the hub reloads all open offers: the database stays the source of truth.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from uuid import UUID

import asyncpg

from driver_service.domain.offer import OfferStatus
from driver_service.store import offers as offer_store
from shared import clock
from shared.db import Db, asyncpg_dsn
from shared.events.dispatch import RouteStop, StopKind

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class OfferCard:
    """What a driver sees of an offer before accepting: stores by name, customers by area."""

    offer_id: UUID
    route_id: UUID
    mall_name: str
    pickup_area: str
    pay_cents: int
    currency: str
    hourly_floor_cents: int
    block_minutes: int
    expected_miles: float
    stop_count: int
    store_names: tuple[str, ...]
    dropoff_areas: tuple[str, ...]
    expires_at: datetime
    round: int
    driver_ids: frozenset[UUID]


# Renders what a driver sees of one offer (the API's wire format), once per offer version.
RenderOffer = Callable[[OfferCard], bytes]


def offer_etag(cards: Sequence[OfferCard]) -> str:
    digest = hashlib.sha256(b"".join(card_tag(card) for card in cards))
    return f'"{digest.hexdigest()[:32]}"'


def card_tag(card: OfferCard) -> bytes:
    """What of an offer its list's ETag covers: a new pay or expiry is a new list."""
    return f"{card.offer_id}:{card.pay_cents}:{card.expires_at.isoformat()};".encode()


class OfferHub:
    def __init__(
        self, db: Db, render: RenderOffer | None = None, reconnect_seconds: float = 2.0
    ) -> None:
        self.db = db
        self.render = render
        self.reconnect_seconds = reconnect_seconds
        self._offers: dict[UUID, OfferCard] = {}
        self._views: dict[UUID, bytes] = {}
        self._tags: dict[UUID, bytes] = {}
        self._by_driver: dict[UUID, set[UUID]] = {}
        # One future per waiting poll, not an Event and a task: thousands of idle polls wait
        # here, and each byte of one is paid thousands of times.
        self._waiters: dict[UUID, list[asyncio.Future[None]]] = {}
        self._queue: asyncio.Queue[UUID] = asyncio.Queue()
        self._tasks: list[asyncio.Task[None]] = []
        self._listener: asyncpg.Connection | None = None
        self._ready = asyncio.Event()

    async def start(self) -> None:
        self._tasks = [
            asyncio.create_task(self._listen(), name="offer-hub-listen"),
            asyncio.create_task(self._apply_changes(), name="offer-hub-apply"),
            asyncio.create_task(self._forget_expired(), name="offer-hub-forget"),
        ]
        await asyncio.wait_for(self._ready.wait(), 30)

    async def stop(self) -> None:
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        self._tasks = []
        await self._close_listener()
        for waiters in self._waiters.values():
            for waiter in waiters:
                if not waiter.done():
                    waiter.set_result(None)
        self._waiters.clear()

    async def resync(self) -> None:
        """Reloads every open offer from the database, dropping what is no longer open."""
        await self._reload_all()

    def offers_for(self, driver_id: UUID, now: datetime) -> list[OfferCard]:
        cards = [self._offers[o] for o in self._by_driver.get(driver_id, ())]
        return sorted(
            (c for c in cards if c.expires_at > now), key=lambda c: (c.expires_at, c.offer_id)
        )

    def view(self, card: OfferCard) -> bytes:
        """The card as the driver app sees it, rendered once per offer version."""
        found = self._views.get(card.offer_id)
        if found is None:
            if self.render is None:
                raise LookupError("this hub was built without a renderer")
            found = self._views[card.offer_id] = self.render(card)
        return found

    def etag(self, cards: Sequence[OfferCard]) -> str:
        """`offer_etag(cards)`, from each offer's part computed once per offer version."""
        parts = []
        for card in cards:
            part = self._tags.get(card.offer_id)
            if part is None:
                part = self._tags[card.offer_id] = card_tag(card)
            parts.append(part)
        return f'"{hashlib.sha256(b"".join(parts)).hexdigest()[:32]}"'

    async def wait_for_change(self, driver_id: UUID, timeout: float) -> None:
        waiter: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._waiters.setdefault(driver_id, []).append(waiter)
        try:
            async with asyncio.timeout(timeout):
                await waiter
        except TimeoutError:
            pass
        finally:
            waiting = self._waiters.get(driver_id)
            if waiting is not None and waiter in waiting:
                waiting.remove(waiter)
                if not waiting:
                    del self._waiters[driver_id]

    async def _listen(self) -> None:
        while True:
            try:
                await self._listen_until_lost()
                log.warning("offer_hub_listener_lost")
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("offer_hub_error")
            await self._close_listener()
            await asyncio.sleep(self.reconnect_seconds)

    async def _listen_until_lost(self) -> None:
        lost = asyncio.Event()
        self._listener = await asyncpg.connect(asyncpg_dsn(self.db.url), timeout=5)
        self._listener.add_termination_listener(lambda _conn: lost.set())
        await self._listener.add_listener(offer_store.OFFERS_CHANNEL, self._on_notify)
        # Anything committed while not listening is picked up by a full reload.
        await self._reload_all()
        self._ready.set()
        await lost.wait()

    def _on_notify(self, _conn: object, _pid: int, _channel: str, payload: object) -> None:
        with contextlib.suppress(ValueError):
            self._queue.put_nowait(UUID(str(payload)))

    async def _apply_changes(self) -> None:
        # One worker, in notification order: a slow reload can't overwrite a newer one.
        while True:
            offer_id = await self._queue.get()
            try:
                await self._reload(offer_id)
            except Exception:
                log.exception("offer_hub_reload_failed", extra={"offer_id": str(offer_id)})

    async def _forget_expired(self) -> None:
        # Offers that lapse without a route.offer_expired event must not pile up in memory.
        while True:
            await clock.clock().sleep(60)
            now = clock.now()
            for offer_id in [o for o, card in self._offers.items() if card.expires_at <= now]:
                self._put(offer_id, None)

    async def _reload_all(self) -> None:
        async with self.db.begin() as tx:
            ids = await offer_store.open_offer_ids(tx, clock.now())
        for offer_id in set(self._offers) - set(ids):
            self._put(offer_id, None)
        for offer_id in ids:
            await self._reload(offer_id)

    async def _reload(self, offer_id: UUID) -> None:
        async with self.db.begin() as tx:
            row = await offer_store.get_offer(tx, offer_id)
            drivers = await offer_store.active_driver_ids(tx, offer_id)
        if row is None or row.status != OfferStatus.OPEN.value:
            self._put(offer_id, None)
            return
        stops = [RouteStop.model_validate(s) for s in row.stops]
        self._put(
            offer_id,
            OfferCard(
                offer_id=row.id,
                route_id=row.route_id,
                mall_name=row.mall_name,
                pickup_area=row.pickup_area,
                pay_cents=row.pay_cents,
                currency=row.currency,
                hourly_floor_cents=row.hourly_floor_cents,
                block_minutes=row.block_minutes,
                expected_miles=row.expected_miles,
                stop_count=row.stop_count,
                store_names=tuple(
                    dict.fromkeys(s.store_name for s in stops if s.kind == StopKind.PICKUP)
                ),
                dropoff_areas=tuple(
                    dict.fromkeys(s.area for s in stops if s.kind == StopKind.DROPOFF)
                ),
                expires_at=row.expires_at,
                round=row.round,
                driver_ids=frozenset(drivers),
            ),
        )

    def _put(self, offer_id: UUID, card: OfferCard | None) -> None:
        old = self._offers.pop(offer_id, None)
        self._views.pop(offer_id, None)
        self._tags.pop(offer_id, None)
        touched = set(old.driver_ids if old else ()) | set(card.driver_ids if card else ())
        if card is not None:
            self._offers[offer_id] = card
        for driver_id in touched:
            mine = self._by_driver.setdefault(driver_id, set())
            if card is not None and driver_id in card.driver_ids:
                mine.add(offer_id)
            else:
                mine.discard(offer_id)
                if not mine:
                    del self._by_driver[driver_id]
            for waiter in self._waiters.pop(driver_id, ()):
                if not waiter.done():
                    waiter.set_result(None)

    async def _close_listener(self) -> None:
        listener, self._listener = self._listener, None
        if listener is not None and not listener.is_closed():
            with contextlib.suppress(Exception):
                await listener.close(timeout=2)
