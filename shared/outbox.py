"""Transactional outbox: events are rows written in the same transaction as the state change.

Ordering per partition key is the hard part. Writers of one key serialise on an advisory lock
(class 1) held to commit, and take their row id after it, so per key id order is commit order.
A relay claims whole keys with a second advisory lock (class 2) and publishes a key's rows in id
order; a relay that dies drops its locks with its connection, so nothing stays stuck. A plain
`FOR UPDATE SKIP LOCKED` over rows would let two relays publish one key's rows out of order, and
a global id cursor would skip rows that commit late.

Each pass is bounded: a prefix of each claimed key's rows, at most `rows_per_pass` in all, sent
pipelined and acknowledged one by one. Whatever Kafka acknowledged within the send window is
marked sent even when a later send fails, so a backlog after an outage drains pass by pass at
full speed. A key stops at its first row not acknowledged; a row Kafka refuses for good (too
large, a topic that does not exist) moves to `outbox_dead` with the error and blocks only its
own key until an operator retries or discards it (`python -m services dlq`).

Publishing is at least once: a relay may publish a row again after a crash or a timeout, and
consumers' inbox makes that harmless. Sends still unacknowledged when a pass ends are waited for
before the next pass, so an outage never piles copies of the same rows into the producer.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import asyncpg
from aiokafka import AIOKafkaProducer
from aiokafka.errors import (
    InvalidTopicError,
    KafkaError,
    MessageSizeTooLargeError,
    RecordListTooLargeError,
    RecordTooLargeError,
    TopicAuthorizationFailedError,
)
from opentelemetry.trace import Span, StatusCode
from sqlalchemy import (
    BigInteger,
    Column,
    DateTime,
    Index,
    LargeBinary,
    MetaData,
    Table,
    Text,
    Uuid,
    func,
    text,
)

from shared import tracing
from shared.db import Db, Tx, asyncpg_dsn
from shared.events import topics
from shared.events.envelope import Payload, encode, wrap
from shared.kafka import KafkaTarget, new_producer
from shared.retry import describe

log = logging.getLogger(__name__)

NOTIFY_CHANNEL = "outbox"
_WRITER_LOCK_CLASS = 1
_RELAY_LOCK_CLASS = 2
_producer_name = "unknown"

# Kafka refuses these the same way every time: retrying cannot help.
PERMANENT_SEND_ERRORS: tuple[type[KafkaError], ...] = (
    MessageSizeTooLargeError,
    RecordTooLargeError,
    RecordListTooLargeError,
    InvalidTopicError,
    TopicAuthorizationFailedError,
)


def set_producer_name(name: str) -> None:
    """The service name stamped on every envelope this process writes."""
    global _producer_name
    _producer_name = name


def define_tables(metadata: MetaData) -> tuple[Table, Table, Table, Table]:
    """The outbox, its parked rows, the inbox and the consumers' effect log, added to a
    service's metadata for its migrations."""
    outbox = Table(
        "outbox",
        metadata,
        Column("id", BigInteger, primary_key=True, autoincrement=True),
        Column("event_id", Uuid, nullable=False, unique=True),
        Column("topic", Text, nullable=False),
        Column("key", Text, nullable=False),
        Column("event_type", Text, nullable=False),
        Column("event", LargeBinary, nullable=False),
        Column("created_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
        Column("sent_at", DateTime(timezone=True)),
        Index("ix_outbox_unsent_key", "key", "id", postgresql_where=text("sent_at IS NULL")),
    )
    # A row Kafka refused for good, with its outbox id, so a retry puts it back in its place.
    outbox_dead = Table(
        "outbox_dead",
        metadata,
        Column("id", BigInteger, primary_key=True, autoincrement=False),
        Column("event_id", Uuid, nullable=False, unique=True),
        Column("topic", Text, nullable=False),
        Column("key", Text, nullable=False),
        Column("event_type", Text, nullable=False),
        Column("event", LargeBinary, nullable=False),
        Column("created_at", DateTime(timezone=True), nullable=False),
        Column("error", Text, nullable=False),
        Column("parked_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
        Index("ix_outbox_dead_key", "key"),
    )
    inbox = Table(
        "inbox",
        metadata,
        Column("consumer", Text, primary_key=True),
        Column("event_id", Uuid, primary_key=True),
        Column("processed_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    )
    # Written only with `consumer_effect_log` on (`make chaos`): one row per applied event, in
    # the handler's transaction, so an event applied twice shows twice whatever the inbox says.
    consumer_effects = Table(
        "consumer_effects",
        metadata,
        Column("id", BigInteger, primary_key=True, autoincrement=True),
        Column("consumer", Text, nullable=False),
        Column("event_id", Uuid, nullable=False),
        Column("event_type", Text, nullable=False),
        Column("applied_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    )
    return outbox, outbox_dead, inbox, consumer_effects


async def add(tx: Tx, payload: Payload, *, key: str, occurred_at: datetime | None = None) -> None:
    """Adds an event to the outbox inside the caller's transaction."""
    await add_many(tx, [(payload, key)], occurred_at=occurred_at)


async def add_many(
    tx: Tx, events: Sequence[tuple[Payload, str]], *, occurred_at: datetime | None = None
) -> None:
    """Adds (payload, key) events in one round trip each for locks, rows and the wake-up.

    Keys are locked in sorted order so two bulk writers never deadlock on each other.
    """
    if not events:
        return
    for key in sorted({key for _, key in events}):
        await tx.execute(
            text("SELECT pg_advisory_xact_lock(:cls, hashtext(:key))"),
            {"cls": _WRITER_LOCK_CLASS, "key": key},
        )
    rows = []
    trace_context = tracing.current_context()
    for payload, key in events:
        envelope = wrap(
            payload,
            key=key,
            producer=_producer_name,
            occurred_at=occurred_at,
            trace_context=trace_context,
        )
        rows.append(
            {
                "event_id": envelope.event_id,
                "topic": payload.TOPIC,
                "key": key,
                "event_type": payload.TYPE,
                "event": encode(envelope),
            }
        )
    await tx.execute(
        text(
            "INSERT INTO outbox (event_id, topic, key, event_type, event)"
            " VALUES (:event_id, :topic, :key, :event_type, :event)"
        ),
        rows,
    )
    # Delivered at commit, never for a rolled-back transaction; the relay also polls.
    await tx.execute(text("SELECT pg_notify(:channel, '')"), {"channel": NOTIFY_CHANNEL})


async def backlog(db: Db) -> int:
    async with db.begin() as tx:
        result = await tx.execute(text("SELECT count(*) FROM outbox WHERE sent_at IS NULL"))
        return int(result.scalar_one())


async def unsent(db: Db) -> tuple[int, float]:
    """Rows not yet published, and the age in seconds of the oldest of them (0 when none).

    Both by the database's clock, which also stamped `created_at`."""
    async with db.begin() as tx:
        row = (
            await tx.execute(
                text(
                    "SELECT count(*), COALESCE(EXTRACT(EPOCH FROM now() - min(created_at)), 0)"
                    " FROM outbox WHERE sent_at IS NULL"
                )
            )
        ).one()
        return int(row[0]), float(row[1])


async def dead_count(db: Db) -> int:
    async with db.begin() as tx:
        return int((await tx.execute(text("SELECT count(*) FROM outbox_dead"))).scalar_one())


@dataclass(frozen=True)
class DeadRow:
    id: int
    event_id: str
    topic: str
    key: str
    event_type: str
    error: str
    created_at: datetime
    parked_at: datetime
    event: bytes


async def dead_rows(db: Db) -> list[DeadRow]:
    async with db.begin() as tx:
        rows = await tx.execute(
            text(
                "SELECT id, event_id, topic, key, event_type, error, created_at, parked_at, event"
                " FROM outbox_dead ORDER BY id"
            )
        )
        return [
            DeadRow(
                id=row.id,
                event_id=str(row.event_id),
                topic=row.topic,
                key=row.key,
                event_type=row.event_type,
                error=row.error,
                created_at=row.created_at,
                parked_at=row.parked_at,
                event=bytes(row.event),
            )
            for row in rows
        ]


async def requeue_dead(db: Db, row_id: int) -> bool:
    """Puts a parked row back in the outbox with its own id: it goes out before the rows of
    its key that waited behind it. False if there is no such parked row."""
    async with db.begin() as tx:
        moved = await tx.execute(
            text(
                "WITH moved AS (DELETE FROM outbox_dead WHERE id = :id"
                " RETURNING id, event_id, topic, key, event_type, event, created_at)"
                " INSERT INTO outbox (id, event_id, topic, key, event_type, event, created_at)"
                " SELECT id, event_id, topic, key, event_type, event, created_at FROM moved"
                " RETURNING id"
            ),
            {"id": row_id},
        )
        if moved.first() is None:
            return False
        await tx.execute(text("SELECT pg_notify(:channel, '')"), {"channel": NOTIFY_CHANNEL})
    return True


async def discard_dead(db: Db, row_id: int) -> bool:
    """Drops a parked row for good, unblocking its key. False if there is no such row."""
    async with db.begin() as tx:
        deleted = await tx.execute(
            text("DELETE FROM outbox_dead WHERE id = :id RETURNING id"), {"id": row_id}
        )
        found = deleted.first() is not None
        if found:
            await tx.execute(text("SELECT pg_notify(:channel, '')"), {"channel": NOTIFY_CHANNEL})
        return found


@dataclass
class _Send:
    row_id: int
    key: str
    future: asyncio.Future[Any]
    # Tracing's PRODUCER span (None when tracing is off): ended when Kafka answers.
    span: Span | None = None

    def __post_init__(self) -> None:
        if self.span is not None:
            self.future.add_done_callback(lambda _: self.end_span())

    def end_span(self) -> None:
        """Ends the span with Kafka's answer, or as failed if the relay stopped waiting."""
        span, self.span = self.span, None
        if span is not None:
            answered = self.future.done()
            _end_span(span, self.failure if answered else TimeoutError("no answer from Kafka"))

    @property
    def is_acked(self) -> bool:
        return (
            self.future.done() and not self.future.cancelled() and self.future.exception() is None
        )

    @property
    def failure(self) -> BaseException | None:
        if not self.future.done():
            return None
        if self.future.cancelled():
            return asyncio.CancelledError()
        return self.future.exception()


_WAIT = "wait"


def _end_span(span: Span | None, failure: BaseException | None) -> None:
    if span is None:
        return
    if failure is not None:
        span.record_exception(failure)
        span.set_status(StatusCode.ERROR)
    span.end()


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
        self._in_flight: list[_Send] = []
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
            sent, parked, pending = _outcome(sends)
            await self._mark_sent(tx, sent)
            for row_id, error in [*refused, *parked]:
                await self._park(tx, row_id, error)
        self._keep_in_flight(pending)
        self.published_total += len(sent)
        return published + len(sent)

    async def _send(self, rows: Sequence[Any]) -> tuple[list[_Send], list[tuple[int, str]]]:
        """Queues the rows in id order and waits, up to the send window, for Kafka's answers.
        Returns the sends, and the rows refused before sending (with the reason)."""
        producer = await self._get_producer()
        deadline = time.monotonic() + self.send_timeout_seconds
        sends: list[_Send] = []
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
                _end_span(span, error)
                stopped.add(row.key)
                refused.append((row.id, describe(error)))
                continue
            except (KafkaError, TimeoutError) as error:
                _end_span(span, error)
                stopped.add(row.key)
                log.warning(
                    "outbox_send_failed",
                    extra={"relay": self.name, "key": row.key, "error": describe(error)},
                )
                continue
            sends.append(_Send(row.id, row.key, future, span))
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
        sent, _, pending = _outcome(self._in_flight)
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

    def _keep_in_flight(self, pending: list[_Send]) -> None:
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


def _outcome(sends: Sequence[_Send]) -> tuple[list[int], list[tuple[int, str]], list[_Send]]:
    """Per key in id order: the acknowledged prefix is sent; the first row after it that
    Kafka refused for good is parked; the key stops there. Returns (sent ids, parked (id,
    error), sends still unanswered)."""
    sent: list[int] = []
    parked: list[tuple[int, str]] = []
    pending: list[_Send] = []
    stopped: set[str] = set()
    for send in sends:
        if not send.future.done():
            pending.append(send)
            stopped.add(send.key)
            continue
        if send.key in stopped:
            continue
        if send.is_acked:
            sent.append(send.row_id)
            continue
        stopped.add(send.key)
        failure = send.failure
        if isinstance(failure, PERMANENT_SEND_ERRORS):
            parked.append((send.row_id, describe(failure)))
    return sent, parked, pending
