"""One send of an outbox row to Kafka, and what a pass's sends come to."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from aiokafka.errors import (
    InvalidTopicError,
    KafkaError,
    MessageSizeTooLargeError,
    RecordListTooLargeError,
    RecordTooLargeError,
    TopicAuthorizationFailedError,
)
from opentelemetry.trace import Span, StatusCode

from shared.retry import describe

# Kafka refuses these the same way every time: retrying cannot help.
PERMANENT_SEND_ERRORS: tuple[type[KafkaError], ...] = (
    MessageSizeTooLargeError,
    RecordTooLargeError,
    RecordListTooLargeError,
    InvalidTopicError,
    TopicAuthorizationFailedError,
)


@dataclass
class Send:
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
            end_span(span, self.failure if answered else TimeoutError("no answer from Kafka"))

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


def end_span(span: Span | None, failure: BaseException | None) -> None:
    if span is None:
        return
    if failure is not None:
        span.record_exception(failure)
        span.set_status(StatusCode.ERROR)
    span.end()


def outcome(sends: Sequence[Send]) -> tuple[list[int], list[tuple[int, str]], list[Send]]:
    """Per key in id order: the acknowledged prefix is sent; the first row after it that
    Kafka refused for good is parked; the key stops there. Returns (sent ids, parked (id,
    error), sends still unanswered)."""
    sent: list[int] = []
    parked: list[tuple[int, str]] = []
    pending: list[Send] = []
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
