"""The one way a service runs work in the background, again and again until it shuts down.

A step that fails is logged and tried again after the interval: the loop must outlive any one
failure (a database restart, a bad row). Waits are jittered downwards (never longer than the
configured interval) so replicas that started together do not keep hitting the database in step.
Stopping lets a running step finish (a round half-written is rolled back anyway, but a finished
one need not be redone) and cancels it only after a grace period.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
from collections.abc import Awaitable, Callable
from typing import Generic, TypeVar

from shared import clock

log = logging.getLogger(__name__)

T = TypeVar("T")


class BackgroundLoop(Generic[T]):
    def __init__(
        self,
        name: str,
        step: Callable[[], Awaitable[T]],
        interval_seconds: float,
        *,
        again_at_once: Callable[[T], bool] | None = None,
        jitter: float = 0.1,
        on_suite_clock: bool = True,
        grace_seconds: float = 5.0,
        rng: random.Random | None = None,
        wake: asyncio.Event | None = None,
    ) -> None:
        """`step` runs, then the loop waits `interval_seconds` (of the suite's clock unless
        `on_suite_clock` is false) less up to `jitter` of it; `again_at_once(result)` true skips
        the wait (work is left over), and so does `wake` being set (work arrived). `name` names
        the task and every log line."""
        if interval_seconds < 0:
            raise ValueError("interval_seconds must not be negative")
        if not 0 <= jitter < 1:
            raise ValueError("jitter is a fraction of the interval: 0 <= jitter < 1")
        self.name = name
        self.step = step
        self.interval_seconds = interval_seconds
        self.again_at_once = again_at_once
        self.jitter = jitter
        self.on_suite_clock = on_suite_clock
        self.grace_seconds = grace_seconds
        self._rng = rng or random.Random()
        self._wake = wake
        self._stopping = asyncio.Event()
        self._task: asyncio.Task[None] | None = None

    @property
    def is_running(self) -> bool:
        return self._task is not None and not self._task.done()

    async def start(self) -> None:
        if self.is_running:
            return
        self._stopping = asyncio.Event()
        self._task = asyncio.create_task(self._run(), name=self.name)

    async def stop(self) -> None:
        task, self._task = self._task, None
        if task is None:
            return
        self._stopping.set()
        # shield: a stop that is itself cancelled must not cancel the step it waits for.
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(asyncio.shield(task), self.grace_seconds)
        if not task.done():
            log.warning("background_loop_cancelled", extra={"loop": self.name})
            task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task

    def wait_seconds(self) -> float:
        """How long (in real seconds) the loop rests between two steps."""
        simulated = self.interval_seconds * (1 - self.jitter * self._rng.random())
        return clock.clock().real_seconds(simulated) if self.on_suite_clock else simulated

    async def _run(self) -> None:
        while not self._stopping.is_set():
            if self._wake is not None:
                # Cleared before the step: work arriving during it runs the step once more.
                self._wake.clear()
            try:
                result = await self.step()
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("background_loop_step_failed", extra={"loop": self.name})
            else:
                if self.again_at_once is not None and self.again_at_once(result):
                    continue
            await self._rest()

    async def _rest(self) -> None:
        waits = [asyncio.ensure_future(self._stopping.wait())]
        if self._wake is not None:
            waits.append(asyncio.ensure_future(self._wake.wait()))
        try:
            await asyncio.wait(
                waits, timeout=self.wait_seconds(), return_when=asyncio.FIRST_COMPLETED
            )
        finally:
            for waiting in waits:
                waiting.cancel()
