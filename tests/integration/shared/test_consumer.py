from __future__ import annotations

import asyncio
from typing import Any

from aiokafka import AIOKafkaConsumer
from sqlalchemy import text

from shared import outbox
from shared.consumer import ConsumerRunner, Handler
from shared.db import Db, Tx
from shared.events import topics
from shared.events.envelope import Envelope
from shared.outbox import OutboxRelay
from tests.integration.shared.conftest import Ping, effects, runner
from tests.support import BOOTSTRAP, eventually


async def record_effect(tx: Tx, envelope: Envelope[Any]) -> None:
    await tx.execute(effects.insert().values(key=envelope.payload.key, n=envelope.payload.n))


async def effect_numbers(db: Db) -> list[int]:
    async with db.begin() as tx:
        return list((await tx.execute(text("SELECT n FROM effects ORDER BY id"))).scalars())


async def publish(db: Db, suffix: str, *numbers: int, key: str = "k") -> None:
    async with db.begin() as tx:
        for n in numbers:
            await outbox.add(tx, Ping(key=key, n=n), key=key)
    relay = OutboxRelay(db, BOOTSTRAP, name="t", topic_suffix=suffix)
    assert await relay.publish_pending() == len(numbers)
    await relay.stop()


async def test_a_twice_published_event_takes_effect_once_even_across_a_consumer_restart(
    db: Db, topic_suffix: str
) -> None:
    await publish(db, topic_suffix, 1)
    # Force a second publication of the same event: reset its sent mark.
    async with db.begin() as tx:
        await tx.execute(text("UPDATE outbox SET sent_at = NULL"))
    relay = OutboxRelay(db, BOOTSTRAP, name="again", topic_suffix=topic_suffix)
    assert await relay.publish_pending() == 1
    await relay.stop()

    # First consumer: its DB transaction commits, then it dies before committing the offset.
    handled = asyncio.Event()

    class DiesBeforeOffsetCommit(ConsumerRunner):
        async def _apply(self, handler: Handler, envelope: Envelope[Any]) -> None:
            await super()._apply(handler, envelope)
            handled.set()
            await asyncio.Event().wait()

    first = DiesBeforeOffsetCommit(
        db,
        BOOTSTRAP,
        name="test",
        group_id=f"g{topic_suffix}",
        topic_names=[topics.ORDERS],
        handlers={Ping.TYPE: record_effect},
        topic_suffix=topic_suffix,
    )
    await first.start()
    await asyncio.wait_for(handled.wait(), 20)
    assert first._task is not None
    first._task.cancel()
    await asyncio.gather(first._task, return_exceptions=True)
    await first.consumer.stop()
    assert await effect_numbers(db) == [1]

    second = runner(db, topic_suffix, record_effect)
    await second.start()
    try:
        # Both copies are delivered again (no offset was committed); both are no-ops.
        await eventually(lambda: second.stats.duplicates >= 2, within=20)
        assert second.stats.handled == 0
        assert await effect_numbers(db) == [1]
    finally:
        await second.stop()


async def test_a_failing_handler_dead_letters_the_message_and_goes_on(
    db: Db, topic_suffix: str
) -> None:
    async def explode_on_two(tx: Tx, envelope: Envelope[Any]) -> None:
        if envelope.payload.n == 2:
            raise RuntimeError("cannot handle two")
        await record_effect(tx, envelope)

    await publish(db, topic_suffix, 1, 2, 3)
    consumer = runner(db, topic_suffix, explode_on_two, max_attempts=2)
    await consumer.start()
    dlq = AIOKafkaConsumer(
        topics.dead_letter(topics.resolve(topics.ORDERS, topic_suffix)),
        bootstrap_servers=BOOTSTRAP,
        auto_offset_reset="earliest",
        group_id=None,
    )
    await dlq.start()
    try:
        await eventually(lambda: consumer.stats.handled >= 2, within=20)
        assert await effect_numbers(db) == [1, 3]
        record = await asyncio.wait_for(dlq.getone(), 20)
        headers = dict(record.headers)
        assert b"cannot handle two" in headers["dlq_error"]
        assert headers["event_type"] == Ping.TYPE.encode()  # the original headers are kept
        assert headers["dlq_attempts"] == b"2"
        assert consumer.stats.dead_lettered == 1
    finally:
        await dlq.stop()
        await consumer.stop()


async def test_a_handler_slower_than_the_poll_interval_does_not_loop_on_rebalances(
    db: Db, topic_suffix: str
) -> None:
    async def slow(tx: Tx, envelope: Envelope[Any]) -> None:
        await asyncio.sleep(3.5)
        await record_effect(tx, envelope)

    await publish(db, topic_suffix, 1, 2)
    # Each message takes longer than the group allows between polls.
    consumer = runner(
        db,
        topic_suffix,
        slow,
        max_poll_interval_ms=2_000,
        session_timeout_ms=6_000,
        heartbeat_interval_ms=500,
    )
    await consumer.start()
    try:
        await eventually(lambda: consumer.stats.handled >= 2, within=30)
        assert await effect_numbers(db) == [1, 2]
        assert consumer.stats.duplicates == 0  # no rebalance made it read a message again
    finally:
        await consumer.stop()


async def test_an_undecodable_message_goes_to_the_dead_letter_topic(
    db: Db, topic_suffix: str
) -> None:
    from aiokafka import AIOKafkaProducer

    producer = AIOKafkaProducer(bootstrap_servers=BOOTSTRAP)
    await producer.start()
    await producer.send_and_wait(
        topics.resolve(topics.ORDERS, topic_suffix),
        b"not json",
        headers=[("event_type", Ping.TYPE.encode())],
    )
    await producer.stop()
    consumer = runner(db, topic_suffix, record_effect)
    await consumer.start()
    try:
        await eventually(lambda: consumer.stats.dead_lettered == 1, within=20)
        assert await effect_numbers(db) == []
    finally:
        await consumer.stop()
