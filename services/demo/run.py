"""Runs the demo: a private suite on the demo's clock, the day played, the report printed."""

from __future__ import annotations

import asyncio
import random
import time

import httpx

from services.demo.day import Demo
from services.demo.options import Options, parse_options, say, suite_env
from services.demo.results import collect
from services.demo.world import make_customers, make_drivers
from services.suite import ROOT, Suite
from services.topics import delete_topics
from shared.clock import Clock, set_clock
from shared.malls import pilot_malls


async def play(o: Options, suite: Suite) -> list[str]:
    rng = random.Random(o.seed)
    malls = pilot_malls()
    customers = make_customers(rng, malls, o.customers, o.ordering_hours * 3600)
    drivers = make_drivers(rng, malls, o.drivers_per_mall)
    limits = httpx.Limits(max_connections=64, max_keepalive_connections=32)
    async with httpx.AsyncClient(timeout=30, limits=limits) as http:
        demo = Demo(o, suite, http)
        await demo.run(customers, drivers)
        return await collect(demo)


def main(argv: list[str] | None = None) -> int:
    o = parse_options(argv)
    began = time.monotonic()
    real_start = time.time()
    # The demo paces its actors on the very clock the services run on.
    set_clock(Clock(o.start, o.speed, real_start))
    suite = Suite(
        label="demo",
        base_port=o.base_port,
        extra_env=suite_env(o, real_start),
        catalog_seed=("--stores-per-mall", str(o.stores_per_mall), "--skus", str(o.skus),
                   # The order service learns counts when it resolves offers: no event flood.
                   "--max-inventory-events", "0",
                   "--keys-file", str(ROOT / ".local" / "demo" / "catalog_keys.json")),
    )  # fmt: skip
    say(f"starting a private suite (logs in {suite.log_dir}), clock x{o.speed:g} from {o.start}")
    try:
        suite.start()
        say(f"suite ready in {time.monotonic() - began:.0f} s")
        report = asyncio.run(play(o, suite))
    finally:
        suite.stop()
        if suite.topic_suffix:
            asyncio.run(delete_topics(suite.env["KAFKA_BOOTSTRAP_SERVERS"], suite.topic_suffix))
    say(f"finished in {time.monotonic() - began:.0f} s real time")
    # The SUMMARY line is the report's last line, and the last line written.
    print("\n".join(report), flush=True)
    return 0
