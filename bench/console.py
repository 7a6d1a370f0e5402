"""Console benchmark: how long the operator console takes to show a busy mall, in a real browser.

    python -m bench.console [--base-port N] [--routes 200] [--shipments 500] [--loads 5]

Starts its own copy of the suite (ports base+1 to base+4, on the Kafka and PostgreSQL that
`make bench` starts), writes a busy day into one mall (services/console_seed.py: the routes,
the shipments waiting and on them, their drivers), signs in from Debian's Chromium and loads the
page again and again. A load is timed from the start of navigation to the board drawn on the
map and in the lists (the page's `board-rendered` mark, two frames after it drew), so it counts
the page, the map library, sign-in check, the mall list, the board and the drawing. The first
load warms dispatch's board for the mall and is reported apart. The times are wall-clock, so
they follow the machine's load: the 1-minute load average is printed beside them. The last
line is machine-readable.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import sys
import time
from dataclasses import dataclass, field

from bench.harness import BenchError, check_ports, free_port_base
from services.browser import BrowserMissing, chromium_page
from services.console_seed import BUSY_MALL, seed_busy_mall
from services.suite import SERVICES, Suite
from services.topics import delete_topics

# Beside the other benchmarks' suites in the free port block (checkout +10, long polls +20,
# flow +30).
PORT_OFFSET = 40
UI_MS = 60_000


def say(message: str) -> None:
    print(f"[bench.console] {message}", file=sys.stderr, flush=True)


@dataclass
class Loads:
    first_ms: float = 0.0
    wall_ms: list[float] = field(default_factory=list)


async def measure(suite: Suite, token: str, loads: int, routes: int) -> Loads:
    async with chromium_page() as page:
        await page.goto(f"{suite.console_url()}#{BUSY_MALL}")
        await page.fill("#token", token)
        await page.click("#sign-in-form button[type=submit]")
        timings = []
        for _ in range(loads + 1):
            await page.reload()
            await page.wait_for_function("document.body.dataset.rendered === 'yes'", timeout=UI_MS)
            drawn = await page.evaluate("document.querySelectorAll('#map path.route').length")
            if drawn != routes:
                raise RuntimeError(f"the page drew {drawn} routes, not {routes}")
            timings.append(
                float(
                    await page.evaluate(
                        "performance.getEntriesByName('board-rendered')[0].startTime"
                    )
                )
            )
            say(f"load {len(timings)}: {timings[-1]:.0f} ms")
        return Loads(timings[0], timings[1:])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.console", description=__doc__)
    parser.add_argument(
        "--base-port",
        type=int,
        default=free_port_base() + PORT_OFFSET,
        help="the suite's ports: +1..+4 (default: MTH_FREE_PORT_BASE + 40)",
    )
    parser.add_argument("--routes", type=int, default=200)
    parser.add_argument("--shipments", type=int, default=500)
    parser.add_argument("--loads", type=int, default=5, help="timed loads after the first")
    args = parser.parse_args(argv)
    if args.loads < 1 or args.shipments < 2 * args.routes:
        parser.error("need --loads >= 1 and --shipments >= 2 x --routes")
    try:
        check_ports([args.base_port + i for i in range(1, 5)])
    except BenchError as error:
        say(f"cannot measure: {error}")
        return 1
    suite = Suite(label="bench_console", base_port=args.base_port)
    began = time.monotonic()
    try:
        say(f"starting a private suite on ports {args.base_port + 1}-{args.base_port + 4}")
        suite.start()
        token = suite.run_dev("dispatch_service.dev", "token", "--subject", "bench").strip()
        dispatch = next(s for s in SERVICES if s.name == "dispatch")
        seeded = asyncio.run(
            seed_busy_mall(
                suite.database_url(dispatch),
                suite.clock().now(),
                route_count=args.routes,
                shipment_count=args.shipments,
            )
        )
        say(
            f"{BUSY_MALL}: {len(seeded.route_ids)} routes, {len(seeded.shipment_ids)} shipments "
            f"({seeded.waiting} waiting), {len(seeded.driver_ids)} drivers"
        )
        loads = asyncio.run(measure(suite, token, args.loads, args.routes))
    except BrowserMissing as missing:
        say(f"cannot measure: {missing}")
        return 1
    finally:
        suite.stop()
        if suite.topic_suffix:
            asyncio.run(delete_topics(suite.env["KAFKA_BOOTSTRAP_SERVERS"], suite.topic_suffix))
    say(f"done in {time.monotonic() - began:.0f} s")
    # Wall-clock times depend on what else runs: the machine's load goes with them.
    print(
        f"BENCH console routes={args.routes} shipments={args.shipments} "
        f"load_ms={statistics.median(loads.wall_ms):.0f} max_ms={max(loads.wall_ms):.0f} "
        f"first_ms={loads.first_ms:.0f} "
        f"loads={len(loads.wall_ms)} loadavg={os.getloadavg()[0]:.1f}",
        flush=True,
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
