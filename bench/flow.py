"""Flow benchmark: from a store's `packaged` webhook to the offer in a driver's long poll.

A copy of the four services (`services.suite`, ports from `--base-port`, databases and topics
of its own) runs with dispatch set to start a batching round as soon as one shipment is pooled
(pool trigger 1, no minimum gap, a 50 ms tick, a 50 ms solve), so what is measured is the event
path itself: order service -> outbox -> Kafka -> dispatch -> outbox -> Kafka -> driver service
-> NOTIFY -> the waiting poll. The services share both cores (nothing is pinned: every hop is
part of the figure).

For each of `--orders` orders in turn, one at a time: a checkout at Fashion Show, the store's
POS accepts it, then the clock starts as the signed `packaged` event is sent and stops when a
driver's waiting long poll returns an offer for that order's delivery area; that driver accepts
it, so the next order goes to another free driver.

Before it, one line per stage (webhook, order relay, dispatch's consumer, the round, dispatch's
relay, the driver service's consumer, the poll), p50 and p99, from the databases' timestamps.

The last line is machine-readable: `BENCH flow p50_ms=<x> p99_ms=<x> ...`.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import time
import uuid
from collections.abc import Awaitable, Callable
from typing import Any

import asyncpg
import httpx

from bench.harness import (
    BenchError,
    bench_line,
    bench_parser,
    check_ports,
    free_port_base,
    machine_load,
    percentile,
    report,
)
from services.clients import DriverApp, Json, Pos, Storefront, expect
from services.leaks import LeakScanner
from services.suite import ROOT, Suite
from shared.db import asyncpg_dsn
from shared.malls import pilot_malls
from tests.e2e.actors import FASHION_SHOW

PORT_OFFSET = 30
OPERATOR_TOKEN = "bench-flow-operator-token"
CLOCK_START = "2026-11-25T19:00:00+00:00"
FLOW_ENV = {
    "MTH_CLOCK_START": CLOCK_START,
    "ORDER_OPERATOR_TOKEN": OPERATOR_TOKEN,
    "DISPATCH_BATCH_TICK_SECONDS": "0.05",
    "DISPATCH_BATCH_MIN_GAP_SECONDS": "0",
    "DISPATCH_BATCH_POOL_TRIGGER_SIZE": "1",
    "DISPATCH_SOLVE_SECONDS": "0.05",
    "DRIVER_LOCATION_MIN_INTERVAL_SECONDS": "0",
    # One bench process is one caller: it registers all its drivers and places every timed
    # order as one customer, past the per-caller sign-in and checkout limits.
    "DRIVER_RATE_LIMIT_SIGN_IN": "1000000/minute",
    "ORDER_RATE_LIMIT_CHECKOUT": "1000000/minute",
    "ORDER_RATE_LIMIT_ORDERS": "1000000/minute",
    "CATALOG_LOG_LEVEL": "WARNING",
}
MALL = next(m for m in pilot_malls() if m.id == FASHION_SHOW)
# The stages are read from the databases' timestamps: the bench's own times on the same clock.
WALL_OFFSET = time.time() - time.perf_counter()
STAGES = (
    ("webhook", "the packaged webhook to its transaction's start in the order service"),
    ("order_relay", "that transaction's start to the order relay's pass that sent the event"),
    ("dispatch_consume", "the send to dispatch's handler transaction"),
    ("round", "dispatch's handler to the start of the round transaction that offered the route"),
    ("dispatch_relay", "the round transaction's start to dispatch's relay pass that sent it"),
    ("driver_consume", "the send to the driver service's handler transaction"),
    ("poll", "the driver service's handler to the offer arriving in a waiting poll"),
)
HOME = {"lat": round(MALL.lat - 0.012, 5), "lng": round(MALL.lng - 0.022, 5)}


async def eventually(check: Callable[[], Awaitable[Any]], within: float, what: str) -> Any:
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        found = await check()
        if found:
            return found
        await asyncio.sleep(0.1)
    raise BenchError(f"{what} did not happen within {within:.0f} s")


class OfferWatch:
    """Every driver's long poll, kept waiting all the time; tells when an area is offered."""

    def __init__(self, drivers: list[DriverApp]) -> None:
        self.drivers = drivers
        self.seen: dict[str, tuple[float, DriverApp, Json]] = {}
        self.changed = asyncio.Event()
        self.busy: set[str] = set()
        self._tasks: list[asyncio.Task[None]] = []

    def start(self) -> None:
        self._tasks = [asyncio.create_task(self._poll(d)) for d in self.drivers]

    async def stop(self) -> None:
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task

    async def _poll(self, driver: DriverApp) -> None:
        etag: str | None = None
        while True:
            headers = dict(driver.auth)
            if etag:
                headers["If-None-Match"] = etag
            response = await driver.http.get(
                f"{driver.url}/v1/drivers/me/offers", params={"wait": 25}, headers=headers
            )
            arrived = time.perf_counter()
            if response.status_code == 304:
                continue
            body = expect(response, 200)
            etag = response.headers.get("etag")
            for offer in body["offers"]:
                for area in offer["dropoff_areas"]:
                    self.seen.setdefault(area, (arrived, driver, offer))
            self.changed.set()

    async def offered(self, area: str, within: float) -> tuple[float, DriverApp, Json]:
        deadline = time.monotonic() + within
        while area not in self.seen:
            self.changed.clear()
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise BenchError(f"no driver was offered the route to {area} in {within:.0f} s")
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self.changed.wait(), remaining)
        return self.seen[area]


async def _rows(url: str, query: str) -> list[asyncpg.Record]:
    conn = await asyncpg.connect(asyncpg_dsn(url))
    try:
        return list(await conn.fetch(query))
    finally:
        await conn.close()


async def stages(suite: Suite, timed: list[tuple[float, float]]) -> dict[str, list[float]]:
    """Where each order's time went, per stage (ms), from the outbox rows' `created_at` (the
    writing transaction's start) and `sent_at` (the relay pass's start) and the consumers'
    inbox `processed_at` (their transaction's start). Orders ran one at a time, so the n-th
    `order.ready_for_pickup` and the n-th `route.offered` belong to the n-th order."""
    ready = await _rows(
        suite.env["ORDER_DATABASE_URL"],
        "SELECT event_id, created_at, sent_at FROM outbox"
        " WHERE event_type = 'order.ready_for_pickup' ORDER BY created_at",
    )
    offered = await _rows(
        suite.env["DISPATCH_DATABASE_URL"],
        "SELECT event_id, created_at, sent_at FROM outbox"
        " WHERE event_type = 'route.offered' ORDER BY created_at",
    )
    handled = {
        row["event_id"]: row["processed_at"].timestamp()
        for url in (suite.env["DISPATCH_DATABASE_URL"], suite.env["DRIVER_DATABASE_URL"])
        for row in await _rows(url, "SELECT event_id, processed_at FROM inbox")
    }
    found: dict[str, list[float]] = {name: [] for name, _ in STAGES}
    if not len(ready) == len(offered) == len(timed):
        print(
            f"flow: {len(ready)} ready events, {len(offered)} offers for {len(timed)} orders:"
            " no stages"
        )
        return found
    for (sent, arrived), r, o in zip(timed, ready, offered, strict=True):
        if r["sent_at"] is None or o["sent_at"] is None or o["event_id"] not in handled:
            continue
        marks = [
            WALL_OFFSET + sent,
            r["created_at"].timestamp(),
            r["sent_at"].timestamp(),
            handled[r["event_id"]],
            o["created_at"].timestamp(),
            o["sent_at"].timestamp(),
            handled[o["event_id"]],
            WALL_OFFSET + arrived,
        ]
        for (name, _), start, end in zip(STAGES, marks, marks[1:], strict=False):
            found[name].append((end - start) * 1000)
    return found


def print_stages(found: dict[str, list[float]]) -> None:
    for name, what in STAGES:
        if found[name]:
            print(
                f"flow: {name:16} p50 {percentile(found[name], 50):6.0f} ms"
                f"  p99 {percentile(found[name], 99):6.0f} ms  ({what})"
            )


async def measure(suite: Suite, args: argparse.Namespace) -> list[tuple[float, float]]:
    async with httpx.AsyncClient(timeout=60) as http:
        directory = expect(
            await http.get(
                f"{suite.urls['catalog']}/v1/stores",
                headers={"Authorization": f"Bearer {suite.env['CATALOG_INTERNAL_TOKEN']}"},
            ),
            200,
        )
        terminals = []
        for store in directory["stores"]:
            if store["mall_id"] == FASHION_SHOW:
                issued = expect(
                    await http.post(
                        f"{suite.urls['order']}/v1/admin/stores/{store['id']}/pos-credentials",
                        headers={"Authorization": f"Bearer {OPERATOR_TOKEN}"},
                    ),
                    201,
                )
                terminals.append(
                    Pos(
                        http,
                        suite.urls["order"],
                        store["id"],
                        issued["api_key"],
                        issued["webhook_secret"],
                    )
                )
        drivers = [
            await DriverApp.register(http, suite.urls["driver"], f"Bench driver {i + 1}")
            for i in range(drivers_registered(args))
        ]
        for driver in drivers:
            await driver.go_online(lat=MALL.lat, lng=MALL.lng)
        token = suite.run_dev("order_service.dev", "token", "--customer", "bench-flow").strip()
        shop = Storefront(http, suite.urls["catalog"], suite.urls["order"], token, LeakScanner())
        page = expect(await shop.same_day(HOME["lat"], HOME["lng"], limit=100), 200)
        offer_ids = [item["offer_id"] for item in page["items"]]
        if not offer_ids:
            raise BenchError("the catalog offers nothing near Fashion Show: is it open?")
        watch = OfferWatch(drivers)
        watch.start()
        waits = []
        try:
            for index in range(args.orders):
                postal = f"B{index:04d}"
                name = f"Bench{uuid.uuid4().hex[:6]}"
                body = {
                    "lines": [{"offer_id": offer_ids[index % len(offer_ids)], "quantity": 1}],
                    "address": {
                        "line1": "4821 Wisteria Lane",
                        "city": "Las Vegas",
                        "region": "NV",
                        "postal_code": postal,
                        **HOME,
                    },
                    "contact": {"name": f"{name} Tester", "phone": "+17025550100"},
                }
                expect(await shop.checkout(body, str(uuid.uuid4())), 201)

                async def shipment(first: str = name) -> tuple[Pos, Json] | None:
                    for pos in terminals:
                        found = await pos.orders_for(first)
                        if found:
                            return pos, found[0]
                    return None

                pos, placed = await eventually(shipment, 30, "the store receiving the order")
                await pos.accept(placed["shipment_id"])
                labels = [f"BENCH-{uuid.uuid4().hex[:10].upper()}"]
                sent = time.perf_counter()
                await pos.packaged(placed["shipment_id"], labels)
                arrived, driver, offer = await watch.offered(f"Las Vegas {postal}", 60)
                waits.append((sent, arrived))
                expect(await driver.accept(offer["offer_id"]), 200)
                if (index + 1) % 10 == 0 or index + 1 == args.orders:
                    print(
                        f"flow: {index + 1}/{args.orders} orders,"
                        f" last {(arrived - sent) * 1000:.0f} ms",
                        flush=True,
                    )
        finally:
            await watch.stop()
    return waits


def run(args: argparse.Namespace) -> str:
    check_ports([args.base_port + i for i in range(1, 5)])
    print(f"flow: {machine_load()}; four services, nothing pinned")
    suite = Suite(
        label="benchflow",
        base_port=args.base_port,
        extra_env={**FLOW_ENV, "MTH_CLOCK_REAL_START": str(time.time())},
        catalog_seed=(
            "--stores-per-mall=4",
            "--skus=400",
            "--max-inventory-events=0",
            f"--keys-file={ROOT / '.local' / 'benchflow' / 'catalog_retailer_keys.json'}",
        ),
    )
    try:
        suite.start()
        timed = asyncio.run(measure(suite, args))
        found = asyncio.run(stages(suite, timed))
    finally:
        suite.stop()
    waits = [(arrived - sent) * 1000 for sent, arrived in timed]
    print_stages(found)
    p50, p99 = percentile(waits, 50), percentile(waits, 99)
    print(
        f"flow: packaged -> offer in a driver's poll: p50 {p50:.0f} ms, p99 {p99:.0f} ms, "
        f"max {max(waits):.0f} ms over {len(waits)} orders"
    )
    return bench_line("flow", p50_ms=p50, p99_ms=p99, orders=len(waits))


def drivers_registered(args: argparse.Namespace) -> int:
    """One driver per timed order, and a few spare, so an offer never waits for a free one."""
    return int(args.orders) + 4


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = bench_parser("flow", __doc__)
    parser.add_argument(
        "--base-port",
        type=int,
        default=free_port_base() + PORT_OFFSET,
        help="the services listen on +1..+4 (default: MTH_FREE_PORT_BASE + 30)",
    )
    parser.add_argument("--orders", type=int, default=40, help="orders to time, one at a time")
    return parser.parse_args(argv)


def cli(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    report("flow", lambda: run(args))


if __name__ == "__main__":
    cli()
