"""Checkout benchmark: full checkouts against a bare asyncpg endpoint in the same framework.

A copy of the catalog and order services (`services.suite`, databases and topics of its own) runs
on ports from `--base-port`; the order service, the server under test, is pinned to one core, and
wrk with the catalog to the other. Every request is a full checkout with a new Idempotency-Key: a
cart of 1-3 lines of one mall, the malls and their SKUs drawn at random from real offer ids the
catalog handed out, with a real customer JWT. 201 is an order placed; 409 (sold out, or a key
still in progress) counts as a conflict; anything else is an error.

The bare ceiling is FastAPI + asyncpg doing one transaction of one INSERT and one conditional
UPDATE per request, driven by the same wrk script. The run at all four malls is repeated with
every cart from one mall: checkouts of one mall must not queue behind each other.

The last lines are machine-readable:
`BENCH checkout rps=<x> bare_rps=<x> ratio=<x> p99_ms=<x> conflicts=<n> ...` and
`BENCH checkout_one_mall rps=<x> ratio=<x> p99_ms=<x> conflicts=<n> ...`.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import time
from dataclasses import dataclass
from pathlib import Path

import uvicorn

from bench.checkout_bare import bare_app, prepare_bare
from bench.checkout_carts import checkout_script, collect_offers, first_checkout
from bench.harness import (
    CpuMeter,
    bench_line,
    bench_parser,
    check_ports,
    cores,
    cpu_seconds,
    free_port_base,
    machine_load,
    pin,
    profiled,
    report,
    server,
)
from bench.load import (
    WrkResult,
    run_wrk,
)
from order_service.dev import customer_token
from order_service.settings import OrderSettings
from services.infra import LOCAL, database_url
from services.suite import ROOT, Suite
from shared.db import asyncpg_dsn

PORT_OFFSET = 10
# A Wednesday at 11:00 in Las Vegas: every mall is open and takes same-day orders.
CLOCK_START = "2026-11-25T19:00:00+00:00"
CUSTOMERS = 64


# ---------------------------------------------------------------- runs


@dataclass(frozen=True)
class Run:
    result: WrkResult
    cpu_pct: float
    cpu_ms_per_request: float

    @property
    def placed(self) -> int:
        return self.result.counters.get("placed", 0)

    @property
    def conflicts(self) -> int:
        return self.result.counters.get("conflicts", 0)

    @property
    def errors(self) -> int:
        return sum(n for k, n in self.result.counters.items() if k.startswith("status_"))

    @property
    def rps(self) -> float:
        """Orders placed (or bare transactions done) per second: conflicts are no throughput."""
        return self.placed / self.result.seconds if self.result.seconds else 0.0


def drive(
    url: str, script: str, pid: int, connections: int, seconds: float, profile: Path | None = None
) -> Run:
    core = cores()
    cpu = cpu_seconds(pid)
    with profiled(pid, profile, seconds, core.load), CpuMeter(pid) as meter:
        result = run_wrk(url, script, connections=connections, seconds=seconds, core=core.load)
    spent = cpu_seconds(pid) - cpu
    done = max(1, result.requests)
    run = Run(result, meter.percent, spent / done * 1000)
    print(
        f"  {connections:>3} connections: {run.rps:.0f} placed/s, p50 {result.p50_ms:.1f} ms, "
        f"p99 {result.p99_ms:.1f} ms, {run.conflicts} conflicts, {run.errors} errors, "
        f"server CPU {meter.percent:.0f} % ({run.cpu_ms_per_request:.1f} ms per request)"
    )
    if result.socket_errors:
        print(f"  wrk: {result.socket_errors} socket errors (timeouts count here)")
    return run


def run(args: argparse.Namespace) -> list[str]:
    core = cores()
    suite_base = args.base_port
    bare_port = args.base_port + 9
    check_ports([suite_base + 1, suite_base + 2, bare_port])
    print(
        f"checkout: {machine_load()}; wrk and the catalog on core {core.load}, "
        f"the order service on {core.server}"
    )
    started = time.monotonic()
    suite = Suite(
        label="benchcheckout",
        base_port=suite_base,
        only=("catalog", "order"),
        extra_env={
            "MTH_CLOCK_START": CLOCK_START,
            "MTH_CLOCK_REAL_START": str(time.time()),
            "CATALOG_LOG_LEVEL": "WARNING",
        },
        catalog_seed=(
            f"--stores-per-mall={args.stores_per_mall}",
            f"--skus={args.skus}",
            "--max-inventory-events=0",
            f"--keys-file={ROOT / '.local' / 'benchcheckout' / 'catalog_retailer_keys.json'}",
        ),
    )
    lines = []
    try:
        suite.start()
        order_pid = suite.processes["order"].pid
        pin(order_pid, core.server)
        pin(suite.processes["catalog"].pid, core.load)
        malls = asyncio.run(collect_offers(suite.urls["catalog"]))
        # The suite's services run in development mode: the tokens are signed with its secret.
        settings = OrderSettings(
            database_url=suite.env["ORDER_DATABASE_URL"], development_mode=True
        )
        tokens = [customer_token(settings, f"bench-{i}", 24) for i in range(CUSTOMERS)]
        asyncio.run(first_checkout(suite.urls["order"], tokens[0], malls[0], 120))
        offers = sum(len(m.offer_ids) for m in malls)
        print(
            f"checkout: suite ready in {time.monotonic() - started:.0f} s; {offers} offers over "
            f"{len(malls)} malls, {CUSTOMERS} customers"
        )
        order_url = suite.urls["order"]
        run_wrk(
            order_url,
            checkout_script(malls, tokens, "warm"),
            connections=8,
            seconds=3,
            core=core.load,
        )
        runs: dict[int, Run] = {}
        print("checkout, all four malls:")
        for connections in args.connections:
            script = checkout_script(malls, tokens, f"all{connections}")
            profile = args.profile if connections == args.connections[-1] else None
            runs[connections] = drive(
                order_url, script, order_pid, connections, args.seconds, profile
            )
        print(f"checkout, one mall ({malls[0].mall.id}):")
        target = args.connections[-1] if 32 not in args.connections else 32
        one = drive(
            order_url,
            checkout_script(malls[:1], tokens, "one"),
            order_pid,
            target,
            args.seconds,
        )
        bare_url = database_url("checkout_bare")
        asyncio.run(prepare_bare(bare_url, [o for m in malls for o in m.offer_ids]))
        with server(
            ["-m", "bench.checkout", "bare", asyncpg_dsn(bare_url), str(bare_port)],
            dict(os.environ),
            bare_port,
            LOCAL / "bench" / "checkout-bare.log",
        ) as bare_process:
            pin(bare_process.pid, core.server)
            base = f"http://127.0.0.1:{bare_port}"
            print("bare asyncpg endpoint:")
            run_wrk(
                base,
                checkout_script(malls, tokens, "bwarm"),
                connections=8,
                seconds=2,
                core=core.load,
            )
            bare = drive(
                base, checkout_script(malls, tokens, "bare"), bare_process.pid, target, args.seconds
            )
    finally:
        suite.stop()
    main = runs[target]
    lines.append(
        bench_line(
            "checkout",
            rps=main.rps,
            bare_rps=bare.rps,
            ratio=main.rps / bare.rps if bare.rps else 0.0,
            p99_ms=main.result.p99_ms,
            conflicts=main.conflicts,
            connections=target,
            errors=main.errors,
            server_cpu_pct=main.cpu_pct,
            cpu_ms_per_checkout=main.cpu_ms_per_request,
        )
    )
    lines.append(
        bench_line(
            "checkout_one_mall",
            rps=one.rps,
            ratio=one.rps / bare.rps if bare.rps else 0.0,
            p99_ms=one.result.p99_ms,
            conflicts=one.conflicts,
            vs_all_malls=one.rps / main.rps if main.rps else 0.0,
            errors=one.errors,
        )
    )
    return lines


def cli(argv: list[str] | None = None) -> None:
    parser = bench_parser("checkout", __doc__)
    parser.add_argument(
        "--base-port",
        type=int,
        default=free_port_base() + PORT_OFFSET,
        help="catalog on +1, order on +2, the bare endpoint on +9 (default: MTH_FREE_PORT_BASE+10)",
    )
    parser.add_argument(
        "--connections",
        type=lambda text: [int(n) for n in text.split(",")],
        default=[32],
        help="comma-separated concurrency levels, e.g. 8,32,100 (the BENCH line is at 32)",
    )
    parser.add_argument("--seconds", type=float, default=15.0, help="length of each measured run")
    parser.add_argument("--stores-per-mall", type=int, default=20)
    parser.add_argument(
        "--profile",
        type=Path,
        help="record a py-spy profile of the order service during the last all-malls run into "
        "this file (collapsed stacks; read it with `python -m bench.flames FILE`)",
    )
    parser.add_argument("--skus", type=int, default=5000)
    commands = parser.add_subparsers(dest="command")
    bare_cmd = commands.add_parser("bare", help="(internal) serve the bare endpoint")
    bare_cmd.add_argument("dsn")
    bare_cmd.add_argument("port", type=int)
    args = parser.parse_args(argv)
    if args.command == "bare":
        uvicorn.run(
            bare_app(args.dsn, pool_size=10),
            host="127.0.0.1",
            port=args.port,
            log_level="warning",
            access_log=False,
        )
        return
    report("checkout", lambda: run(args))


if __name__ == "__main__":
    cli()
