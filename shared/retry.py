"""Which failures pass by themselves, and how long to wait before trying again.

A transient failure (the database restarting or failing over, a dropped connection, a
serialization failure or deadlock, a lock or pool timeout, any Kafka error) is retried for as
long as it lasts; anything else fails the same way every time (a bug, a broken contract) and is
worth only a few attempts. The waits are tenacity's capped exponential backoff with jitter.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterator

import asyncpg
import sqlalchemy.exc
from aiokafka.errors import KafkaError
from tenacity import AsyncRetrying, RetryCallState, wait_exponential_jitter

# SQLSTATE classes and codes of failures that end without anyone fixing anything:
# 08 connection exception, 53 insufficient resources (too many connections), 57 operator
# intervention (shutdown, crash recovery, cannot connect now, statement timeout), 58 system error;
# 40001 serialization failure, 40P01 deadlock, 55P03 lock not available.
_TRANSIENT_SQLSTATE_CLASSES = ("08", "53", "57", "58")
_TRANSIENT_SQLSTATES = frozenset({"40001", "40P01", "55P03"})


def _chain(error: BaseException) -> Iterator[BaseException]:
    seen: set[int] = set()
    current: BaseException | None = error
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        yield current
        current = current.__cause__ or current.__context__


def _sqlstate(error: BaseException) -> str | None:
    code = getattr(error, "sqlstate", None) or getattr(error, "pgcode", None)
    return code if isinstance(code, str) else None


def is_transient(error: BaseException) -> bool:
    """Whether trying again later can succeed without anyone changing anything."""
    if isinstance(error, asyncio.CancelledError):
        return False
    for cause in _chain(error):
        if isinstance(cause, sqlalchemy.exc.DBAPIError) and cause.connection_invalidated:
            return True
        if isinstance(
            cause,
            TimeoutError
            | OSError
            | KafkaError
            | sqlalchemy.exc.TimeoutError
            | asyncpg.exceptions.PostgresConnectionError
            | asyncpg.exceptions.ConnectionDoesNotExistError,
        ):
            return True
        code = _sqlstate(cause)
        if code is not None and (
            code in _TRANSIENT_SQLSTATES or code[:2] in _TRANSIENT_SQLSTATE_CLASSES
        ):
            return True
    return False


def is_busy(error: BaseException) -> bool:
    """A wait given up on: a lock not granted within `lock_timeout`, or no pool connection
    within the pool timeout. The same request a moment later usually goes through."""
    for cause in _chain(error):
        if isinstance(cause, sqlalchemy.exc.TimeoutError) or _sqlstate(cause) == "55P03":
            return True
    return False


def describe(error: BaseException) -> str:
    return f"{type(error).__name__}: {error}".strip().rstrip(":")


def backoff(initial: float, maximum: float) -> wait_exponential_jitter:
    """Capped exponential backoff with jitter: initial, 2x, 4x ... up to maximum, plus up to
    `initial` of noise so many waiters do not come back at the same instant."""
    return wait_exponential_jitter(multiplier=initial, max=maximum, jitter=initial)


def failure_of(state: RetryCallState) -> BaseException | None:
    outcome = state.outcome
    if outcome is None or not outcome.failed:
        return None
    return outcome.exception()


def delay_before_attempt(wait: Callable[[RetryCallState], float], attempt: int) -> float:
    """The wait a tenacity strategy gives before `attempt` + 1, for retries whose schedule is
    kept elsewhere (a database row), not in a running loop."""
    state = RetryCallState(retry_object=AsyncRetrying(), fn=None, args=(), kwargs={})
    state.attempt_number = attempt
    return float(wait(state))
