from __future__ import annotations

import asyncio

from aiokafka.errors import KafkaConnectionError, MessageSizeTooLargeError

from shared.retry import backoff, delay_before_attempt, is_transient


class PgError(Exception):
    """Carries a SQLSTATE as asyncpg's errors do."""

    def __init__(self, sqlstate: str) -> None:
        super().__init__(sqlstate)
        self.sqlstate = sqlstate


def wrapped(cause: BaseException) -> Exception:
    try:
        raise RuntimeError("the driver's wrapper") from cause
    except RuntimeError as error:
        return error


def test_what_passes_by_itself_is_transient() -> None:
    for error in (
        ConnectionResetError(),
        TimeoutError(),
        KafkaConnectionError(),
        PgError("40001"),  # serialization failure
        PgError("40P01"),  # deadlock
        PgError("57P01"),  # admin shutdown: a restart
        PgError("57P03"),  # cannot connect now: starting up
        PgError("08006"),  # connection failure
        PgError("53300"),  # too many connections
        PgError("55P03"),  # lock not available
        wrapped(PgError("57P01")),
    ):
        assert is_transient(error), error


def test_what_fails_the_same_way_each_time_is_not() -> None:
    for error in (
        ValueError("bad payload"),
        KeyError("missing"),
        PgError("23505"),  # unique violation
        PgError("22P02"),  # invalid text representation
        wrapped(ValueError("bad")),
        asyncio.CancelledError(),
    ):
        assert not is_transient(error), error


def test_kafka_errors_count_as_transient_for_the_consumer() -> None:
    # A dead letter Kafka refuses is retried until it takes it: nothing is skipped meanwhile.
    assert is_transient(MessageSizeTooLargeError())


def test_the_backoff_grows_with_jitter_up_to_its_cap() -> None:
    wait = backoff(2.0, 600.0)

    first = [delay_before_attempt(wait, 1) for _ in range(50)]
    assert all(2.0 <= d <= 4.0 for d in first)
    assert len(set(first)) > 1  # jitter: many waiters do not come back together
    assert 16.0 <= delay_before_attempt(wait, 4) <= 18.0
    assert delay_before_attempt(wait, 30) <= 600.0
