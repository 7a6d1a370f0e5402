"""Waiting for the backbone to drain after the faults: the backlog at a cutoff, outbox rows and
topic records, and every event id the run's topics hold."""

from __future__ import annotations

import asyncio
import contextlib
import time
from dataclasses import dataclass
from datetime import datetime

import asyncpg
from aiokafka import TopicPartition
from aiokafka.errors import KafkaError

from services.chaos.evidence import consumer_specs, fetch
from services.suite import SERVICES, Suite
from shared.db import asyncpg_dsn
from shared.events import topics
from shared.kafka import new_admin, new_consumer


@dataclass(frozen=True)
class Cutoff:
    """The backlog to drain: outbox rows written by `at`, records below `ends` on the topics."""

    at: datetime
    ends: dict[TopicPartition, int]
    taken: float


def run_partitions(suffix: str) -> list[TopicPartition]:
    return [
        TopicPartition(topics.resolve(topic, suffix), p)
        for topic, count in topics.PARTITIONS.items()
        for p in range(count)
    ]


async def end_offsets(
    bootstrap: str, partitions: list[TopicPartition]
) -> dict[TopicPartition, int]:
    consumer = new_consumer(bootstrap, group_id=None, enable_auto_commit=False)
    await consumer.start()
    try:
        ends: dict[TopicPartition, int] = await consumer.end_offsets(partitions)
        return ends
    finally:
        await consumer.stop()


async def snapshot(suite: Suite, bootstrap: str) -> Cutoff:
    taken = time.monotonic()
    while True:
        try:
            rows = await fetch(suite.database_url(SERVICES[0]), "SELECT now() AS now")
            ends = await end_offsets(bootstrap, run_partitions(suite.topic_suffix))
            return Cutoff(rows[0]["now"], ends, taken)
        except (OSError, asyncpg.PostgresError, TimeoutError, KafkaError):
            await asyncio.sleep(0.5)  # a service, the database or the broker coming back


async def backlog_left(suite: Suite, bootstrap: str, cutoff: Cutoff) -> int:
    """Outbox rows written by the cutoff still unsent, plus records below the cutoff's end
    offsets that a consumer group of the run has not committed."""
    left = 0
    for process in SERVICES:
        conn = await asyncpg.connect(asyncpg_dsn(suite.database_url(process)), timeout=10)
        try:
            left += int(
                await conn.fetchval(
                    "SELECT count(*) FROM outbox WHERE sent_at IS NULL AND created_at <= $1",
                    cutoff.at,
                )
            )
        finally:
            await conn.close()
    admin = new_admin(bootstrap)
    await admin.start()
    try:
        for service, specs in consumer_specs().items():
            for spec in specs:
                group = f"{service}{suite.topic_suffix}.{spec.purpose}"
                committed = await admin.list_consumer_group_offsets(group)
                for topic in spec.topics:
                    for p in range(topics.PARTITIONS[topic]):
                        tp = TopicPartition(topics.resolve(topic, suite.topic_suffix), p)
                        done = committed.get(tp)
                        position = done.offset if done is not None and done.offset >= 0 else 0
                        left += max(0, cutoff.ends.get(tp, 0) - position)
    finally:
        await admin.close()
    return left


async def wait_for_drain(
    suite: Suite, bootstrap: str, cutoff: Cutoff, limit: float
) -> tuple[float, bool]:
    """Seconds from the cutoff until its backlog is published and applied everywhere."""
    while time.monotonic() - cutoff.taken < limit:
        with contextlib.suppress(OSError, asyncpg.PostgresError, TimeoutError, KafkaError):
            if await backlog_left(suite, bootstrap, cutoff) == 0:
                return time.monotonic() - cutoff.taken, True
        await asyncio.sleep(0.5)
    return time.monotonic() - cutoff.taken, False


# --- reconciliation -----------------------------------------------------------------------------


async def topic_event_ids(bootstrap: str, suffix: str) -> tuple[set[str], int]:
    """The event ids on the run's topics, and how many dead letters its DLQ topics hold."""
    consumer = new_consumer(bootstrap, group_id=None, enable_auto_commit=False)
    await consumer.start()
    try:
        partitions = [
            TopicPartition(name, p)
            for name, count in topics.all_topics(suffix).items()
            for p in range(count)
        ]
        consumer.assign(partitions)
        await consumer.seek_to_beginning(*partitions)
        ends = await consumer.end_offsets(partitions)
        remaining = {tp for tp in partitions if ends[tp] > 0}
        seen: set[str] = set()
        dead_letters = 0
        while remaining:
            batches = await consumer.getmany(*remaining, timeout_ms=5000)
            if not batches:
                break
            for tp, records in batches.items():
                for record in records:
                    if tp.topic.endswith(topics.DLQ_SUFFIX):
                        dead_letters += 1
                        continue
                    for key, value in record.headers or []:
                        if key == "event_id":
                            seen.add(bytes(value).decode())
                if records and records[-1].offset + 1 >= ends[tp]:
                    remaining.discard(tp)
        return seen, dead_letters
    finally:
        await consumer.stop()
