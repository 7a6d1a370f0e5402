"""Consumer runner: each message is handled in one DB transaction with an inbox row.

The Kafka offset is committed only after that transaction commits, so a crash between the two
redelivers the message, and the inbox (keyed by consumer and event id) turns the redelivery into
a no-op. The offset never moves past a record that was neither applied nor dead-lettered.

One worker task per partition handles that partition's records in order, from a queue the main
loop fills; the main loop keeps polling meanwhile, so the group keeps the member however slow a
handler is, and the other partitions go on. A full queue pauses its partition until the worker
catches up. A fetched record is never dropped: a worker that stops early seeks its partition
back to its first unhandled record. A rebalance first stops the workers of the revoked
partitions (after their record in hand, or after a grace period) and commits what they did.

Failures: a transient one (database restart or failover, dropped connection, serialization
failure, deadlock, Kafka) is retried with capped exponential backoff for as long as it lasts,
pausing only its partition (shown in `/metrics`). One that fails the same way every time
(undecodable, schema or business rule) goes to `<topic>.dlq` after a few attempts, with the
error and the original headers; publishing the dead letter is itself retried until Kafka takes
it. Nothing is dropped silently.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
import traceback
from collections import deque
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import orjson
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, ConsumerRecord, TopicPartition
from aiokafka.abc import ConsumerRebalanceListener
from aiokafka.errors import IllegalStateError, KafkaError
from sqlalchemy import text
from tenacity import AsyncRetrying, RetryCallState, retry_if_exception_type, wait_exponential

from shared import tracing
from shared.db import Db, Tx
from shared.events import topics
from shared.events.envelope import Envelope, Payload, decode
from shared.kafka import KafkaTarget, new_consumer, new_producer
from shared.logging import trace_id_var
from shared.retry import backoff, describe, failure_of, is_transient

log = logging.getLogger(__name__)

Handler = Callable[[Tx, Envelope[Any]], Awaitable[None]]


@dataclass
class ConsumerStats:
    handled: int = 0
    duplicates: int = 0
    dead_lettered: int = 0
    transient_errors: int = 0
    lag: dict[str, int] = field(default_factory=dict)
    # Partitions waiting to retry a transient failure ("topic:partition" -> the error).
    retrying: dict[str, str] = field(default_factory=dict)


class _Released(Exception):
    """The partition was revoked or the runner is stopping: leave the record for later."""


def _label(tp: TopicPartition) -> str:
    return f"{tp.topic}:{tp.partition}"


class ConsumerRunner:
    def __init__(
        self,
        db: Db,
        kafka: KafkaTarget,
        *,
        name: str,
        group_id: str,
        topic_names: list[str],
        handlers: Mapping[str, Handler],
        topic_suffix: str = "",
        max_attempts: int = 3,
        retry_backoff_seconds: float = 0.2,
        max_backoff_seconds: float = 30.0,
        max_poll_interval_ms: int = 300_000,
        session_timeout_ms: int = 10_000,
        heartbeat_interval_ms: int = 3_000,
        revoke_grace_seconds: float = 5.0,
        concurrency: int = 1,
        max_queued: int = 1_000,
        effect_log: bool = False,
        dead_letter_timeout_seconds: float = 15.0,
    ) -> None:
        self.db = db
        self.kafka = kafka
        self.name = name
        self.group_id = group_id
        self.topics = [topics.resolve(t, topic_suffix) for t in topic_names]
        self.handlers = dict(handlers)
        self.max_attempts = max_attempts
        self.retry_backoff_seconds = retry_backoff_seconds
        self.max_backoff_seconds = max_backoff_seconds
        self.max_poll_interval_ms = max_poll_interval_ms
        self.session_timeout_ms = session_timeout_ms
        self.heartbeat_interval_ms = heartbeat_interval_ms
        self.revoke_grace_seconds = revoke_grace_seconds
        self.max_queued = max_queued
        self.effect_log = effect_log
        self.dead_letter_timeout_seconds = dead_letter_timeout_seconds
        self.stats = ConsumerStats()
        self._consumer: AIOKafkaConsumer | None = None
        self._dlq_producer: AIOKafkaProducer | None = None
        self._task: asyncio.Task[None] | None = None
        self._stopping = asyncio.Event()
        self._workers: dict[TopicPartition, asyncio.Task[None]] = {}
        self._released: dict[TopicPartition, asyncio.Event] = {}
        self._queues: dict[TopicPartition, deque[ConsumerRecord[bytes, bytes]]] = {}
        # Partitions this runner paused: a full queue, or a transient failure being waited out.
        self._paused: set[TopicPartition] = set()
        # How many partitions' handlers may run at once (each partition stays in order).
        self._handler_slots = asyncio.Semaphore(concurrency)
        self._lag_recorded_at = 0.0

    async def start(self) -> None:
        self._consumer = new_consumer(
            self.kafka,
            group_id=self.group_id,
            client_id=f"{self.name}-consumer",
            enable_auto_commit=False,
            auto_offset_reset="earliest",
            max_poll_interval_ms=self.max_poll_interval_ms,
            session_timeout_ms=self.session_timeout_ms,
            heartbeat_interval_ms=self.heartbeat_interval_ms,
            max_poll_records=200,
        )
        self._consumer.subscribe(topics=self.topics, listener=_Rebalance(self))
        await self._consumer.start()
        self._task = asyncio.create_task(self._run(), name=f"consumer-{self.name}")

    async def stop(self) -> None:
        """Finishes the records in hand, commits, then leaves the group."""
        self._stopping.set()
        for event in self._released.values():
            event.set()
        if self._task is not None:
            with contextlib.suppress(asyncio.CancelledError):
                try:
                    await asyncio.wait_for(asyncio.shield(self._task), 15)
                except TimeoutError:
                    self._task.cancel()
                    await self._task
            self._task = None
        await self._stop_workers(list(self._workers), grace=15)
        if self._consumer is not None:
            with contextlib.suppress(Exception):
                await self._consumer.stop()
            self._consumer = None
        if self._dlq_producer is not None:
            with contextlib.suppress(Exception):
                await self._dlq_producer.stop()
            self._dlq_producer = None

    @property
    def consumer(self) -> AIOKafkaConsumer:
        if self._consumer is None:
            raise RuntimeError("consumer not started")
        return self._consumer

    # --- the poll loop ------------------------------------------------------------------------

    async def _run(self) -> None:
        while not self._stopping.is_set():
            try:
                batches = await self.consumer.getmany(timeout_ms=200)
                for tp, records in batches.items():
                    if records:
                        self._dispatch(tp, records)
                await self._record_lag()
            except asyncio.CancelledError:
                raise
            except Exception as error:
                log.warning(
                    "consumer_poll_failed",
                    extra={"consumer": self.name, "error": describe(error)},
                )
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._stopping.wait(), 1.0)

    def _dispatch(self, tp: TopicPartition, records: list[ConsumerRecord[bytes, bytes]]) -> None:
        if self._stopping.is_set():
            self._rewind(tp, records[0].offset)  # fetched as we stop: the next owner reads them
            return
        # Records of a busy partition queue up behind its worker, in offset order: the fetcher
        # keeps prefetching, and a full queue pauses the partition until the worker catches up.
        queue = self._queues.setdefault(tp, deque())
        queue.extend(records)
        if len(queue) >= self.max_queued:
            self._pause(tp)
        if tp not in self._workers:
            self._start_worker(tp)

    def _start_worker(self, tp: TopicPartition) -> None:
        self._released[tp] = asyncio.Event()
        self._workers[tp] = asyncio.create_task(
            self._work(tp), name=f"consumer-{self.name}-{_label(tp)}"
        )

    def _pause(self, tp: TopicPartition) -> None:
        if tp in self.consumer.assignment():
            self.consumer.pause(tp)
            self._paused.add(tp)

    def _resume(self, tp: TopicPartition) -> None:
        if tp in self._paused:
            self._paused.discard(tp)
            if tp in self.consumer.assignment():
                self.consumer.resume(tp)

    def _rewind(self, tp: TopicPartition, offset: int) -> None:
        if tp in self.consumer.assignment():
            with contextlib.suppress(IllegalStateError):
                self.consumer.seek(tp, offset)

    # --- one partition's records -------------------------------------------------------------

    async def _work(self, tp: TopicPartition) -> None:
        released = self._released[tp]
        queue = self._queues[tp]
        next_offset: int | None = None
        committed = True
        last_commit = time.monotonic()
        ended_early = True
        try:
            while queue and not released.is_set():
                record = queue[0]
                await self._process(tp, record, released)
                # Applied, dead-lettered or not ours: only now may the offset pass it.
                queue.popleft()
                next_offset, committed = record.offset + 1, False
                if len(queue) <= self.max_queued // 2:
                    self._resume(tp)
                if not queue or time.monotonic() - last_commit >= 1.0:
                    await self._commit(tp, next_offset)
                    committed, last_commit = True, time.monotonic()
            ended_early = released.is_set()
        except _Released:
            pass
        except Exception:
            # Not expected (every failure is retried or dead-lettered): leave the record unread.
            log.exception("consumer_worker_failed", extra={"consumer": self.name})
        finally:
            self.stats.retrying.pop(_label(tp), None)
            try:
                if next_offset is not None and not committed:
                    await self._commit(tp, next_offset)
            finally:
                self._finish(tp, ended_early)

    def _finish(self, tp: TopicPartition, ended_early: bool) -> None:
        """Hands the partition back to the poll loop; synchronous, so no poll comes between."""
        if self._workers.get(tp) is not asyncio.current_task():
            return
        del self._workers[tp]
        self._released.pop(tp, None)
        queue = self._queues.pop(tp, deque())
        if tp not in self.consumer.assignment():
            self._paused.discard(tp)
            return  # revoked: the next owner starts at the committed offset
        if queue and not ended_early and not self._stopping.is_set():
            # Records came in while the last commit was on its way: go on with them.
            self._queues[tp] = queue
            self._start_worker(tp)
            return
        if queue:
            # Stopped early: the unhandled records must be fetched again, never skipped.
            self._rewind(tp, queue[0].offset)
        if not self._stopping.is_set():
            self._resume(tp)

    async def _commit(self, tp: TopicPartition, offset: int) -> None:
        try:
            await self.consumer.commit({tp: offset})
        except (KafkaError, IllegalStateError) as error:
            # The partition moved to another member, or the broker is away: the records are
            # delivered again and the inbox makes them no-ops.
            log.warning(
                "offset_commit_failed",
                extra={"consumer": self.name, "partition": _label(tp), "error": describe(error)},
            )

    async def _process(
        self, tp: TopicPartition, record: ConsumerRecord[bytes, bytes], released: asyncio.Event
    ) -> None:
        event_type = _header(record, "event_type") or _peek_type(record.value)
        if event_type is None:
            await self._dead_letter(tp, record, "not an event envelope: no type", 0, released)
            return
        handler = self.handlers.get(event_type)
        if handler is None:
            return  # another consumer's event on a shared topic
        try:
            envelope = decode(record.value or b"")
        except (ValueError, TypeError) as error:
            await self._dead_letter(tp, record, f"undecodable event: {error}", 0, released)
            return
        if not tracing.enabled():
            # Each partition runs in its own task, so this trace id stays with this record only.
            trace_id_var.set(envelope.trace_id)
            await self._handle_with_retries(tp, record, handler, envelope, released)
            return
        attributes = {
            "messaging.consumer.group.name": self.group_id,
            "messaging.message.id": str(envelope.event_id),
            "messaging.kafka.message.key": envelope.key,
            "messaging.kafka.offset": record.offset,
            "messaging.destination.partition.id": str(record.partition),
        }
        # The CONSUMER span covers the retries and a dead letter too: the handler's queries
        # and whatever became of the record are its children.
        with tracing.consuming(
            record.topic, record.headers or (), attributes, envelope.trace_context
        ):
            trace_id_var.set(tracing.current_trace_id() or envelope.trace_id)
            await self._handle_with_retries(tp, record, handler, envelope, released)

    async def _handle_with_retries(
        self,
        tp: TopicPartition,
        record: ConsumerRecord[bytes, bytes],
        handler: Handler,
        envelope: Envelope[Payload],
        released: asyncio.Event,
    ) -> None:
        attempts = 0
        try:
            async for attempt in self._retrying(tp, released, give_up=True):
                with attempt:
                    attempts += 1
                    async with self._handler_slots:
                        await self._apply(handler, envelope)
        except _Released:
            raise
        except Exception as error:
            await self._dead_letter(
                tp,
                record,
                "".join(traceback.format_exception_only(error)).strip(),
                attempts,
                released,
            )
        finally:
            self.stats.retrying.pop(_label(tp), None)

    def _retrying(
        self, tp: TopicPartition, released: asyncio.Event, *, give_up: bool
    ) -> AsyncRetrying:
        transient_wait = backoff(self.retry_backoff_seconds, self.max_backoff_seconds)
        lasting_wait = wait_exponential(multiplier=self.retry_backoff_seconds, max=2.0)

        def wait(state: RetryCallState) -> float:
            error = failure_of(state)
            return float(
                transient_wait(state) if error and is_transient(error) else lasting_wait(state)
            )

        def stop(state: RetryCallState) -> bool:
            error = failure_of(state)
            lasting = error is not None and not is_transient(error)
            return give_up and lasting and state.attempt_number >= self.max_attempts

        async def sleep(seconds: float) -> None:
            # A revoked partition or a stopping runner leaves the record for later at once.
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(released.wait(), seconds)
            if released.is_set():
                raise _Released

        def note(state: RetryCallState) -> None:
            error = failure_of(state)
            if error is None:
                return
            transient = is_transient(error)
            if transient:
                self.stats.transient_errors += 1
                self.stats.retrying[_label(tp)] = describe(error)[:200]
                self._pause(tp)  # nothing more to fetch for it until it gets through
            log.warning(
                "handler_failed" if give_up else "dead_letter_failed",
                extra={
                    "consumer": self.name,
                    "partition": _label(tp),
                    "attempt": state.attempt_number,
                    "transient": transient,
                    "error": describe(error),
                    "retry_in_seconds": round(state.upcoming_sleep, 2),
                },
            )

        return AsyncRetrying(
            retry=retry_if_exception_type(Exception),
            wait=wait,
            stop=stop,
            sleep=sleep,
            before_sleep=note,
            reraise=True,
        )

    async def _apply(self, handler: Handler, envelope: Envelope[Payload]) -> None:
        async with self.db.begin() as tx:
            inserted = await tx.execute(
                text(
                    "INSERT INTO inbox (consumer, event_id) VALUES (:consumer, :event_id)"
                    " ON CONFLICT DO NOTHING RETURNING 1"
                ),
                {"consumer": self.group_id, "event_id": envelope.event_id},
            )
            if inserted.first() is None:
                self.stats.duplicates += 1
                return
            await handler(tx, envelope)
            if self.effect_log:
                # Committed with the handler's own writes: one row per time it took effect.
                await tx.execute(
                    text(
                        "INSERT INTO consumer_effects (consumer, event_id, event_type)"
                        " VALUES (:consumer, :event_id, :event_type)"
                    ),
                    {
                        "consumer": self.group_id,
                        "event_id": envelope.event_id,
                        "event_type": envelope.type,
                    },
                )
        self.stats.handled += 1

    async def _dead_letter(
        self,
        tp: TopicPartition,
        record: ConsumerRecord[bytes, bytes],
        error: str,
        attempts: int,
        released: asyncio.Event,
    ) -> None:
        headers = [
            *list(record.headers or []),
            ("dlq_error", error.encode()[:4000]),
            ("dlq_consumer", self.group_id.encode()),
            ("dlq_attempts", str(attempts).encode()),
            ("dlq_original_topic", record.topic.encode()),
            ("dlq_original_partition", str(record.partition).encode()),
            ("dlq_original_offset", str(record.offset).encode()),
        ]
        # Until Kafka takes the dead letter the record is neither applied nor parked: keep
        # trying (its partition stays paused), never commit past it.
        async for attempt in self._retrying(tp, released, give_up=False):
            with attempt:
                producer = await self._get_dlq_producer()
                async with asyncio.timeout(self.dead_letter_timeout_seconds):
                    await producer.send_and_wait(
                        topics.dead_letter(record.topic),
                        value=record.value,
                        key=record.key,
                        headers=headers,
                    )
        self.stats.dead_lettered += 1
        log.error(
            "event_dead_lettered",
            extra={
                "consumer": self.name,
                "topic": record.topic,
                "offset": record.offset,
                "error": error,
            },
        )

    async def _get_dlq_producer(self) -> AIOKafkaProducer:
        if self._dlq_producer is None:
            producer = new_producer(self.kafka, f"{self.name}-dlq")
            await producer.start()
            self._dlq_producer = producer
        return self._dlq_producer

    # --- rebalances and shutdown --------------------------------------------------------------

    async def _release_partitions(self, revoked: set[TopicPartition]) -> None:
        busy = [tp for tp in revoked if tp in self._workers]
        for tp in busy:
            self._released[tp].set()
        await self._stop_workers(busy, grace=self.revoke_grace_seconds)

    async def _stop_workers(self, partitions: list[TopicPartition], grace: float) -> None:
        """Waits for the workers to finish their record in hand; cancels them after `grace`
        (the transaction rolls back and the record is delivered again)."""
        workers = [self._workers[tp] for tp in partitions if tp in self._workers]
        if not workers:
            return
        _, late = await asyncio.wait(workers, timeout=grace)
        for worker in late:
            worker.cancel()
        await asyncio.gather(*workers, return_exceptions=True)
        for tp in partitions:
            self._workers.pop(tp, None)
            self._released.pop(tp, None)
            self._queues.pop(tp, None)
            self._paused.discard(tp)

    async def _record_lag(self) -> None:
        # Positions are local, but a partition without one asks the broker: once a second.
        if time.monotonic() - self._lag_recorded_at < 1.0:
            return
        self._lag_recorded_at = time.monotonic()
        consumer = self.consumer
        for tp in consumer.assignment():
            highwater = consumer.highwater(tp)
            if highwater is None:
                continue
            with contextlib.suppress(KafkaError, AssertionError, TimeoutError, IllegalStateError):
                position = await asyncio.wait_for(consumer.position(tp), 1)
                self.stats.lag[_label(tp)] = max(0, highwater - position)


class _Rebalance(ConsumerRebalanceListener):  # type: ignore[misc]
    def __init__(self, runner: ConsumerRunner) -> None:
        self.runner = runner

    async def on_partitions_revoked(self, revoked: set[TopicPartition]) -> None:
        await self.runner._release_partitions(set(revoked))

    async def on_partitions_assigned(self, assigned: set[TopicPartition]) -> None:
        log.info(
            "partitions_assigned",
            extra={"consumer": self.runner.name, "partitions": sorted(map(_label, assigned))},
        )


def _header(record: ConsumerRecord[bytes, bytes], name: str) -> str | None:
    for key, value in record.headers or []:
        if key == name:
            return bytes(value).decode(errors="replace")
    return None


def _peek_type(raw: bytes | None) -> str | None:
    try:
        data = orjson.loads(raw or b"")
    except orjson.JSONDecodeError:
        return None
    if not isinstance(data, dict):
        return None
    event_type = data.get("type")
    return str(event_type) if event_type is not None else None
