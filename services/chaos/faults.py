"""The fault injector: one fault at a time, at random moments, on the chaos run's own processes.

- `kill_service`: kill -9 of a service process (each in turn), then it is started again;
- `kill_kafka`: kill -9 of the broker, then it is started again (its log is recovered);
- `stop_kafka`: SIGSTOP of the broker for `stop_seconds`, then SIGCONT (a long GC pause, a
  frozen VM: connections stay open and nothing answers);
- `restart_postgres`: the cluster stops (`immediate` is a crash, recovered at the start; `fast`
  ends the sessions) and starts again.

After each fault it waits until every service answers `/readyz` again before the next one, so
only one process is ever down: "a crash of any one process".
"""

from __future__ import annotations

import asyncio
import math
import random
import signal
import sys
import time
from collections import Counter
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

import httpx

from services.infra import Infra
from services.suite import SERVICES, Suite

KINDS = ("kill_service", "kill_kafka", "stop_kafka", "restart_postgres")
RESTART_TIMEOUT_S = 900.0


@dataclass
class Fault:
    kind: str
    target: str
    started: float
    recovered: float = 0.0


@dataclass
class FaultInjector:
    suite: Suite
    infra: Infra
    rng: random.Random
    stop_seconds: float = 20.0
    # Seconds between one recovery and the next fault.
    gap: tuple[float, float] = (2.0, 8.0)
    weights: dict[str, float] = field(
        default_factory=lambda: {
            "kill_service": 4.0,
            "kill_kafka": 2.0,
            "stop_kafka": 1.0,
            "restart_postgres": 2.0,
        }
    )
    log: list[Fault] = field(default_factory=list)
    _next_service: int = 0
    _postgres_mode: int = 0
    # Threads of its own: the default executor is busy resolving the actors' connections, and
    # a restart must not wait behind a hundred of them.
    _threads: ThreadPoolExecutor = field(default_factory=lambda: ThreadPoolExecutor(2))

    async def _blocking(self, fn: Callable[..., Any], *args: Any) -> None:
        await asyncio.get_running_loop().run_in_executor(self._threads, fn, *args)

    @property
    def count(self) -> int:
        return len(self.log)

    def tally(self) -> Counter[str]:
        return Counter(f.kind for f in self.log)

    async def run(
        self, keep_going: Callable[[], bool], due: Callable[[int], bool] = lambda _: True
    ) -> None:
        """Faults one after another while `keep_going()`; the next one (numbered from 1) waits
        until `due(number)` says its time has come, then a random moment more."""
        while keep_going():
            if not due(self.count + 1):
                # The orders it waits for come from the shoppers' tasks, polled like `/readyz`.
                await asyncio.sleep(0.5)
                continue
            await asyncio.sleep(self.rng.uniform(*self.gap))
            if not keep_going():
                return
            kind = self._choose()
            await self.inject(kind)

    def _choose(self) -> str:
        # Every kind comes up early, whatever the weights: each is tried at least once.
        unseen = [k for k in KINDS if k not in self.tally()]
        if unseen:
            return unseen[0]
        kinds = list(self.weights)
        return self.rng.choices(kinds, weights=[self.weights[k] for k in kinds])[0]

    async def inject(self, kind: str) -> None:
        if kind == "kill_service":
            name = SERVICES[self._next_service % len(SERVICES)].name
            self._next_service += 1
            fault = self._begin(kind, name)
            await self._blocking(self.suite.kill, name)
            # A busy machine can take minutes to start a service: that is slow, not a loss,
            # and the run goes on once it is back.
            await self._blocking(self.suite.restart, name, RESTART_TIMEOUT_S)
        elif kind == "kill_kafka":
            fault = self._begin(kind, "kafka")
            await self._blocking(self.infra.signal_kafka, signal.SIGKILL)
            await self._blocking(self.infra.start_kafka)
        elif kind == "stop_kafka":
            fault = self._begin(kind, "kafka")
            await self._blocking(self.infra.signal_kafka, signal.SIGSTOP)
            try:
                await asyncio.sleep(self.stop_seconds)
            finally:
                await self._blocking(self.infra.signal_kafka, signal.SIGCONT)
        else:
            mode = ("immediate", "fast")[self._postgres_mode % 2]
            self._postgres_mode += 1
            fault = self._begin(kind, f"postgres ({mode})")
            await self._blocking(self.infra.restart_postgres, mode)
        await self.wait_until_ready()
        fault.recovered = time.monotonic()
        say(
            f"fault {self.count}: {fault.kind} {fault.target},"
            f" recovered in {fault.recovered - fault.started:.1f} s"
        )

    def _begin(self, kind: str, target: str) -> Fault:
        fault = Fault(kind, target, time.monotonic())
        self.log.append(fault)
        return fault

    async def wait_until_ready(self, timeout: float = 180.0) -> None:
        deadline = time.monotonic() + timeout
        pending = dict(self.suite.urls)
        async with httpx.AsyncClient(timeout=3) as http:
            while pending and time.monotonic() < deadline:
                for name, url in list(pending.items()):
                    try:
                        if (await http.get(f"{url}/readyz")).status_code == 200:
                            del pending[name]
                    except httpx.HTTPError:
                        pass
                if pending:
                    await asyncio.sleep(0.5)
        if pending:
            say(f"still not ready after {timeout:.0f} s: {sorted(pending)}")


def due_after_orders(number: int, orders: int, faults: int) -> int:
    """How many orders are placed before fault `number` of `faults` is due: the faults spread
    evenly over the ordering, so the suite places orders between them instead of spending the
    run recovering from one fault after another."""
    return math.ceil(number * orders / (faults + 1))


def say(message: str) -> None:
    print(f"[chaos] {message}", file=sys.stderr, flush=True)
