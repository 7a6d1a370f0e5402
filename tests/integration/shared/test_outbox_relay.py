from __future__ import annotations

import asyncio
import random
from collections import defaultdict

import asyncpg
from sqlalchemy import text

from shared import outbox
from shared.db import Db, asyncpg_dsn
from shared.outbox import OutboxRelay
from tests.integration.shared.conftest import Ping
from tests.support import BOOTSTRAP, EventTap, eventually


def relay(db: Db, suffix: str, name: str = "test") -> OutboxRelay:
    return OutboxRelay(db, BOOTSTRAP, name=name, topic_suffix=suffix, poll_seconds=0.1)


async def unsent(db: Db) -> int:
    return await outbox.backlog(db)


async def test_an_event_in_a_rolled_back_transaction_never_reaches_kafka(
    db: Db, topic_suffix: str
) -> None:
    tap = EventTap(topic_suffix)
    await tap.start()
    publisher = relay(db, topic_suffix)
    await publisher.start()
    try:

        class Abort(Exception):
            pass

        try:
            async with db.begin() as tx:
                await outbox.add(tx, Ping(key="k", n=1), key="k")
                raise Abort
        except Abort:
            pass
        async with db.begin() as tx:
            await outbox.add(tx, Ping(key="k", n=2), key="k")

        committed = await tap.next(Ping, within=15)
        assert committed.payload.n == 2
        later = await tap.collect(within=1.5)
        assert [e.payload for e in later if isinstance(e.payload, Ping)] == []
        async with db.begin() as tx:
            rows = (await tx.execute(text("SELECT count(*) FROM outbox"))).scalar_one()
        assert rows == 1
    finally:
        await publisher.stop()
        await tap.stop()


async def test_two_relays_publish_every_event_in_commit_order_per_key(
    db: Db, topic_suffix: str
) -> None:
    keys = [f"mall-{i}" for i in range(5)]
    committed: dict[str, list[int]] = defaultdict(list)
    rng = random.Random(7)

    async def writer(index: int) -> None:
        key = keys[index % len(keys)]
        for round_ in range(4):
            n = index * 100 + round_
            async with db.begin() as tx:
                await outbox.add(tx, Ping(key=key, n=n), key=key)
                # Commit at random moments so commit order differs from start order.
                await asyncio.sleep(rng.random() * 0.05)
            committed[key].append(n)

    tap = EventTap(topic_suffix)
    await tap.start()
    first, second = relay(db, topic_suffix, "r1"), relay(db, topic_suffix, "r2")
    await first.start()
    await second.start()
    try:
        await asyncio.gather(*(writer(i) for i in range(50)))
        total = sum(len(v) for v in committed.values())
        assert total == 200

        published: dict[str, list[int]] = defaultdict(list)

        async def all_published() -> bool:
            for envelope in await tap.collect(within=0.5):
                if isinstance(envelope.payload, Ping):
                    published[envelope.payload.key].append(envelope.payload.n)
            tap.seen.clear()
            return sum(len(set(v)) for v in published.values()) >= total

        await eventually(all_published, within=60)
        for key in keys:
            # Republished duplicates are allowed (at least once); order must hold.
            deduped = list(dict.fromkeys(published[key]))
            assert deduped == committed[key], key
        # A relay counts a batch and marks it sent once its transaction commits, which may be
        # a moment after the broker handed the batch to the tap.
        async def all_marked_sent() -> bool:
            counted = first.published_total + second.published_total >= total
            return counted and await unsent(db) == 0

        await eventually(all_marked_sent, within=30)
    finally:
        await first.stop()
        await second.stop()
        await tap.stop()


async def test_a_relay_killed_while_holding_rows_leaves_nothing_stuck(
    db: Db, topic_suffix: str
) -> None:
    async with db.begin() as tx:
        for n in range(5):
            await outbox.add(tx, Ping(key="k", n=n), key="k")
    # A "relay" that claimed the key and then died: its session lock dies with its connection.
    dead = await asyncpg.connect(asyncpg_dsn(db.url))
    await dead.execute("BEGIN")
    assert await dead.fetchval("SELECT pg_try_advisory_xact_lock(2, hashtext('k'))")
    await dead.fetch("SELECT id FROM outbox WHERE key = 'k' FOR UPDATE")

    tap = EventTap(topic_suffix)
    await tap.start()
    survivor = relay(db, topic_suffix, "survivor")
    await survivor.start()
    try:
        await asyncio.sleep(0.5)
        assert survivor.published_total == 0  # the key is still claimed by the dying relay
        dead.terminate()
        await eventually(lambda: survivor.published_total >= 5, within=15)
        numbers = [e.payload.n for e in await tap.collect(1.0) if isinstance(e.payload, Ping)]
        assert numbers == [0, 1, 2, 3, 4]
        assert await unsent(db) == 0
    finally:
        await survivor.stop()
        await tap.stop()


class CommitsDuringItsFirstPass(OutboxRelay):
    """A relay whose first pass finds nothing, and during which a row is committed."""

    committed = False

    async def publish_pending(self) -> int:
        published = await super().publish_pending()
        if not self.committed:
            self.committed = True
            async with self.db.begin() as tx:
                await outbox.add(tx, Ping(key="late", n=1), key="late")
            # The pass is not over until its wake-up arrived: the row came in during it.
            await eventually(self._wakeup.is_set, within=10, interval=0.01)
        return published


async def test_a_row_committed_during_an_empty_pass_goes_out_without_waiting_for_the_poll(
    db: Db, topic_suffix: str
) -> None:
    tap = EventTap(topic_suffix)
    await tap.start()
    # A poll far longer than the deadline below: only the wake-up can publish the row in time.
    publisher = CommitsDuringItsFirstPass(
        db, BOOTSTRAP, name="test", topic_suffix=topic_suffix, poll_seconds=120
    )
    await publisher.start()
    try:
        published = await tap.next(Ping, within=20)
        assert published.payload.key == "late"
    finally:
        await publisher.stop()
        await tap.stop()
