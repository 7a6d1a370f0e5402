"""The consumer runner's settings, counters and shared state, and the partition pauses that the
retry policy and the workers both use."""

from __future__ import annotations

import asyncio
import logging
from collections import deque
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, ConsumerRecord, TopicPartition

from shared.db import Db, Tx
from shared.events import topics
from shared.events.envelope import Envelope
from shared.kafka import KafkaTarget

# The package's name, as before the runner became a package: log filters keep working.
log = logging.getLogger("shared.consumer")

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


class Released(Exception):
    """The partition was revoked or the runner is stopping: leave the record for later."""


def label(tp: TopicPartition) -> str:
    return f"{tp.topic}:{tp.partition}"


class RunnerState:
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

    @property
    def consumer(self) -> AIOKafkaConsumer:
        if self._consumer is None:
            raise RuntimeError("consumer not started")
        return self._consumer

    def _pause(self, tp: TopicPartition) -> None:
        if tp in self.consumer.assignment():
            self.consumer.pause(tp)
            self._paused.add(tp)

    def _resume(self, tp: TopicPartition) -> None:
        if tp in self._paused:
            self._paused.discard(tp)
            if tp in self.consumer.assignment():
                self.consumer.resume(tp)
