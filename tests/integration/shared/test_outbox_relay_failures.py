"""The relay after an outage and with rows Kafka will never take (real Kafka and PostgreSQL)."""

from __future__ import annotations

from typing import ClassVar

from sqlalchemy import text

from shared import outbox
from shared.db import Db
from shared.events import topics
from shared.events.envelope import Payload, register
from shared.outbox import OutboxRelay
from tests.support import BOOTSTRAP, EventTap, eventually


@register
class Bulky(Payload):
    """A test-only event whose size the test chooses."""

    TYPE: ClassVar[str] = "test.bulky"
    VERSION: ClassVar[int] = 1
    TOPIC: ClassVar[str] = topics.ORDERS

    key: str
    n: int
    blob: str = ""


@register
class Stray(Payload):
    """A test-only event for a topic nobody created."""

    TYPE: ClassVar[str] = "test.stray"
    VERSION: ClassVar[int] = 1
    TOPIC: ClassVar[str] = "no-such-topic"

    n: int


async def numbers_seen(tap: EventTap) -> list[int]:
    return sorted(
        {e.payload.n for e in await tap.collect(within=0.5) if isinstance(e.payload, Bulky)}
    )


async def test_a_row_kafka_refuses_for_good_is_parked_and_blocks_only_its_own_key(
    db: Db, topic_suffix: str
) -> None:
    async with db.begin() as tx:
        await outbox.add(tx, Bulky(key="poison", n=1), key="poison")
        # Larger than any request the producer may send: Kafka will never take it.
        await outbox.add(tx, Bulky(key="poison", n=2, blob="x" * 2_000_000), key="poison")
        await outbox.add(tx, Bulky(key="poison", n=3), key="poison")
        for n in range(10, 20):
            await outbox.add(tx, Bulky(key=f"other-{n % 3}", n=n), key=f"other-{n % 3}")
    tap = EventTap(topic_suffix, [topics.ORDERS])
    await tap.start()
    relay = OutboxRelay(db, BOOTSTRAP, name="test", topic_suffix=topic_suffix, poll_seconds=0.1)
    await relay.start()
    try:
        wanted = [1, *range(10, 20)]
        await eventually(lambda: _seen_all(tap, wanted), within=60)
        async with db.begin() as tx:
            dead = (await tx.execute(text("SELECT key, error FROM outbox_dead"))).all()
            unsent = (
                await tx.execute(text("SELECT event_type, key FROM outbox WHERE sent_at IS NULL"))
            ).all()
        assert [row.key for row in dead] == ["poison"]
        assert "MessageSizeTooLarge" in dead[0].error
        # The row after the parked one waits: its key's order is kept.
        assert [row.key for row in unsent] == ["poison"]
        assert await numbers_seen(tap) == wanted
        assert await outbox.dead_count(db) == 1
    finally:
        await relay.stop()
        await tap.stop()


async def _seen_all(tap: EventTap, wanted: list[int]) -> bool:
    return set(wanted) <= set(await numbers_seen(tap))


async def test_a_backlog_larger_than_one_send_window_still_drains(
    db: Db, topic_suffix: str
) -> None:
    # After an outage: far more rows than one send window can carry.
    rows = 20_000
    async with db.begin() as tx:
        await outbox.add_many(
            tx, [(Bulky(key=f"k{n % 20}", n=n), f"k{n % 20}") for n in range(rows)]
        )
    relay = OutboxRelay(
        db,
        BOOTSTRAP,
        name="test",
        topic_suffix=topic_suffix,
        poll_seconds=0.1,
        send_timeout_seconds=0.2,
    )
    await relay.start()
    try:
        await eventually(lambda: _drained(db), within=120, interval=0.5)
        assert relay.published_total >= rows
    finally:
        await relay.stop()


async def _drained(db: Db) -> bool:
    return await outbox.backlog(db) == 0


async def test_a_row_for_a_topic_that_does_not_exist_is_parked_with_the_reason(
    db: Db, topic_suffix: str
) -> None:
    async with db.begin() as tx:
        await outbox.add(tx, Stray(n=1), key="stray")
        await outbox.add(tx, Bulky(key="fine", n=1), key="fine")
    tap = EventTap(topic_suffix, [topics.ORDERS])
    await tap.start()
    relay = OutboxRelay(
        db,
        BOOTSTRAP,
        name="test",
        topic_suffix=topic_suffix,
        poll_seconds=0.1,
        unknown_topic_grace_seconds=0.5,
    )
    await relay.start()
    try:
        await eventually(lambda: _seen_all(tap, [1]), within=30)
        await eventually(lambda: outbox.dead_count(db), within=30)
        async with db.begin() as tx:
            error = (await tx.execute(text("SELECT error FROM outbox_dead"))).scalar_one()
        assert "no-such-topic" in error
        assert await outbox.backlog(db) == 0
    finally:
        await relay.stop()
        await tap.stop()
