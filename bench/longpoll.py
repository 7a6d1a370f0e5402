"""Long-poll benchmark: idle polls held by one driver service process, and one offer waking many.

One driver service runs in a process of its own, pinned to one core, with a database and topics
of its own. From the other core, one asyncio process (uvloop, a bare HTTP/1.1 client, no per-poll
objects beyond a socket) holds `--polls` long polls (`wait=25`) of as many drivers, each sending
its next poll as soon as one comes back, as a driver app does:

- memory: the service's resident set with every poll held, less before them, per poll (KB, 1000
  bytes);
- wake: one `route.offered` event offered to `--wake` of those drivers goes to Kafka; the time
  from sending it to each of their polls answered with the offer, p50 and p99.

The drivers' access tokens are real JWTs signed with the service's secret: a poll never reads the
database, so the drivers need no rows. The last line is machine-readable:
`BENCH longpoll polls=<n> kb_per_poll=<x> wake_p99_ms=<x> ...`.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import math
import os
import time
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from functools import partial
from pathlib import Path
from typing import cast

import asyncpg
import uvloop
from aiokafka import AIOKafkaProducer

from bench.harness import (
    BenchError,
    bench_line,
    bench_parser,
    check_ports,
    cores,
    cpu_seconds,
    free_port_base,
    machine_load,
    percentile,
    pin,
    profiled,
    report,
    rss_bytes,
    server,
)
from driver_service import auth
from driver_service.store.offers import OFFERS_CHANNEL
from services.infra import LOCAL, database_url, kafka_bootstrap
from shared.db import asyncpg_dsn
from shared.events import topics
from shared.events.common import GeoPoint
from shared.events.dispatch import RouteOffered, RouteStop, StopKind
from shared.events.envelope import encode, wrap
from shared.kafka import ensure_topics
from shared.settings import DEVELOPMENT_MODE_VARIABLE
from tests.support import create_database, delete_test_topics

JWT_SECRET = "bench-longpoll-driver-secret-0123456789abcdef"
PORT_OFFSET = 20
POLL_WAIT = 25


@dataclass
class Watch:
    """The offer some pollers wait for, and an event set once every one of them has it."""

    offer_id: bytes
    pending: int
    done: asyncio.Event = field(default_factory=asyncio.Event)

    def seen(self) -> None:
        self.pending -= 1
        if self.pending == 0:
            self.done.set()


@dataclass
class Poller(asyncio.Protocol):
    """One driver app's connection: polls, and polls again as soon as an answer comes."""

    request: bytes
    watch: Watch | None = None  # set for a driver the offer goes to
    answered_at: float | None = None
    answers: int = 0
    transport: asyncio.WriteTransport | None = None
    buffer: bytearray = field(default_factory=bytearray)

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        # uvloop's transports implement the interface without subclassing it.
        self.transport = cast(asyncio.WriteTransport, transport)
        self.transport.write(self.request)

    def data_received(self, data: bytes) -> None:
        now = time.perf_counter()
        self.buffer += data
        while True:
            end = self.buffer.find(b"\r\n\r\n")
            if end < 0:
                return
            length = _content_length(bytes(self.buffer[:end]))
            if len(self.buffer) < end + 4 + length:
                return
            body = bytes(self.buffer[end + 4 : end + 4 + length])
            del self.buffer[: end + 4 + length]
            self.answers += 1
            if self.watch and self.answered_at is None and self.watch.offer_id in body:
                self.answered_at = now
                self.watch.seen()
            if self.transport is not None and not self.transport.is_closing():
                self.transport.write(self.request)

    def connection_lost(self, exc: Exception | None) -> None:
        self.transport = None


def _same(poller: Poller) -> Poller:
    return poller


def _content_length(head: bytes) -> int:
    for line in head.split(b"\r\n")[1:]:
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length":
            return int(value)
    return 0


def poll_request(port: int, token: str) -> bytes:
    return (
        f"GET /v1/drivers/me/offers?wait={POLL_WAIT} HTTP/1.1\r\n"
        f"Host: 127.0.0.1:{port}\r\n"
        f"Authorization: Bearer {token}\r\n\r\n"
    ).encode()


def an_offer(driver_ids: list[uuid.UUID]) -> RouteOffered:
    now = datetime.now(UTC)
    order_id = uuid.uuid4()
    stop = RouteStop(
        stop_id=uuid.uuid4(),
        sequence=0,
        kind=StopKind.PICKUP,
        shipment_id=uuid.uuid4(),
        order_id=order_id,
        store_id="bench-store",
        store_name="Bench Outfitters",
        location=GeoPoint(lat=36.1274, lng=-115.1709),
        address="3200 S Las Vegas Blvd",
        area="Las Vegas 89109",
        package_count=1,
        eta=now + timedelta(minutes=20),
        deliver_by=now + timedelta(hours=2),
    )
    dropoff = stop.model_copy(
        update={"stop_id": uuid.uuid4(), "sequence": 1, "kind": StopKind.DROPOFF}
    )
    return RouteOffered(
        offer_id=uuid.uuid4(),
        route_id=uuid.uuid4(),
        mall_id="fashion-show-las-vegas",
        mall_name="Fashion Show",
        driver_ids=driver_ids,
        pay_cents=1500,
        hourly_floor_cents=2100,
        block_minutes=60,
        expected_miles=5.0,
        stop_count=2,
        pickup_area="Las Vegas, NV 89109",
        stops=[stop, dropoff],
        expires_at=now + timedelta(minutes=10),
        round=1,
    )


async def settle(pid: int, within: float) -> None:
    """Waits until the server is through with the opened polls: under a third of a core for a
    second (polls that time out are sent again, so it never goes fully idle), or `within`."""
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        before = cpu_seconds(pid)
        await asyncio.sleep(1.0)
        if cpu_seconds(pid) - before < 0.33:
            return
    print(f"longpoll: the driver service was still busy after {within:.0f} s; measuring anyway")


async def measure(args: argparse.Namespace, pid: int, suffix: str) -> dict[str, float]:
    loop = asyncio.get_running_loop()
    port = args.base_port
    now = datetime.now(UTC)
    drivers = [uuid.uuid4() for _ in range(args.polls)]
    tokens = [
        auth.encode_token(JWT_SECRET, d, "access", now, timedelta(hours=2))[0] for d in drivers
    ]
    woken = set(drivers[-args.wake :])
    offer = an_offer(drivers[-args.wake :])
    watch = Watch(str(offer.offer_id).encode(), len(woken))

    async def open_polls(indexes: range) -> list[Poller]:
        pollers = []
        for start in range(0, len(indexes), 200):
            batch = []
            for index in indexes[start : start + 200]:
                poller = Poller(
                    poll_request(port, tokens[index]),
                    watch if drivers[index] in woken else None,
                )
                batch.append(poller)
                await loop.create_connection(partial(_same, poller), "127.0.0.1", port)
            pollers += batch
        return pollers

    # Warm the code paths (imports, caches, first allocations) before the baseline.
    warm = await open_polls(range(min(200, args.polls)))
    await settle(pid, 60)
    for poller in warm:
        if poller.transport is not None:
            poller.transport.close()
    await settle(pid, 60)
    baseline = rss_bytes(pid)
    started, cpu = time.monotonic(), cpu_seconds(pid)
    pollers = await open_polls(range(args.polls))
    await settle(pid, 60)
    held = rss_bytes(pid)
    opened_in = time.monotonic() - started
    cpu_ms = (cpu_seconds(pid) - cpu) / args.polls * 1000
    print(
        f"longpoll: {args.polls} polls open in {opened_in:.1f} s, {cpu_ms:.2f} ms of server CPU "
        f"each (polls that time out meanwhile are sent again); RSS "
        f"{baseline / 2**20:.1f} MiB before, {held / 2**20:.1f} MiB held"
    )
    # The driver service announces a committed offer on this channel: listening too splits the
    # wake into the event path (Kafka, consumer, database) and the fan-out to the polls.
    committed: asyncio.Future[tuple[float, float]] = loop.create_future()

    def on_commit(*_: object) -> None:
        if not committed.done():
            committed.set_result((time.perf_counter(), cpu_seconds(pid)))

    listener = await asyncpg.connect(asyncpg_dsn(args.database_url))
    await listener.add_listener(OFFERS_CHANNEL, on_commit)
    producer = AIOKafkaProducer(bootstrap_servers=kafka_bootstrap(), acks="all", linger_ms=0)
    await producer.start()
    profiler = contextlib.ExitStack()
    if args.profile is not None:
        # Only the wake: a few seconds of samples around the offer.
        profiler.enter_context(profiled(pid, args.profile, 3, cores().load))
    try:
        envelope = wrap(offer, key=str(offer.route_id), producer="bench")
        sent_at, cpu_at_send = time.perf_counter(), cpu_seconds(pid)
        await producer.send_and_wait(
            topics.resolve(RouteOffered.TOPIC, suffix),
            encode(envelope),
            key=str(offer.route_id).encode(),
            headers=[
                ("event_type", offer.TYPE.encode()),
                ("event_id", str(envelope.event_id).encode()),
            ],
        )
    finally:
        await producer.stop()
    watchers = [p for p in pollers if p.watch is not None]
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(watch.done.wait(), 20)
    cpu_at_end = cpu_seconds(pid)
    await asyncio.to_thread(profiler.close)
    await listener.close()
    late = sum(p.answered_at is None for p in watchers)
    for poller in pollers:
        if poller.transport is not None:
            poller.transport.close()
    waits = [(p.answered_at - sent_at) * 1000 for p in watchers if p.answered_at is not None]
    notified, cpu_at_commit = committed.result() if committed.done() else (math.nan, math.nan)
    print(
        f"longpoll: the offer was committed and announced {(notified - sent_at) * 1000:.1f} ms "
        f"after it was sent ({(cpu_at_commit - cpu_at_send) * 1000:.0f} ms of server CPU); "
        f"{len(waits)} polls answered, the first at {min(waits, default=math.nan):.1f} ms, "
        f"the last at {max(waits, default=math.nan):.1f} ms "
        f"({(cpu_at_end - cpu_at_commit) * 1000:.0f} ms of server CPU after the commit)"
    )
    if late:
        raise BenchError(f"{late} of {len(watchers)} polls never saw the offer within 20 s")
    return {
        "polls": args.polls,
        "kb_per_poll": (held - baseline) / args.polls / 1000,
        "wake_p50_ms": percentile(waits, 50),
        "wake_p99_ms": percentile(waits, 99),
        "opened_s": opened_in,
    }


async def prepare(url: str, suffix: str) -> None:
    await create_database(url)
    conn = await asyncpg.connect(asyncpg_dsn(url))
    try:
        await conn.execute("DROP SCHEMA public CASCADE; CREATE SCHEMA public;")
    finally:
        await conn.close()
    await ensure_topics(kafka_bootstrap(), suffix)


def run(args: argparse.Namespace) -> str:
    check_ports([args.base_port])
    core = cores()
    print(
        f"longpoll: {machine_load()}; client on core {core.load}, driver service on {core.server}"
    )
    url = args.database_url = database_url("drivers_bench")
    suffix = f".benchlp{uuid.uuid4().hex[:6]}"
    asyncio.run(prepare(url, suffix))
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith("DRIVER_")},
        "DRIVER_DATABASE_URL": url,
        "DRIVER_PORT": str(args.base_port),
        "DRIVER_TOPIC_SUFFIX": suffix,
        "DRIVER_CONSUMER_GROUP": f"driver{suffix}",
        "DRIVER_JWT_SECRET": JWT_SECRET,
        "DRIVER_LOG_LEVEL": "WARNING",
        # The services refuse the repository's development secrets unless told this is one.
        DEVELOPMENT_MODE_VARIABLE: "1",
        "KAFKA_BOOTSTRAP_SERVERS": kafka_bootstrap(),
    }
    try:
        with server(
            ["-m", "driver_service"], env, args.base_port, LOCAL / "bench" / "driver.log"
        ) as process:
            pin(process.pid, core.server)
            os.sched_setaffinity(0, {core.load})
            figures = uvloop.run(measure(args, process.pid, suffix))
    finally:
        asyncio.run(delete_test_topics(suffix))
    print(
        f"longpoll: {figures['kb_per_poll']:.1f} KB per idle poll; one offer to {args.wake} "
        f"waiting drivers answered in p50 {figures['wake_p50_ms']:.1f} ms, "
        f"p99 {figures['wake_p99_ms']:.1f} ms"
    )
    return bench_line(
        "longpoll",
        polls=args.polls,
        kb_per_poll=figures["kb_per_poll"],
        wake_p99_ms=figures["wake_p99_ms"],
        wake_p50_ms=figures["wake_p50_ms"],
        woken=args.wake,
    )


def cli(argv: list[str] | None = None) -> None:
    parser = bench_parser("longpoll", __doc__)
    parser.add_argument(
        "--base-port",
        type=int,
        default=free_port_base() + PORT_OFFSET,
        help="the driver service listens here (default: MTH_FREE_PORT_BASE + 20)",
    )
    parser.add_argument("--polls", type=int, default=9000, help="idle polls to hold")
    parser.add_argument("--wake", type=int, default=1000, help="of them, drivers the offer goes to")
    parser.add_argument(
        "--profile",
        type=Path,
        help="record a py-spy profile of the driver service around the wake into this file",
    )
    args = parser.parse_args(argv)
    if not 0 < args.wake <= args.polls:
        parser.error("--wake must be between 1 and --polls")
    report("longpoll", lambda: run(args))


if __name__ == "__main__":
    cli()
