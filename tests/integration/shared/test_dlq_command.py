"""`python -m services dlq` against the real broker and database: dead letters are listed,
shown, and replayed to their original topic, where the inbox makes a second replay a no-op."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
from typing import Any

from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from sqlalchemy import text

from shared import outbox
from shared.consumer import ConsumerRunner
from shared.db import Db, Tx
from shared.events import topics
from shared.events.envelope import Envelope
from shared.outbox import OutboxRelay
from tests.integration.shared.conftest import Ping, runner
from tests.integration.shared.test_consumer import effect_numbers, publish, record_effect
from tests.integration.shared.test_outbox_relay_failures import Stray
from tests.support import BOOTSTRAP, EventTap, eventually


async def dlq(*args: str) -> str:
    """Runs the command as an operator would; returns what it printed."""
    done = await asyncio.to_thread(
        subprocess.run,
        [sys.executable, "-m", "services", "dlq", *args],
        env={**os.environ, "KAFKA_BOOTSTRAP_SERVERS": BOOTSTRAP},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    return done.stdout


def consumer(db: Db, suffix: str, handler: Any) -> ConsumerRunner:
    return runner(db, suffix, handler, max_attempts=1)


async def test_a_dead_letter_is_listed_shown_and_replayed_once_the_consumer_is_fixed(
    db: Db, topic_suffix: str
) -> None:
    async def refuses_two(tx: Tx, envelope: Envelope[Any]) -> None:
        if envelope.payload.n == 2:
            raise ValueError("two is not allowed yet")
        await record_effect(tx, envelope)

    await publish(db, topic_suffix, 1, 2, 3)
    broken = consumer(db, topic_suffix, refuses_two)
    await broken.start()
    try:
        await eventually(lambda: broken.stats.dead_lettered == 1, within=30)
        await eventually(lambda: broken.stats.handled == 2, within=30)
    finally:
        await broken.stop()

    listed = await dlq("list", "--suffix", topic_suffix, "--source", "kafka")
    ref = f"{topics.dead_letter(topics.resolve(topics.ORDERS, topic_suffix))}:0:0"
    assert listed.startswith(ref)
    assert f"consumer=g{topic_suffix}" in listed
    assert "two is not allowed yet" in listed
    assert "type=test.ping" in listed
    shown = await dlq("show", ref)
    assert '"n": 2' in shown
    assert "dlq_original_topic: " + topics.resolve(topics.ORDERS, topic_suffix) in shown
    # Another consumer's dead letters are not this one.
    assert await dlq("list", "--suffix", topic_suffix, "--consumer", "other*") == ""

    fixed = consumer(db, topic_suffix, record_effect)
    await fixed.start()
    try:
        replayed = await dlq(
            "replay", "--suffix", topic_suffix, "--topic", "orders", "--consumer", "g*"
        )
        assert replayed.startswith(f"replayed {ref} -> ")
        await eventually(lambda: _numbers(db, [1, 2, 3]), within=30)
        # A second replay reaches the consumer and changes nothing.
        await dlq("replay", ref)
        await eventually(lambda: fixed.stats.duplicates >= 1, within=30)
        assert sorted(await effect_numbers(db)) == [1, 2, 3]
    finally:
        await fixed.stop()


async def _numbers(db: Db, wanted: list[int]) -> bool:
    return sorted(await effect_numbers(db)) == wanted


async def test_a_parked_outbox_row_is_listed_and_goes_out_once_its_topic_exists(
    db: Db, topic_suffix: str
) -> None:
    async with db.begin() as tx:
        await outbox.add(tx, Stray(n=7), key="stray")
    relay = OutboxRelay(
        db, BOOTSTRAP, name="t", topic_suffix=topic_suffix, unknown_topic_grace_seconds=0
    )
    assert await relay.publish_pending() == 0
    await relay.stop()
    async with db.begin() as tx:
        row_id = (await tx.execute(text("SELECT id FROM outbox_dead"))).scalar_one()
    database = f"shared={db.url}"
    ref = f"outbox:shared:{row_id}"

    listed = await dlq("list", "--source", "outbox", "--database", database)
    assert listed.startswith(ref)
    assert "does not exist" in listed
    assert "type=test.stray" in listed

    # The operator creates the missing topic, then puts the row back.
    stray_topic = topics.resolve(Stray.TOPIC, topic_suffix)
    admin = AIOKafkaAdminClient(bootstrap_servers=BOOTSTRAP)
    await admin.start()
    try:
        await admin.create_topics([NewTopic(stray_topic, 1, 1)])
        assert "back in the outbox" in await dlq("replay", ref, "--database", database)
        assert await outbox.dead_count(db) == 0
        tap = EventTap(topic_suffix, [Stray.TOPIC])
        await tap.start()
        publisher = OutboxRelay(db, BOOTSTRAP, name="t", topic_suffix=topic_suffix)
        await publisher.start()
        try:
            seen = await tap.next(Stray, within=30)
            assert seen.payload.n == 7
        finally:
            await publisher.stop()
            await tap.stop()
    finally:
        await admin.delete_topics([stray_topic])
        await admin.close()


async def test_discarding_a_parked_row_lets_its_key_go_on(db: Db, topic_suffix: str) -> None:
    async with db.begin() as tx:
        await outbox.add(tx, Stray(n=1), key="k")
        await outbox.add(tx, Ping(key="k", n=2), key="k")
    relay = OutboxRelay(
        db, BOOTSTRAP, name="t", topic_suffix=topic_suffix, unknown_topic_grace_seconds=0
    )
    try:
        assert await relay.publish_pending() == 0
        assert await outbox.backlog(db) == 1  # the Ping waits behind the parked row
        async with db.begin() as tx:
            row_id = (await tx.execute(text("SELECT id FROM outbox_dead"))).scalar_one()
        out = await dlq("discard", f"outbox:shared:{row_id}", "--database", f"shared={db.url}")
        assert "discarded" in out
        assert await relay.publish_pending() == 1
        assert await outbox.backlog(db) == 0
    finally:
        await relay.stop()
