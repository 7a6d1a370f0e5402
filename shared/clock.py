"""The suite's clock. Real time by default; the demo runs every service on a compressed clock.

`MTH_CLOCK_START` (ISO 8601 with offset) and `MTH_CLOCK_SPEED` (simulated seconds per real
second) are read once, by the entrypoint, so all four services agree on what time it is.
`MTH_CLOCK_REAL_START` (Unix seconds, optional) is the wall-clock moment at which the clock reads
`MTH_CLOCK_START`; without it each process counts from its own import, and on a compressed clock
processes that import a second apart disagree by a simulated minute.
Domain code never calls this: it is given `now`.
"""

from __future__ import annotations

import asyncio
import os
import time
from datetime import UTC, datetime, timedelta


class Clock:
    def __init__(
        self, start: datetime | None = None, speed: float = 1.0, real_start: float | None = None
    ) -> None:
        if speed <= 0:
            raise ValueError("clock speed must be positive")
        self.speed = speed
        self._start = start
        self._real_start = time.time() if real_start is None else real_start

    @property
    def is_simulated(self) -> bool:
        return self._start is not None or self.speed != 1.0

    def now(self) -> datetime:
        real_elapsed = time.time() - self._real_start
        base = self._start or datetime.fromtimestamp(self._real_start, UTC)
        return base + timedelta(seconds=real_elapsed * self.speed)

    async def sleep(self, simulated_seconds: float) -> None:
        await asyncio.sleep(max(0.0, simulated_seconds / self.speed))

    def real_seconds(self, simulated_seconds: float) -> float:
        return simulated_seconds / self.speed


def clock_from_env() -> Clock:
    start = os.environ.get("MTH_CLOCK_START")
    speed = float(os.environ.get("MTH_CLOCK_SPEED", "1"))
    real_start = os.environ.get("MTH_CLOCK_REAL_START")
    return Clock(
        datetime.fromisoformat(start) if start else None,
        speed,
        float(real_start) if real_start else None,
    )


_clock = clock_from_env()


def now() -> datetime:
    return _clock.now()


def clock() -> Clock:
    return _clock


def set_clock(new: Clock) -> None:
    """For tests and the demo: put every caller of `now()` on another clock."""
    global _clock
    _clock = new
