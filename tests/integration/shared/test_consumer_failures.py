"""The consumer runner under rebalances, broker refusals and database outages (real Kafka and
PostgreSQL): every record is applied once or dead-lettered, never skipped."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Iterable
from typing import Any

import pytest
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer
from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.admin.config_resource import ConfigResource, ConfigResourceType
from sqlalchemy import text

from shared.db import Db, Tx
from shared.events import topics
from shared.events.envelope import Envelope, decode, encode, wrap
from tests.integration.shared.conftest import Ping, runner
from tests.integration.shared.test_consumer import effect_numbers, publish, record_effect
from tests.support import BOOTSTRAP, eventually

TWO = "two-partitions"


@pytest.fixture
async def two_partitions(topic_suffix: str) -> AsyncIterator[str]:
    """A topic of two partitions (and its dead-letter topic) for this test."""
    name = topics.resolve(TWO, topic_suffix)
    admin = AIOKafkaAdminClient(bootstrap_servers=BOOTSTRAP)
    await admin.start()
    try:
        await admin.create_topics([NewTopic(name, 2, 1), NewTopic(topics.dead_letter(name), 1, 1)])
        await eventually(lambda: _has_leaders(admin, name), within=20)
        yield name
    finally:
        await admin.delete_topics([name, topics.dead_letter(name)])
        await admin.close()


async def _has_leaders(admin: AIOKafkaAdminClient, name: str) -> bool:
    described = await admin.describe_topics([name, topics.dead_letter(name)])
    return all(
        t.get("error_code", 0) == 0 and all(p["leader"] >= 0 for p in t["partitions"])
        for t in described
    )


async def produce(topic: str, numbers: Iterable[int], partition_of: Any) -> None:
    """Writes Ping events straight to chosen partitions, as a relay would (envelope, headers)."""
    producer = AIOKafkaProducer(bootstrap_servers=BOOTSTRAP, acks="all")
    await producer.start()
    try:
        for n in numbers:
            key = f"k{partition_of(n)}"
            envelope = wrap(Ping(key=key, n=n), key=key, producer="test")
            await producer.send_and_wait(
                topic,
                encode(envelope),
                key=key.encode(),
                partition=partition_of(n),
                headers=[
                    ("event_type", Ping.TYPE.encode()),
                    ("event_id", str(envelope.event_id).encode()),
                ],
            )
    finally:
        await producer.stop()


async def test_records_fetched_during_a_rebalance_under_a_slow_handler_are_all_applied(
    db: Db, topic_suffix: str, two_partitions: str
) -> None:
    # A slow handler on the first event: 3 s in, a second member joins, and it leaves again
    # 3 s before the handler ends, so the first member's partitions are revoked and assigned
    # again (twice) while it is busy.
    busy, member_left = asyncio.Event(), asyncio.Event()

    async def slow_on_zero(tx: Tx, envelope: Envelope[Any]) -> None:
        if envelope.payload.n == 0:
            await asyncio.sleep(3)
            busy.set()
            await member_left.wait()
            await asyncio.sleep(3)
        await record_effect(tx, envelope)

    await produce(two_partitions, [0], partition_of=lambda n: 0)
    first = runner(db, topic_suffix, slow_on_zero, topic=TWO, heartbeat_interval_ms=300)
    second = runner(db, topic_suffix, record_effect, topic=TWO, heartbeat_interval_ms=300)
    await first.start()
    try:
        await asyncio.wait_for(busy.wait(), 30)
        await produce(two_partitions, range(1, 50), partition_of=lambda n: n % 2)
        await second.start()
        await eventually(
            lambda: len(second.consumer.assignment()) == len(first.consumer.assignment()) == 1,
            within=60,
        )
        await second.stop()
        member_left.set()

        await eventually(lambda: _count(db, 50), within=60)
        assert sorted(await effect_numbers(db)) == list(range(50))
    finally:
        member_left.set()
        await second.stop()
        await first.stop()


async def _count(db: Db, wanted: int) -> bool:
    return len(await effect_numbers(db)) >= wanted


async def test_a_dead_letter_the_broker_refuses_holds_the_partition_until_it_is_accepted(
    db: Db, topic_suffix: str, caplog: pytest.LogCaptureFixture
) -> None:
    dead_letters = topics.dead_letter(topics.resolve(topics.ORDERS, topic_suffix))
    admin = AIOKafkaAdminClient(bootstrap_servers=BOOTSTRAP)
    await admin.start()
    # The broker refuses every dead letter for now: its topic takes no record this large.
    await admin.alter_configs(
        [ConfigResource(ConfigResourceType.TOPIC, dead_letters, {"max.message.bytes": "64"})]
    )

    async def explode_on_two(tx: Tx, envelope: Envelope[Any]) -> None:
        if envelope.payload.n == 2:
            raise RuntimeError("cannot handle two")
        await record_effect(tx, envelope)

    await publish(db, topic_suffix, 1, 2, 3, 4, 5)
    consumer = runner(db, topic_suffix, explode_on_two, max_attempts=2)
    caplog.set_level(logging.INFO, logger="shared.consumer")
    await consumer.start()
    try:
        await eventually(lambda: _refused_dead_letter_logged(caplog), within=30)
        await publish(db, topic_suffix, 6)
        await admin.alter_configs(
            [
                ConfigResource(
                    ConfigResourceType.TOPIC, dead_letters, {"max.message.bytes": "1048588"}
                )
            ]
        )

        await eventually(lambda: _count(db, 5), within=60)
        assert await effect_numbers(db) == [1, 3, 4, 5, 6]
        letters = [decode(r.value).payload for r in await _read_all(dead_letters)]
        assert [p.n for p in letters if isinstance(p, Ping)] == [2]
    finally:
        await consumer.stop()
        await admin.close()


def _refused_dead_letter_logged(caplog: pytest.LogCaptureFixture) -> bool:
    for record in caplog.records:
        text_of_record = record.getMessage() + str(getattr(record, "error", ""))
        if record.exc_info:
            text_of_record += repr(record.exc_info[1])
        if "TooLarge" in text_of_record:
            return True
    return False


async def _read_all(topic: str) -> list[Any]:
    reader = AIOKafkaConsumer(
        topic, bootstrap_servers=BOOTSTRAP, auto_offset_reset="earliest", group_id=None
    )
    await reader.start()
    try:
        batches = await reader.getmany(timeout_ms=3000)
        return [record for records in batches.values() for record in records]
    finally:
        await reader.stop()


async def test_a_database_that_drops_the_connection_is_retried_not_dead_lettered(
    db: Db, topic_suffix: str
) -> None:
    dropped = 0

    async def connection_dropped_on_two(tx: Tx, envelope: Envelope[Any]) -> None:
        nonlocal dropped
        if envelope.payload.n == 2 and dropped < 6:
            dropped += 1
            # The server ends this session, as a restart or a failover does.
            await tx.execute(text("SELECT pg_terminate_backend(pg_backend_pid())"))
        await record_effect(tx, envelope)

    await publish(db, topic_suffix, 1, 2, 3)
    consumer = runner(db, topic_suffix, connection_dropped_on_two)
    await consumer.start()
    try:
        await eventually(lambda: _count(db, 3), within=60)
        assert await effect_numbers(db) == [1, 2, 3]
        assert dropped == 6
        assert consumer.stats.dead_lettered == 0
    finally:
        await consumer.stop()


async def test_a_transient_failure_pauses_only_its_partition_and_shows_in_the_metrics(
    db: Db, topic_suffix: str, two_partitions: str
) -> None:
    database_back = asyncio.Event()
    async with db.begin() as tx:
        await tx.execute(text("CREATE TABLE IF NOT EXISTS outage_marker (n int)"))

    async def zero_waits_for_the_database(tx: Tx, envelope: Envelope[Any]) -> None:
        if envelope.payload.n == 0 and not database_back.is_set():
            # A real transient error from the server: a lock that cannot be had right now.
            await tx.execute(text("SET LOCAL lock_timeout = '50ms'"))
            await tx.execute(text("LOCK TABLE outage_marker IN ACCESS EXCLUSIVE MODE"))
        await record_effect(tx, envelope)

    blocker = await db.engine.connect()
    await blocker.begin()
    await blocker.execute(text("LOCK TABLE outage_marker IN ACCESS EXCLUSIVE MODE"))
    await produce(two_partitions, range(10), partition_of=lambda n: 0 if n < 5 else 1)
    consumer = runner(db, topic_suffix, zero_waits_for_the_database, topic=TWO)
    await consumer.start()
    try:
        # Partition 1 is applied while partition 0 waits on its first event.
        await eventually(lambda: _count(db, 5), within=30)
        assert sorted(await effect_numbers(db)) == [5, 6, 7, 8, 9]
        await eventually(lambda: consumer.stats.retrying, within=10)
        from shared.metrics import ServiceMetrics
        from shared.service import export_consumer_stats

        metrics = ServiceMetrics("test")
        export_consumer_stats(metrics, [consumer])
        exported = metrics.render().decode()
        assert f'partition="{two_partitions}:0"' in exported
        assert "kafka_consumer_partition_retrying" in exported

        await blocker.rollback()
        database_back.set()
        await eventually(lambda: _count(db, 10), within=30)
        assert sorted(await effect_numbers(db)) == list(range(10))
        assert consumer.stats.dead_lettered == 0
        await eventually(lambda: not consumer.stats.retrying, within=10)
    finally:
        database_back.set()
        await blocker.close()
        await consumer.stop()
