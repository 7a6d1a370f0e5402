"""`make chaos`: the suite under kill -9, broker freezes and database restarts, then a reckoning.

It starts its own PostgreSQL and Kafka (in `.local/chaos/`, on ports from `--base-port`) and its
own copy of the four services on a compressed clock, and drives checkouts through the whole
flow with the demo's shoppers, store POS systems and drivers while a fault injector kills and
restarts, at random moments, each service process, the broker (kill -9, and SIGSTOP for 20 s)
and PostgreSQL. When the orders are placed and the faults done, it measures how long the
backlog the faults left takes to drain, lets the actors finish, and reconciles the four
databases and the topics (`services/chaos/reconcile.py`). The last line:

CHAOS orders=<n> faults=<n> lost=<n> duplicate_effects=<n> inversions=<n> double_assigned=<n>
stock_drift=<n> stuck=<n> drain_seconds=<x>
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import random
import signal
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

import asyncpg
import httpx

from services import infra
from services.chaos.drain import snapshot, wait_for_drain
from services.chaos.evidence import TERMINAL, Reconciliation, fetch
from services.chaos.faults import FaultInjector, due_after_orders
from services.chaos.reconcile import reconcile
from services.chaos.traffic import ChaosTraffic, RetryingTransport
from services.demo import Options, suite_env
from services.suite import ROOT, SERVICES, Suite
from services.topics import delete_topics
from shared.clock import Clock, set_clock

# Wednesday 18:05 UTC: every pilot mall is open (Las Vegas from 10:00 local) and takes same-day
# orders until 00:30 UTC (Tysons closes at 21:00 local, 90 minutes after its cutoff).
CHAOS_START = "2026-11-25T18:05:00+00:00"
ORDERING_WINDOW_S = 6.4 * 3600
# The clock is set for orders placed at a quarter of --rate, and at most SLOW_RATE a second (a
# 2-core machine shared with four other test runs, load average 20-25, placed 0.3-0.5 a second
# under faults): a slow run still places its last order while every mall takes same-day orders.
RATE_MARGIN = 4.0
SLOW_RATE = 0.25
SPEED_RANGE = (2.0, 10.0)


@dataclass(frozen=True)
class ChaosOptions:
    orders: int
    faults: int
    base_port: int
    rate: float
    shoppers: int
    speed: float
    drivers_per_mall: int
    stores_per_mall: int
    skus: int
    stock_scale: int
    settle_seconds: float
    drain_limit_seconds: float
    seed: int
    keep_infra: bool


def parse_options(argv: Sequence[str] | None = None) -> ChaosOptions:
    p = argparse.ArgumentParser(prog="python -m services.chaos", description=__doc__)
    p.add_argument("--orders", type=int, default=2000, help="orders to place (default 2000)")
    p.add_argument("--faults", type=int, default=30, help="at least this many faults")
    p.add_argument(
        "--base-port",
        type=int,
        # A worktree's env file names a free block of ports; chaos takes it when set.
        default=int(os.environ.get("MTH_FREE_PORT_BASE", "18200")),
        help="services on base+1..4, PostgreSQL base+10, Kafka base+11 and base+12"
        " (default: $MTH_FREE_PORT_BASE, else 18200)",
    )
    p.add_argument("--rate", type=float, default=4.0, help="shoppers arriving per real second")
    p.add_argument("--shoppers", type=int, default=16, help="shoppers shopping at one time")
    p.add_argument(
        "--speed",
        type=float,
        default=0.0,
        help="simulated seconds per real second (default: as fast as lets every order be"
        " placed while all four malls take same-day orders)",
    )
    p.add_argument("--drivers-per-mall", type=int, default=15)
    p.add_argument("--stores-per-mall", type=int, default=6)
    p.add_argument("--skus", type=int, default=400)
    p.add_argument(
        "--settle-seconds",
        type=float,
        default=0.0,
        help="after the faults, how long the actors may take to finish the open orders"
        " (default: 45 simulated minutes, 2 to 5 real minutes); the reckoning does not need"
        " them finished, only every open order explained by its last event",
    )
    p.add_argument(
        "--stock-scale",
        type=int,
        default=0,
        help="multiplies the seeded stock (default: enough that no item sells out)",
    )
    p.add_argument("--drain-limit-seconds", type=float, default=300.0)
    p.add_argument("--seed", type=int, default=11)
    p.add_argument(
        "--keep-infra", action="store_true", help="leave the chaos PostgreSQL and Kafka running"
    )
    a = p.parse_args(argv)
    if (
        a.orders < 1
        or a.faults < 0
        or a.rate <= 0
        or a.speed < 0
        or a.drivers_per_mall < 1
        or a.shoppers < 1
        or a.stock_scale < 0
    ):
        p.error(
            "need orders >= 1, faults >= 0, rate > 0, speed >= 0, drivers-per-mall >= 1,"
            " shoppers >= 1, stock-scale >= 0"
        )
    speed = a.speed or clock_speed(a.orders, a.rate)
    return ChaosOptions(
        orders=a.orders,
        faults=a.faults,
        base_port=a.base_port,
        rate=a.rate,
        shoppers=a.shoppers,
        speed=speed,
        drivers_per_mall=a.drivers_per_mall,
        stores_per_mall=a.stores_per_mall,
        skus=a.skus,
        stock_scale=a.stock_scale or stock_scale(a.orders),
        settle_seconds=a.settle_seconds or min(300.0, max(120.0, 45 * 60 / speed)),
        drain_limit_seconds=a.drain_limit_seconds,
        seed=a.seed,
        keep_infra=a.keep_infra,
    )


def clock_speed(orders: int, rate: float) -> float:
    """Simulated seconds per real second: the ordering must end before the first mall stops
    taking same-day orders even at a quarter of the planned rate (and at SLOW_RATE); within
    SPEED_RANGE, since a slower clock makes the drivers' routes take longer in real time."""
    planned_real_s = orders / min(rate / RATE_MARGIN, SLOW_RATE)
    return max(SPEED_RANGE[0], min(SPEED_RANGE[1], ORDERING_WINDOW_S / planned_real_s))


def stock_scale(orders: int) -> int:
    """The seeded stock times this: the shoppers near one mall see the same few dozen items
    first, and 2,000 orders of one or two items each sold them out at the seed's 1-15 units."""
    return max(1, orders // 20)


def _interrupt(signum: int, frame: object) -> None:
    raise KeyboardInterrupt(f"signal {signum}")


def say(message: str) -> None:
    print(f"[chaos] {message}", file=sys.stderr, flush=True)


def chaos_infra(o: ChaosOptions) -> infra.Infra:
    return infra.Infra(
        home=infra.LOCAL / "chaos",
        pg_port=o.base_port + 10,
        kafka_port=o.base_port + 11,
        controller_port=o.base_port + 12,
        heap="384m",
        # A broker killed thirty times should come back fast: C1 only, a small collector.
        jvm_flags=("-XX:TieredStopAtLevel=1", "-XX:+UseSerialGC", "-Xshare:auto"),
    )


def demo_options(o: ChaosOptions) -> Options:
    return Options(
        customers=o.orders,
        demand=1.0,
        stores_per_mall=o.stores_per_mall,
        drivers_per_mall=o.drivers_per_mall,
        skus=o.skus,
        ordering_hours=o.orders / o.rate * o.speed / 3600,
        speed=o.speed,
        start=datetime.fromisoformat(CHAOS_START),
        # A batching round every 30 real seconds, whatever the clock.
        batch_minutes=max(5.0, 0.5 * o.speed),
        prep_minutes=(2.0, 6.0),
        max_drain_hours=1.0,
        seed=o.seed,
        out=Path("out/chaos"),
        base_port=o.base_port,
    )


def chaos_env(d: Options, real_start: float) -> dict[str, str]:
    env = suite_env(d, real_start)
    for service in SERVICES:
        prefix = service.env_prefix
        # What the reconciliation reads: every applied event, every outbox row of the run.
        env[f"{prefix}_CONSUMER_EFFECT_LOG"] = "true"
        env[f"{prefix}_OUTBOX_RETENTION_SECONDS"] = str(7 * 86_400)
        # A restart lasts seconds: come back within seconds of it.
        env[f"{prefix}_CONSUMER_MAX_BACKOFF_SECONDS"] = "5"
    env["DISPATCH_SOLVE_SECONDS"] = "0.5"
    # An idle driver reports its position every 60 real seconds (`start_actors`): still fresh.
    env["DISPATCH_POSITION_FRESH_SECONDS"] = f"{150 * d.speed:g}"
    # Timeouts meant for people, in real seconds: a store or a driver kept away by a fault for
    # half a minute still gets its turn.
    env["ORDER_RESERVATION_TTL_SECONDS"] = f"{180 * d.speed:g}"
    env["DISPATCH_OFFER_TTL_SECONDS"] = f"{90 * d.speed:g}"
    return env


async def orders_by_status(suite: Suite) -> dict[str, int]:
    order_db = suite.database_url(SERVICES[1])
    rows = await fetch(order_db, "SELECT status, count(*) AS n FROM orders GROUP BY status")
    return {r["status"]: int(r["n"]) for r in rows}


async def progress(suite: Suite, traffic: ChaosTraffic, injector: FaultInjector) -> None:
    began = time.monotonic()
    while True:
        await asyncio.sleep(15)
        with contextlib.suppress(OSError, asyncpg.PostgresError, TimeoutError):
            statuses = await orders_by_status(suite)
            done = sum(n for s, n in statuses.items() if s in TERMINAL)
            say(
                f"{time.monotonic() - began:4.0f} s: orders placed {len(traffic.orders)},"
                f" finished {done}; faults {injector.count}; routes {len(traffic.routes)}"
            )


async def settle(suite: Suite, limit: float) -> bool:
    """Waits until every order is in a terminal state; False if `limit` passes first."""
    deadline = time.monotonic() + limit
    while time.monotonic() < deadline:
        with contextlib.suppress(OSError, asyncpg.PostgresError, TimeoutError):
            statuses = await orders_by_status(suite)
            if all(status in TERMINAL for status in statuses):
                return True
        await asyncio.sleep(2)
    return False


async def play(o: ChaosOptions, d: Options, suite: Suite, chaos: infra.Infra) -> list[str]:
    bootstrap = chaos.kafka_bootstrap()
    limits = httpx.Limits(max_connections=128, max_keepalive_connections=64)
    transport = RetryingTransport(httpx.AsyncHTTPTransport(limits=limits))
    # A checkout that waits a minute on a loaded machine is slow, not failed: a client that gave
    # up at 30 s and sent it again found it still in progress (409), and the shopper left.
    async with httpx.AsyncClient(transport=transport, timeout=120) as http:
        traffic = ChaosTraffic(d, suite, http)
        await traffic.start_actors(
            o.drivers_per_mall, driver_tick_s=10.0, driver_refresh_s=60.0, pos_poll_s=10.0
        )
        say(
            f"{len(traffic.drivers)} drivers online, {len(traffic.actors) - len(traffic.drivers)}"
            f" store POS; {o.orders} orders at up to {o.rate:g}/s with at least {o.faults}"
            f" faults; clock x{o.speed:.1f} from {d.start:%H:%M}Z"
        )
        injector = FaultInjector(suite, chaos, random.Random(o.seed))
        ordering = True
        began = time.monotonic()

        def due(number: int) -> bool:
            placed = len(traffic.orders)
            return not ordering or placed >= due_after_orders(number, o.orders, o.faults)

        faults = asyncio.create_task(injector.run(lambda: injector.count < o.faults, due))
        watcher = asyncio.create_task(progress(suite, traffic, injector))
        try:
            closes_at = d.start + timedelta(seconds=ORDERING_WINDOW_S)
            await traffic.shoppers(o.orders, o.rate, closes_at, at_once=o.shoppers)
            ordering = False
            say(f"{len(traffic.orders)} orders placed in {time.monotonic() - began:.0f} s")
            if len(traffic.orders) < o.orders:
                say("same-day ordering closed for the day first: try a lower --speed")
            await faults
            say(f"{injector.count} faults done: {dict(injector.tally())}")
            cutoff = await snapshot(suite, bootstrap)
            drain_seconds, drained = await wait_for_drain(
                suite, bootstrap, cutoff, o.drain_limit_seconds
            )
            say(f"the backlog the faults left drained in {drain_seconds:.1f} s")
            settled = await settle(suite, o.settle_seconds)
            if not settled:
                say(f"orders still open {o.settle_seconds:.0f} s after the faults")
        finally:
            faults.cancel()
            watcher.cancel()
            await asyncio.gather(faults, watcher, return_exceptions=True)
            await traffic.stop_actors()
    # Nothing new is written now: let the last events land before counting.
    await wait_for_drain(suite, bootstrap, await snapshot(suite, bootstrap), o.drain_limit_seconds)
    result = await reconcile(suite, bootstrap)
    # Every order the order service took, also one whose shopper never saw the answer.
    placed = sum((await orders_by_status(suite)).values())
    return report(o, placed, traffic, injector, transport, result, drain_seconds, drained)


def report(
    o: ChaosOptions,
    placed: int,
    traffic: ChaosTraffic,
    injector: FaultInjector,
    transport: RetryingTransport,
    r: Reconciliation,
    drain_seconds: float,
    drained: bool,
) -> list[str]:
    lines = [
        f"orders: {placed} at the order service, {len(traffic.orders)} seen placed by their"
        " shoppers (a shopper who gave up waiting never saw the rest)",
        f"faults: {', '.join(f'{k} x{n}' for k, n in sorted(injector.tally().items()))}",
        f"events written {r.events}, applied {r.applied};"
        f" requests retried by the clients: {dict(transport.retries)}",
        "actions: " + ", ".join(f"{k} x{n}" for k, n in sorted(traffic.counts.items())),
    ]
    if traffic.problems:
        lines.append(
            "refused or failed calls: "
            + ", ".join(f"{k} x{n}" for k, n in traffic.problems.most_common(12))
        )
    scanner = traffic.scanner
    lines.append(f"responses leak-checked {scanner.responses_checked}, leaks {len(scanner.leaks)}")
    lines += [f"LEAK {leak}" for leak in traffic.scanner.leaks[:10]]
    lines += r.details
    if not drained:
        lines.append(f"the backlog did not drain within {o.drain_limit_seconds:.0f} s")
    lines += incomplete_flow(traffic)
    lines.append(
        f"CHAOS orders={placed} faults={injector.count} lost={r.lost}"
        f" duplicate_effects={r.duplicate_effects} inversions={r.inversions}"
        f" double_assigned={r.double_assigned} stock_drift={r.stock_drift} stuck={r.stuck}"
        f" drain_seconds={drain_seconds:.1f}"
    )
    return lines


def incomplete_flow(traffic: ChaosTraffic) -> list[str]:
    """Why the run did not drive the whole flow (its CHAOS line then proves less than it says)."""
    problems = [f"INCOMPLETE an actor loop died: {error}" for error in traffic.died[:5]]
    if len(traffic.died) > 5:
        problems.append(f"INCOMPLETE {len(traffic.died) - 5} more actor loops died")
    if traffic.orders and not traffic.routes:
        problems.append("INCOMPLETE no driver accepted a route: dispatch and drivers went untested")
    return problems


def main(argv: Sequence[str] | None = None) -> int:
    o = parse_options(argv)
    # `kill <pid>` stops it as Ctrl-C does: the suite, its PostgreSQL and Kafka stop with it.
    signal.signal(signal.SIGTERM, _interrupt)
    began = time.monotonic()
    chaos = chaos_infra(o)
    say(f"starting its own PostgreSQL ({chaos.pg_port}) and Kafka ({chaos.kafka_port})")
    chaos.up()
    d = demo_options(o)
    real_start = time.time()
    set_clock(Clock(d.start, d.speed, real_start))
    suite = Suite(
        label="chaos",
        base_port=o.base_port,
        infra=chaos,
        extra_env=chaos_env(d, real_start),
        catalog_seed=("--stores-per-mall", str(o.stores_per_mall), "--skus", str(o.skus),
                      "--max-inventory-events", "0", "--stock-scale", str(o.stock_scale),
                      "--keys-file", str(ROOT / ".local" / "chaos" / "catalog_keys.json")),
    )  # fmt: skip
    report_lines: list[str] = []
    try:
        # Four services migrating and joining their groups took over 120 s at load 35.
        suite.start(timeout=900)
        say(f"suite ready in {time.monotonic() - began:.0f} s (logs in {suite.log_dir})")
        report_lines = asyncio.run(play(o, d, suite, chaos))
    finally:
        suite.stop()
        if suite.topic_suffix:
            with contextlib.suppress(Exception):
                asyncio.run(delete_topics(chaos.kafka_bootstrap(), suite.topic_suffix))
        if not o.keep_infra:
            chaos.down()
    say(f"finished in {time.monotonic() - began:.0f} s")
    # The CHAOS line is the report's last line, and the last line written.
    print("\n".join(report_lines), flush=True)
    return 1 if any(line.startswith("INCOMPLETE") for line in report_lines) else 0


if __name__ == "__main__":
    raise SystemExit(main())
