"""The relay: publishes committed outbox rows to Kafka, in commit order per key."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Sequence
from typing import Any

import asyncpg
from aiokafka import AIOKafkaProducer
from aiokafka.errors import KafkaError
from sqlalchemy import text

from shared import tracing
from shared.db import Db, Tx, asyncpg_dsn
from shared.events import topics
from shared.kafka import KafkaTarget, new_producer
from shared.outbox.sends import PERMANENT_SEND_ERRORS, Send, end_span, outcome
from shared.outbox.writer import NOTIFY_CHANNEL
from shared.retry import describe

# The package's name, as before the outbox became a package: log filters keep working.
log = logging.getLogger("shared.outbox")

_RELAY_LOCK_CLASS = 2
_WAIT = "wait"


class OutboxRelay:
    """Publishes committed outbox rows to Kafka, in commit order per key."""

    def __init__(
        self,
        db: Db,
        kafka: KafkaTarget,
        *,
        name: str,
        topic_suffix: str = "",
        poll_seconds: float = 0.5,
        send_timeout_seconds: float = 10.0,
        keys_per_batch: int = 1_000,
        rows_per_pass: int = 2_000,
        retention_seconds: float = 86_400,
        unknown_topic_grace_seconds: float = 60.0,
    ) -> None:
        self.db = db
        self.kafka = kafka
        self.name = name
        self.topic_suffix = topic_suffix
        self.poll_seconds = poll_seconds
        self.send_timeout_seconds = send_timeout_seconds
        self.keys_per_batch = keys_per_batch
        self.rows_per_pass = rows_per_pass
        self.retention_seconds = retention_seconds
        self.unknown_topic_grace_seconds = unknown_topic_grace_seconds
        self.published_total = 0
        self.parked_total = 0
        self._producer: AIOKafkaProducer | None = None
        self._wakeup = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._listener: asyncpg.Connection | None = None
        self._last_purge = 0.0
        # Sends of an earlier pass still waiting for Kafka's answer, and since when.
        self._in_flight: list[Send] = []
        self._in_flight_since = 0.0
        # Topics the cluster said it does not have, and since when.
        self._missing_topics: dict[str, float] = {}

    async def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name=f"outbox-relay-{self.name}")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
        await self._close_listener()
        await self._close_producer()

    async def _run(self) -> None:
        while True:
            try:
                await self._ensure_listener()
                # Cleared before the pass, not after it: a row committed while the pass runs
                # sets it again, and the next pass starts at once instead of a poll later.
                self._wakeup.clear()
                published = await self.publish_pending()
                if published == 0:
                    with contextlib.suppress(TimeoutError):
                        await asyncio.wait_for(self._wakeup.wait(), self.poll_seconds)
                await self._purge_sent()
            except asyncio.CancelledError:
                raise
            except Exception as error:
                log.warning(
                    "outbox_relay_error", extra={"relay": self.name, "error": describe(error)}
                )
                await asyncio.sleep(min(self.poll_seconds * 4, 2.0))

    async def publish_pending(self) -> int:
        """One bounded pass: claim keys, publish a prefix of each key's unsent rows in order,
        mark sent what Kafka acknowledged, park what it refused for good. Returns rows sent."""
        published = await self._settle_in_flight()
        if self._in_flight:
            return published
        async with self.db.begin() as tx:
            # Candidates and claims in one round trip. The LIMIT keeps the planner from pushing
            # the lock call into the subquery, so only the candidate keys are tried.
            claimed = (
                (
                    await tx.execute(
                        text(
                            "SELECT key FROM (SELECT key, min(id) AS first FROM outbox o"
                            " WHERE sent_at IS NULL AND NOT EXISTS"
                            " (SELECT 1 FROM outbox_dead d WHERE d.key = o.key)"
                            " GROUP BY key ORDER BY min(id) LIMIT :n) AS candidates"
                            " WHERE pg_try_advisory_xact_lock(:cls, hashtext(key))"
                        ),
                        {"n": self.keys_per_batch, "cls": _RELAY_LOCK_CLASS},
                    )
                )
                .scalars()
                .all()
            )
            if not claimed:
                return published
            # The oldest rows of the claimed keys: cut at one id, that is a prefix of each
            # key's rows in id order, and the oldest keys go first.
            rows = (
                await tx.execute(
                    text(
                        "SELECT id, topic, key, event_type, event_id, event FROM outbox"
                        " WHERE sent_at IS NULL AND key = ANY(CAST(:keys AS text[]))"
                        " ORDER BY id LIMIT :n"
                    ),
                    {"keys": claimed, "n": self.rows_per_pass},
                )
            ).all()
            sends, refused = await self._send(rows)
            sent, parked, pending = outcome(sends)
            await self._mark_sent(tx, sent)
            for row_id, error in [*refused, *parked]:
                await self._park(tx, row_id, error)
        self._keep_in_flight(pending)
        self.published_total += len(sent)
        return published + len(sent)

    async def _send(self, rows: Sequence[Any]) -> tuple[list[Send], list[tuple[int, str]]]:
        """Queues the rows in id order and waits, up to the send window, for Kafka's answers.
        Returns the sends, and the rows refused before sending (with the reason)."""
        producer = await self._get_producer()
        deadline = time.monotonic() + self.send_timeout_seconds
        sends: list[Send] = []
        refused: list[tuple[int, str]] = []
        stopped: set[str] = set()
        checked: dict[str, str | None] = {}
        for row in rows:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                break
            if row.key in stopped:
                continue
            topic = topics.resolve(row.topic, self.topic_suffix)
            if topic not in checked:
                checked[topic] = await self._topic_problem(producer, topic)
            problem = checked[topic]
            if problem is not None:
                stopped.add(row.key)
                if problem != _WAIT:
                    refused.append((row.id, problem))
                continue
            headers = [
                ("event_type", row.event_type.encode()),
                ("event_id", str(row.event_id).encode()),
            ]
            # The PRODUCER span puts its context in the headers; it ends when Kafka answers.
            span = tracing.start_publish(topic, row.event, headers)
            try:
                async with asyncio.timeout(remaining):
                    future = await producer.send(
                        topic, value=row.event, key=row.key.encode(), headers=headers
                    )
            except PERMANENT_SEND_ERRORS as error:
                end_span(span, error)
                stopped.add(row.key)
                refused.append((row.id, describe(error)))
                continue
            except (KafkaError, TimeoutError) as error:
                end_span(span, error)
                stopped.add(row.key)
                log.warning(
                    "outbox_send_failed",
                    extra={"relay": self.name, "key": row.key, "error": describe(error)},
                )
                continue
            sends.append(Send(row.id, row.key, future, span))
        if sends:
            await asyncio.wait(
                [s.future for s in sends], timeout=max(0.0, deadline - time.monotonic())
            )
        return sends, refused

    async def _topic_problem(self, producer: AIOKafkaProducer, topic: str) -> str | None:
        """None when the topic can be sent to; _WAIT when that is not known yet; else why
        the topic will not take the row (it does not exist on the cluster)."""
        if producer.client.cluster.partitions_for_topic(topic):
            self._missing_topics.pop(topic, None)
            return None
        try:
            async with asyncio.timeout(5):
                cluster = await producer.client.fetch_all_metadata()
        except (KafkaError, TimeoutError, OSError):
            return _WAIT  # the broker did not answer: nothing is known about the topic
        if topic in cluster.topics():
            self._missing_topics.pop(topic, None)
            return None
        first_missed = self._missing_topics.setdefault(topic, time.monotonic())
        missing_for = time.monotonic() - first_missed
        if missing_for < self.unknown_topic_grace_seconds:
            return _WAIT
        return (
            f"topic {topic} does not exist on the cluster (missing for {missing_for:.0f} s):"
            " create it, or fix the event's TOPIC, then retry with `python -m services dlq`"
        )

    async def _settle_in_flight(self) -> int:
        """Waits for the previous pass's unanswered sends; marks sent what Kafka took."""
        if not self._in_flight:
            return 0
        await asyncio.wait([s.future for s in self._in_flight], timeout=self.send_timeout_seconds)
        sent, _, pending = outcome(self._in_flight)
        if sent:
            async with self.db.begin() as tx:
                await self._mark_sent(tx, sent)
            self.published_total += len(sent)
        # A refusal among them is found again, and parked, when the next pass resends the row.
        if pending and time.monotonic() - self._in_flight_since < 5 * self.send_timeout_seconds:
            self._in_flight = pending
        else:
            if pending:
                # The producer stopped answering: start over with a new one.
                log.warning("outbox_producer_stuck", extra={"relay": self.name})
                for send in pending:
                    send.end_span()
                await self._close_producer()
            self._in_flight = []
        return len(sent)

    def _keep_in_flight(self, pending: list[Send]) -> None:
        self._in_flight = pending
        self._in_flight_since = time.monotonic()
        if pending:
            log.warning(
                "outbox_sends_unanswered",
                extra={"relay": self.name, "rows": len(pending)},
            )

    async def _mark_sent(self, tx: Tx, row_ids: list[int]) -> None:
        if row_ids:
            await tx.execute(
                text("UPDATE outbox SET sent_at = now() WHERE id = ANY(:ids) AND sent_at IS NULL"),
                {"ids": row_ids},
            )

    async def _park(self, tx: Tx, row_id: int, error: str) -> None:
        await tx.execute(
            text(
                "WITH moved AS (DELETE FROM outbox WHERE id = :id AND sent_at IS NULL"
                " RETURNING id, event_id, topic, key, event_type, event, created_at)"
                " INSERT INTO outbox_dead"
                " (id, event_id, topic, key, event_type, event, created_at, error)"
                " SELECT id, event_id, topic, key, event_type, event, created_at, :error"
                " FROM moved"
            ),
            {"id": row_id, "error": error[:4000]},
        )
        self.parked_total += 1
        log.error(
            "outbox_row_parked",
            extra={"relay": self.name, "row_id": row_id, "error": error},
        )

    async def _get_producer(self) -> AIOKafkaProducer:
        if self._producer is None:
            producer = new_producer(self.kafka, client_id=f"{self.name}-relay")
            await producer.start()
            self._producer = producer
        return self._producer

    async def _close_producer(self) -> None:
        producer, self._producer = self._producer, None
        if producer is not None:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(producer.stop(), 5)

    async def _ensure_listener(self) -> None:
        if self._listener is not None and not self._listener.is_closed():
            return
        try:
            self._listener = await asyncpg.connect(asyncpg_dsn(self.db.url), timeout=5)
            await self._listener.add_listener(NOTIFY_CHANNEL, self._on_notify)
        except (OSError, asyncpg.PostgresError, TimeoutError):
            # Polling still publishes everything; LISTEN only makes it prompt.
            self._listener = None

    def _on_notify(self, *_: object) -> None:
        self._wakeup.set()

    async def _close_listener(self) -> None:
        listener, self._listener = self._listener, None
        if listener is not None and not listener.is_closed():
            with contextlib.suppress(Exception):
                await listener.close(timeout=2)

    async def _purge_sent(self) -> None:
        now = time.monotonic()
        if now - self._last_purge < 60:
            return
        self._last_purge = now
        async with self.db.begin() as tx:
            await tx.execute(
                text("DELETE FROM outbox WHERE sent_at < now() - make_interval(secs => :keep)"),
                {"keep": self.retention_seconds},
            )
