"""One simulated day: the directory and credentials, the actors started, the progress line
until every order is done or the drain time runs out."""

from __future__ import annotations

import asyncio
import contextlib
import sys
import time
from typing import Any

import httpx

from services.clients import console_token, seeded_scanner
from services.demo.drivers import Drivers
from services.demo.options import DRIVER_TICK_S, TERMINAL, say
from services.demo.records import DriverRecord
from services.demo.shoppers import Shoppers
from services.demo.stores import Stores
from services.demo.world import Customer, Driver
from shared.clock import clock


class Demo(Shoppers, Stores, Drivers):
    """The demo's actors on one suite; `services.chaos` plays them too."""

    async def load_directory(self) -> None:
        self.directory = await self.operator.directory()
        self.scanner.identifiers |= seeded_scanner(self.directory).identifiers

    async def operator_token_for_dispatch(self) -> None:
        self.operator.dispatch_token = await asyncio.to_thread(console_token, self.suite, "demo")

    def show_console(self) -> None:
        """Where to watch the day live; the token goes to a file, not the terminal's history."""
        self.o.out.mkdir(parents=True, exist_ok=True)
        token_file = self.o.out / "console-token.txt"
        token_file.write_text(self.operator.dispatch_token + "\n")
        token_file.chmod(0o600)
        say(
            f"operator console (live while the demo runs): {self.suite.console_url()}  "
            f"sign in with the token in {token_file}"
        )

    async def pos_credentials(self, store_id: str) -> dict[str, Any]:
        return await self.operator.pos_credentials(store_id, gate=self.order_gate)

    def progress(self, total_customers: int) -> str:
        delivered = sum(o.status == "delivered" for o in self.orders.values())
        placed = len(self.orders)
        done = self.customers_done / total_customers
        width = 30
        bar = "#" * int(width * done) + "." * (width - int(width * done))
        simulated = clock().now()
        return (
            f"\r[demo] [{bar}] ~{simulated:%H:%M}Z shoppers {self.customers_done}/"
            f"{total_customers} orders {placed} delivered {delivered} routes {len(self.routes)}  "
        )

    async def run(self, customers: list[Customer], drivers: list[Driver]) -> None:
        await self.load_directory()
        await self.operator_token_for_dispatch()
        self.show_console()
        stores = [s for s in self.directory["stores"] if s["is_active"]]
        credentials = await asyncio.gather(*(self.pos_credentials(s["id"]) for s in stores))
        self.drivers = [DriverRecord(d) for d in drivers]
        await asyncio.gather(*(self.register(r) for r in self.drivers))
        say(
            f"{len(stores)} stores with POS credentials, {len(self.drivers)} drivers online, "
            f"{len(customers)} shoppers over {self.o.ordering_hours:g} simulated hours"
        )
        background: list[asyncio.Task[None]] = [
            asyncio.create_task(self.pos(s, c, poll_s=3.0))
            for s, c in zip(stores, credentials, strict=True)
        ]
        background += [
            asyncio.create_task(self.drive_driver(r, tick_s=DRIVER_TICK_S, refresh_s=15.0))
            for r in self.drivers
        ]
        background.append(asyncio.create_task(self.follow_orders(every_real_s=30.0)))
        t0 = time.monotonic()
        self.day_started_at = clock().now()
        shoppers = [asyncio.create_task(self.customer(c, t0)) for c in customers]
        all_shopped = asyncio.gather(*shoppers)
        # Cancelled with its shoppers at the stop: retrieved here, not printed as never retrieved.
        all_shopped.add_done_callback(lambda f: f.cancelled() or f.exception())
        drain_until = t0 + self.real((self.o.ordering_hours + self.o.max_drain_hours) * 3600)
        try:
            while True:
                print(self.progress(len(customers)), end="", file=sys.stderr, flush=True)
                # Orders promised for after the day are not waited for: they are later work.
                finished = all_shopped.done() and all(
                    o.status in TERMINAL or o.window_opens >= self.day_ends_at
                    for o in self.orders.values()
                )
                if finished or time.monotonic() > drain_until:
                    break
                await asyncio.sleep(1.0)
        finally:
            self.stopped_at = clock().now()
            print(file=sys.stderr)
            for task in [*background, *shoppers]:
                task.cancel()
            await asyncio.gather(*background, *shoppers, return_exceptions=True)
        if not all(o.status in TERMINAL for o in self.orders.values()):
            say("stopped waiting: the drain time ran out with orders still open")

    # --- results --------------------------------------------------------------------------

    async def await_deliveries_heard(self, real_seconds: float) -> None:
        """Until the order service shows every order a driver handed over as delivered (its
        record keeps the driver's time), or `real_seconds` pass: on a busy machine its events
        arrive late, and the results must not count a delivered order as still on its way."""
        deadline = time.monotonic() + real_seconds
        waiting = [self.orders[i] for i in sorted(self.handed_over)]
        while waiting and time.monotonic() < deadline:
            for order in waiting:
                with contextlib.suppress(httpx.HTTPError):
                    await self.read_order(order)
            waiting = [o for o in waiting if o.status not in TERMINAL]
            if waiting:
                await asyncio.sleep(2.0)
        if waiting:
            say(f"{len(waiting)} handed-over orders not yet shown delivered; judged as they stand")

    async def dispatch_route(self, route_id: str) -> tuple[dict[str, Any], dict[str, Any]]:
        return await self.operator.dispatch_route(route_id)
