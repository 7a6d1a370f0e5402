"""The runner: polls Kafka, hands each partition's records to that partition's worker in order,
commits offsets after the handler's transaction, and stops workers cleanly on a rebalance."""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections import deque

from aiokafka import ConsumerRecord, TopicPartition
from aiokafka.abc import ConsumerRebalanceListener
from aiokafka.errors import IllegalStateError, KafkaError

from shared.consumer.base import Released, label, log
from shared.consumer.handling import Handling
from shared.kafka import new_consumer
from shared.retry import describe


class ConsumerRunner(Handling):
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
            self._work(tp), name=f"consumer-{self.name}-{label(tp)}"
        )

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
        except Released:
            pass
        except Exception:
            # Not expected (every failure is retried or dead-lettered): leave the record unread.
            log.exception("consumer_worker_failed", extra={"consumer": self.name})
        finally:
            self.stats.retrying.pop(label(tp), None)
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
                extra={"consumer": self.name, "partition": label(tp), "error": describe(error)},
            )

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
                self.stats.lag[label(tp)] = max(0, highwater - position)


class _Rebalance(ConsumerRebalanceListener):  # type: ignore[misc]
    def __init__(self, runner: ConsumerRunner) -> None:
        self.runner = runner

    async def on_partitions_revoked(self, revoked: set[TopicPartition]) -> None:
        await self.runner._release_partitions(set(revoked))

    async def on_partitions_assigned(self, assigned: set[TopicPartition]) -> None:
        log.info(
            "partitions_assigned",
            extra={"consumer": self.runner.name, "partitions": sorted(map(label, assigned))},
        )
