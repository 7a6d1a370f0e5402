"""Relay benchmark: outbox rows to Kafka at acks=all, against a raw aiokafka producer loop.

Both run in a process of their own pinned to one core, on a database (`relay_bench`) and topics
of their own:

- throughput: `--rows` `order.ready_for_pickup` rows (two per key, as an order's events are) are
  written first; the service's `OutboxRelay` publishes them, timed from its first published batch
  to the last; the raw loop sends the same messages with the producer settings the relay uses
  (`shared.kafka.new_producer`: idempotent, acks=all);
- lag: with the relay running, one event per transaction at `--rate` events/s (each written the
  way a service writes one, `shared.outbox.add` in its own transaction); a consumer on the other
  core timestamps each one as it arrives: commit-to-consume p50 and p99.

The last line is machine-readable:
`BENCH relay events_per_s=<x> raw_events_per_s=<x> ratio=<x> lag_p99_ms=<x> ...`.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import subprocess
import sys
import time
import uuid
from datetime import UTC, datetime, timedelta

import asyncpg
from aiokafka import AIOKafkaConsumer
from sqlalchemy import MetaData

from bench.harness import (
    BenchError,
    bench_line,
    bench_parser,
    cores,
    machine_load,
    on_core,
    percentile,
    pin,
)
from services.infra import database_url, kafka_bootstrap
from shared import outbox
from shared.db import Db, asyncpg_dsn
from shared.events import topics
from shared.events.common import GeoPoint
from shared.events.envelope import encode, wrap
from shared.events.order import OrderReadyForPickup
from shared.kafka import ensure_topics, new_producer
from tests.support import create_database, delete_test_topics

EVENTS_PER_KEY = 2
RESULT_MARK = "RELAYJSON "


def an_event(order_id: uuid.UUID) -> OrderReadyForPickup:
    now = datetime.now(UTC)
    return OrderReadyForPickup(
        order_id=order_id,
        shipment_id=uuid.uuid4(),
        mall_id="fashion-show-las-vegas",
        mall_name="Fashion Show",
        store_id="bench-store-0001",
        store_name="Harbor Outfitters at Fashion Show",
        pickup_instructions="Pickup counter by the north entrance",
        pickup=GeoPoint(lat=36.1274, lng=-115.1709),
        package_count=1,
        labels=["MTH-000184-1"],
        ready_at=now,
        deliver_by=now + timedelta(hours=3),
        dropoff=GeoPoint(lat=36.1147, lng=-115.1932),
        dropoff_address="4821 Wisteria Lane, Apt 12, Las Vegas, NV 89104",
        dropoff_area="Las Vegas 89104",
        customer_first_name="Dana",
        pin_sha256="0" * 64,
    )


async def prepare(url: str, suffix: str) -> None:
    await create_database(url)
    conn = await asyncpg.connect(asyncpg_dsn(url))
    try:
        await conn.execute("DROP SCHEMA public CASCADE; CREATE SCHEMA public;")
    finally:
        await conn.close()
    metadata = MetaData()
    outbox.define_tables(metadata)
    db = Db(url, pool_size=1)
    try:
        async with db.engine.begin() as conn_:
            await conn_.run_sync(metadata.create_all)
    finally:
        await db.dispose()
    await ensure_topics(kafka_bootstrap(), suffix)


async def fill(url: str, rows: int) -> None:
    db = Db(url, pool_size=1)
    try:
        for start in range(0, rows, 1000):
            async with db.begin() as tx:
                order_ids = [uuid.uuid4() for _ in range(1000 // EVENTS_PER_KEY)]
                await outbox.add_many(
                    tx,
                    [
                        (an_event(order_id), str(order_id))
                        for order_id in order_ids
                        for _ in range(EVENTS_PER_KEY)
                    ][: rows - start],
                )
    finally:
        await db.dispose()


# ---------------------------------------------------------------- the processes under test


async def serve_relay(url: str, suffix: str, expect: int) -> dict[str, float]:
    """Runs the service's relay; with `expect`, until that many rows are published."""
    outbox.set_producer_name("bench")
    db = Db(url, pool_size=2)
    relay = outbox.OutboxRelay(db, kafka_bootstrap(), name="bench", topic_suffix=suffix)
    await relay.start()
    try:
        if not expect:
            await asyncio.Event().wait()
        first_at = first_rows = 0.0
        deadline = time.monotonic() + 600
        while relay.published_total < expect:
            if time.monotonic() > deadline:
                raise BenchError(f"the relay published {relay.published_total} of {expect}")
            if not first_at and relay.published_total:
                first_at, first_rows = time.perf_counter(), relay.published_total
            await asyncio.sleep(0.002)
        seconds = time.perf_counter() - first_at
        return {"events": expect - first_rows, "seconds": seconds}
    finally:
        await relay.stop()
        await db.dispose()


async def raw_loop(suffix: str, rows: int) -> dict[str, float]:
    """The same messages through a bare producer with the relay's settings."""
    messages = [
        (str(order_id).encode(), encode(wrap(an_event(order_id), key=str(order_id), producer="b")))
        for order_id in (uuid.uuid4() for _ in range(rows // EVENTS_PER_KEY))
        for _ in range(EVENTS_PER_KEY)
    ]
    topic = topics.resolve(OrderReadyForPickup.TOPIC, suffix)
    producer = new_producer(kafka_bootstrap(), client_id="bench-raw")
    await producer.start()
    try:
        # A first message connects and fetches metadata, outside the timed part as for the relay.
        await producer.send_and_wait(topic, messages[0][1], key=messages[0][0])
        started = time.perf_counter()
        for start in range(1, len(messages), 1000):
            futures = [
                await producer.send(topic, value, key=key)
                for key, value in messages[start : start + 1000]
            ]
            await asyncio.gather(*futures)
        seconds = time.perf_counter() - started
    finally:
        await producer.stop()
    return {"events": len(messages) - 1, "seconds": seconds}


def child(argv: list[str], core: int) -> dict[str, float]:
    """Runs `python -m bench.relay <argv>` pinned to `core`; returns its result and CPU share."""
    process = subprocess.Popen(
        on_core(core, [sys.executable, "-m", "bench.relay", *argv]),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    out, err = process.communicate(timeout=900)
    if process.returncode != 0:
        raise BenchError(f"bench.relay {argv[0]} failed: {err[-2000:]}")
    for line in out.splitlines():
        if line.startswith(RESULT_MARK):
            result: dict[str, float] = json.loads(line[len(RESULT_MARK) :])
            return result
    raise BenchError(f"bench.relay {argv[0]} printed no result:\n{out[-1000:]}{err[-1000:]}")


# ---------------------------------------------------------------- lag


async def measure_lag(url: str, suffix: str, rate: float, seconds: float) -> list[float]:
    committed: dict[str, float] = {}
    received: dict[str, float] = {}
    count = int(rate * seconds)
    arrived = asyncio.Event()
    consumer = AIOKafkaConsumer(
        topics.resolve(OrderReadyForPickup.TOPIC, suffix),
        bootstrap_servers=kafka_bootstrap(),
        group_id=f"bench-lag-{uuid.uuid4().hex[:6]}",
        auto_offset_reset="latest",
        fetch_max_wait_ms=100,
    )
    # Encoded beforehand, written with asyncpg: the writer must keep the rate on its core, and
    # the statements are the ones `shared.outbox.add` runs (writer lock, row, wake-up).
    rows = []
    for _ in range(count):
        order_id = uuid.uuid4()
        envelope = wrap(an_event(order_id), key=str(order_id), producer="bench")
        rows.append((envelope.event_id, str(order_id), encode(envelope)))
    pool = await asyncpg.create_pool(asyncpg_dsn(url), min_size=10, max_size=20)
    await consumer.start()

    async def consume() -> None:
        while True:
            batches = await consumer.getmany(timeout_ms=100)
            now = time.time()
            for records in batches.values():
                for record in records:
                    event_id = dict(record.headers).get("event_id", b"").decode()
                    received.setdefault(event_id, now)
            if len(received) >= count:
                arrived.set()

    async def write_one(event_id: uuid.UUID, key: str, event: bytes) -> None:
        async with pool.acquire() as conn, conn.transaction():
            await conn.execute("SELECT pg_advisory_xact_lock(1, hashtext($1))", key)
            await conn.execute(
                "INSERT INTO outbox (event_id, topic, key, event_type, event)"
                " VALUES ($1, $2, $3, $4, $5)",
                event_id,
                OrderReadyForPickup.TOPIC,
                key,
                OrderReadyForPickup.TYPE,
                event,
            )
            await conn.execute("SELECT pg_notify('outbox', '')")
        committed[str(event_id)] = time.time()

    reader: asyncio.Task[None] | None = None
    try:
        while not consumer.assignment():
            await consumer.getmany(timeout_ms=100)
        await consumer.seek_to_end()
        reader = asyncio.create_task(consume())
        start = time.monotonic()
        writers = []
        for index, row in enumerate(rows):
            await asyncio.sleep(max(0.0, start + index / rate - time.monotonic()))
            writers.append(asyncio.create_task(write_one(*row)))
        await asyncio.gather(*writers)
        behind = time.monotonic() - start - seconds
        if behind > 1:
            print(f"relay: the writer fell {behind:.1f} s behind its schedule")
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(arrived.wait(), 30)
    finally:
        if reader is not None:
            reader.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await reader
        await consumer.stop()
        await pool.close()
    missing = len(committed.keys() - received.keys())
    if missing:
        raise BenchError(f"{missing} of {len(committed)} events never arrived within 30 s")
    return [(received[e] - committed[e]) * 1000 for e in committed]


# ---------------------------------------------------------------- main


def run(args: argparse.Namespace) -> str:
    core = cores()
    print(f"relay: {machine_load()}; relay and raw producer on core {core.server}")
    url = database_url("relay_bench")
    suffix = f".benchrelay{uuid.uuid4().hex[:6]}"
    asyncio.run(prepare(url, suffix))
    try:
        print(f"relay: writing {args.rows} outbox rows")
        asyncio.run(fill(url, args.rows))
        relayed = child(["relay", url, suffix, str(args.rows)], core.server)
        relay_rate = relayed["events"] / relayed["seconds"]
        print(
            f"relay: {relay_rate:.0f} events/s "
            f"({relayed['events']:.0f} in {relayed['seconds']:.2f} s)"
        )
        raw = child(["raw", suffix, str(args.rows)], core.server)
        raw_rate = raw["events"] / raw["seconds"]
        print(f"raw:   {raw_rate:.0f} events/s ({raw['events']:.0f} in {raw['seconds']:.2f} s)")
        process = subprocess.Popen(
            on_core(core.server, [sys.executable, "-m", "bench.relay", "relay", url, suffix, "0"]),
            stdin=subprocess.DEVNULL,
        )
        try:
            pin(process.pid, core.server)
            os.sched_setaffinity(0, {core.load})
            print(f"relay: lag at {args.rate:.0f} events/s for {args.seconds:.0f} s")
            lags = asyncio.run(measure_lag(url, suffix, args.rate, args.seconds))
        finally:
            process.terminate()
            process.wait(20)
    finally:
        asyncio.run(delete_test_topics(suffix))
    p50, p99 = percentile(lags, 50), percentile(lags, 99)
    print(f"relay: commit-to-consume p50 {p50:.1f} ms, p99 {p99:.1f} ms over {len(lags)} events")
    return bench_line(
        "relay",
        events_per_s=relay_rate,
        raw_events_per_s=raw_rate,
        ratio=relay_rate / raw_rate,
        lag_p99_ms=p99,
        lag_p50_ms=p50,
        lag_rate=args.rate,
    )


def cli(argv: list[str] | None = None) -> None:
    parser = bench_parser("relay", __doc__)
    parser.add_argument("--rows", type=int, default=20_000, help="outbox rows to publish")
    parser.add_argument("--rate", type=float, default=500.0, help="events/s for the lag")
    parser.add_argument("--seconds", type=float, default=10.0, help="length of the lag run")
    commands = parser.add_subparsers(dest="command")
    relay_cmd = commands.add_parser("relay", help="(internal) run the relay")
    relay_cmd.add_argument("url")
    relay_cmd.add_argument("suffix")
    relay_cmd.add_argument("expect", type=int)
    raw_cmd = commands.add_parser("raw", help="(internal) run the raw producer loop")
    raw_cmd.add_argument("suffix")
    raw_cmd.add_argument("rows", type=int)
    args = parser.parse_args(argv)
    try:
        if args.command == "relay":
            result = asyncio.run(serve_relay(args.url, args.suffix, args.expect))
            print(RESULT_MARK + json.dumps(result), flush=True)
        elif args.command == "raw":
            print(RESULT_MARK + json.dumps(asyncio.run(raw_loop(args.suffix, args.rows))))
        else:
            print(run(args), flush=True)
    except BenchError as error:
        print(f"bench relay: {error}", file=sys.stderr)
        raise SystemExit(1) from None


if __name__ == "__main__":
    cli()
