"""The one background loop: it runs its step again and again, survives a failing step, rests a
jittered interval never longer than asked, and stops gracefully."""

from __future__ import annotations

import asyncio
import logging
import random
from collections.abc import Callable

import pytest

from shared import clock
from shared.loop import BackgroundLoop
from tests.support import eventually

DEADLINE = 10.0


async def until(condition: Callable[[], bool]) -> None:
    await eventually(condition, within=DEADLINE, interval=0.005)


async def test_a_failing_step_is_logged_and_the_loop_goes_on(
    caplog: pytest.LogCaptureFixture,
) -> None:
    calls: list[int] = []

    async def step() -> None:
        calls.append(len(calls))
        if len(calls) == 1:
            raise RuntimeError("the database restarted")

    loop = BackgroundLoop("flaky", step, 0.01, on_suite_clock=False)
    with caplog.at_level(logging.ERROR, logger="shared.loop"):
        await loop.start()
        await until(lambda: len(calls) >= 3)
        await loop.stop()

    failures = [r for r in caplog.records if r.getMessage() == "background_loop_step_failed"]
    assert len(failures) == 1
    assert failures[0].__dict__["loop"] == "flaky"
    assert failures[0].exc_info is not None
    assert not loop.is_running


async def test_work_left_over_runs_the_next_step_at_once() -> None:
    left = [3]

    async def step() -> int:
        left[0] = max(0, left[0] - 1)
        return left[0]

    # An hour's interval: only `again_at_once` can bring the backlog down in time.
    loop = BackgroundLoop(
        "drain", step, 3600, again_at_once=lambda remaining: remaining > 0, on_suite_clock=False
    )
    await loop.start()
    await until(lambda: left[0] == 0)
    await loop.stop()


async def test_the_wait_is_jittered_downwards_and_never_longer_than_the_interval() -> None:
    loop = BackgroundLoop(
        "jitter", _nothing, 10.0, jitter=0.2, on_suite_clock=False, rng=random.Random(7)
    )

    waits = [loop.wait_seconds() for _ in range(500)]

    assert all(8.0 <= wait <= 10.0 for wait in waits)
    assert max(waits) - min(waits) > 1.0


async def test_the_wait_follows_the_suite_clock() -> None:
    previous = clock.clock()
    clock.set_clock(clock.Clock(speed=60.0))
    try:
        loop = BackgroundLoop("fast", _nothing, 60.0, jitter=0.0)
        assert loop.wait_seconds() == pytest.approx(1.0)
    finally:
        clock.set_clock(previous)


async def test_stop_lets_a_running_step_finish() -> None:
    started = asyncio.Event()
    finished: list[bool] = []

    async def step() -> None:
        started.set()
        await asyncio.sleep(0.2)
        finished.append(True)

    loop = BackgroundLoop("graceful", step, 3600, on_suite_clock=False)
    await loop.start()
    await asyncio.wait_for(started.wait(), DEADLINE)
    await loop.stop()

    assert finished == [True]
    assert not loop.is_running


async def test_stop_cancels_a_step_that_outlasts_the_grace_period() -> None:
    started = asyncio.Event()
    cancelled: list[bool] = []

    async def step() -> None:
        started.set()
        try:
            await asyncio.sleep(3600)
        except asyncio.CancelledError:
            cancelled.append(True)
            raise

    loop = BackgroundLoop("stuck", step, 1.0, grace_seconds=0.05, on_suite_clock=False)
    await loop.start()
    await asyncio.wait_for(started.wait(), DEADLINE)
    await asyncio.wait_for(loop.stop(), DEADLINE)

    assert cancelled == [True]


async def test_stop_wakes_a_resting_loop_at_once_and_a_second_stop_changes_nothing() -> None:
    calls: list[int] = []

    async def step() -> None:
        calls.append(1)

    loop = BackgroundLoop("resting", step, 3600, on_suite_clock=False)
    await loop.start()
    await until(lambda: len(calls) == 1)
    # A rest of an hour ends with the stop, well within the deadline.
    await asyncio.wait_for(loop.stop(), DEADLINE)
    await loop.stop()

    assert calls == [1]


def test_a_jitter_of_the_whole_interval_or_more_is_refused() -> None:
    with pytest.raises(ValueError, match="jitter"):
        BackgroundLoop("bad", _nothing, 1.0, jitter=1.0)


async def _nothing() -> None:
    return None


async def test_a_wake_up_runs_the_next_step_at_once_and_one_during_a_step_is_not_lost() -> None:
    steps: list[int] = []
    arrived = asyncio.Event()
    release = asyncio.Event()

    async def step() -> None:
        steps.append(len(steps))
        if len(steps) == 2:
            # Work arriving while this step runs must bring on another step.
            arrived.set()
            await release.wait()

    # An hour's interval: only the wake-ups can bring on the second and third steps in time.
    loop = BackgroundLoop("woken", step, 3600, on_suite_clock=False, wake=arrived)
    await loop.start()
    await until(lambda: len(steps) == 1)
    arrived.set()
    await until(lambda: len(steps) == 2)
    release.set()
    await until(lambda: len(steps) == 3)
    await loop.stop()
    assert not loop.is_running
