"""The chaos run's traffic: the demo's shoppers, store POS systems and drivers, over HTTP.

The actors are the demo's (`services.demo.Demo`); what chaos adds is a transport that waits out
what a crash or a restart does to a request (no connection, a reset, a 5xx) by sending it again,
as a real app would, and shoppers who arrive at a fixed rate until enough orders are placed.
Every request it resends is safe to resend: checkouts carry an Idempotency-Key, POS events a
webhook-id, and the driver steps are refused once done (the demo's drivers then re-read the
route and go on).
"""

from __future__ import annotations

import asyncio
import contextlib
import random
import time
from collections import Counter
from datetime import datetime

import httpx
from tenacity import (
    AsyncRetrying,
    RetryCallState,
    retry_if_exception_type,
    stop_after_delay,
    wait_exponential_jitter,
)

from services.demo import Demo, DriverRecord, Options
from services.demo.world import Customer, make_customers, make_drivers
from services.suite import Suite
from shared.clock import clock
from shared.malls import pilot_malls

RETRY_STATUSES = frozenset({500, 502, 503, 504})


class _TryAgain(Exception):
    def __init__(self, response: httpx.Response | None = None) -> None:
        super().__init__("try again")
        self.response = response


class RetryingTransport(httpx.AsyncBaseTransport):
    """Sends a request again while the service is away (connection refused or reset, 5xx),
    with capped exponential backoff, for up to `give_up_after` seconds."""

    def __init__(self, inner: httpx.AsyncBaseTransport, give_up_after: float = 240.0) -> None:
        self.inner = inner
        self.give_up_after = give_up_after
        self.retries: Counter[str] = Counter()

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        await request.aread()  # a body that can be sent again

        def count(state: RetryCallState) -> None:
            failure = state.outcome.exception() if state.outcome else None
            cause = failure.__cause__ if failure else None
            what = type(cause).__name__ if cause else "5xx"
            self.retries[what] += 1

        retrying = AsyncRetrying(
            retry=retry_if_exception_type(_TryAgain),
            stop=stop_after_delay(self.give_up_after),
            wait=wait_exponential_jitter(multiplier=0.2, max=3.0, jitter=0.3),
            before_sleep=count,
            reraise=True,
        )
        try:
            async for attempt in retrying:
                with attempt:
                    return await self._once(request)
        except _TryAgain as error:
            if error.response is not None:
                return error.response
            if isinstance(error.__cause__, httpx.TransportError):
                raise error.__cause__ from None
            raise
        raise AssertionError("unreachable: tenacity returns or raises")

    async def _once(self, request: httpx.Request) -> httpx.Response:
        try:
            response = await self.inner.handle_async_request(request)
        except httpx.TransportError as error:
            raise _TryAgain() from error
        if response.status_code in RETRY_STATUSES:
            await response.aread()
            await response.aclose()
            raise _TryAgain(response)
        return response

    async def aclose(self) -> None:
        await self.inner.aclose()


class ChaosTraffic(Demo):
    """The demo's actors, with shoppers arriving at a fixed real rate."""

    def __init__(self, options: Options, suite: Suite, http: httpx.AsyncClient) -> None:
        super().__init__(options, suite, http)
        self.actors: list[asyncio.Task[None]] = []
        # Set when the actors stop: the loops that had died before.
        self.died: list[str] = []
        # The stores' calls do not queue behind the shoppers' (a checkout retried through a
        # restart holds its place for a while): each kind has its own few at a time.
        self.store_gate = asyncio.Semaphore(16)
        # Everyone wants it as soon as possible: an evening slot hours away on the run's clock
        # would leave the order open past the run, the ASAP one is driven within it.
        self.evening_share = 0.0

    async def start_actors(
        self,
        drivers_per_mall: int,
        driver_tick_s: float,
        driver_refresh_s: float,
        pos_poll_s: float,
    ) -> None:
        """POS credentials for every store, drivers registered and online; then their loops.
        Every POS poll and driver position is work for the order service, the run's busiest:
        the slower they come, the more of it is left for the shoppers."""
        await self.load_directory()
        stores = [s for s in self.directory["stores"] if s["is_active"]]
        credentials = await asyncio.gather(*(self.pos_credentials(s["id"]) for s in stores))
        drivers = make_drivers(random.Random(self.o.seed), pilot_malls(), drivers_per_mall)
        self.drivers = [DriverRecord(d) for d in drivers]
        # A few sign-ups at a time: sixty at once on a loaded machine outlasted the client's
        # timeout, and the one sent again found its phone number taken (409).
        gate = asyncio.Semaphore(8)

        async def register(record: DriverRecord) -> None:
            async with gate:
                await self.register(record)

        await asyncio.gather(*(register(r) for r in self.drivers))
        self.actors = [
            asyncio.create_task(self.pos(s, c, poll_s=pos_poll_s))
            for s, c in zip(stores, credentials, strict=True)
        ]
        self.actors += [
            asyncio.create_task(
                self.drive_driver(r, tick_s=driver_tick_s, refresh_s=driver_refresh_s)
            )
            for r in self.drivers
        ]

    async def shoppers(
        self, orders: int, per_second: float, closes_at: datetime, at_once: int = 6
    ) -> None:
        """Shoppers arrive `per_second`, at most `at_once` shopping at a time, until `orders`
        orders are placed or same-day ordering closes (on the suite's clock). Each browses right
        before it checks out: an offer is only good for a while, and a shopper kept waiting
        would find it gone."""
        rng = random.Random(self.o.seed + 1)
        # Twice as many as needed: some find nothing for their address, or sell out.
        people = iter(make_customers(rng, pilot_malls(), orders * 2 + 50, 1.0))
        shopping: set[asyncio.Task[None]] = set()
        # Each shopper's calls go through at once; the demo's few at a time would queue them.
        self.order_gate = asyncio.Semaphore(at_once)
        next_arrival = time.monotonic()
        while len(self.orders) < orders and clock().now() < closes_at:
            while len(shopping) >= at_once or (
                shopping and len(self.orders) + len(shopping) >= orders
            ):
                await asyncio.wait(shopping, return_when=asyncio.FIRST_COMPLETED)
            if len(self.orders) >= orders:
                break
            await asyncio.sleep(max(0.0, next_arrival - time.monotonic()))
            next_arrival = max(next_arrival, time.monotonic() - 1.0) + 1.0 / per_second
            person = next(people, None)
            if person is None:
                break
            task = asyncio.create_task(self.one_shopper(person))
            shopping.add(task)
            task.add_done_callback(shopping.discard)
        if shopping:
            await asyncio.wait(shopping)

    async def one_shopper(self, person: Customer) -> None:
        try:
            await self.shop(person)
        except httpx.HTTPError as error:
            self.note(f"customer {type(error).__name__}")
        finally:
            self.customers_done += 1

    def died_actors(self) -> list[str]:
        """The POS and driver loops that ended with an error: the run did not drive the flow
        they stand for (a loop that died at once left every order unpacked, unnoticed)."""
        return [
            repr(task.exception())
            for task in self.actors
            if task.done() and not task.cancelled() and task.exception() is not None
        ]

    async def stop_actors(self) -> None:
        self.died = self.died_actors()
        for task in self.actors:
            task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await asyncio.gather(*self.actors, return_exceptions=True)
