"""The retry policy: transient failures are waited out for as long as they last, pausing only
their partition; one that fails the same way every time gives up after a few attempts."""

from __future__ import annotations

import asyncio
import contextlib

from aiokafka import TopicPartition
from tenacity import AsyncRetrying, RetryCallState, retry_if_exception_type, wait_exponential

from shared.consumer.base import Released, RunnerState, label, log
from shared.retry import backoff, describe, failure_of, is_transient


class RetryPolicy(RunnerState):
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
                raise Released

        def note(state: RetryCallState) -> None:
            error = failure_of(state)
            if error is None:
                return
            transient = is_transient(error)
            if transient:
                self.stats.transient_errors += 1
                self.stats.retrying[label(tp)] = describe(error)[:200]
                self._pause(tp)  # nothing more to fetch for it until it gets through
            log.warning(
                "handler_failed" if give_up else "dead_letter_failed",
                extra={
                    "consumer": self.name,
                    "partition": label(tp),
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
