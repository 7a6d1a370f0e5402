"""Catalog benchmark: the same-day query against a bare FastAPI endpoint returning its bytes.

4 malls x 100 stores x 20,000 SKUs are seeded straight into their own database
(`catalog_bench`, reused when already seeded). The catalog service and a bare FastAPI app that
returns the same body each run under uvicorn in a process of their own, pinned to one core;
the load generators run on the other core:

- throughput: wrk, closed loop at a fixed number of connections, over 12 query points (pages
  of 20); the server's CPU share is printed beside it (near 100 % means the server is the limit);
- latency: hey at a fixed rate of half the bare endpoint's maximum (open loop), p50 and p99.

The last line is machine-readable:
`BENCH catalog rps=<x> bare_rps=<x> ratio=<x> p50_ms=<x> p99_ms=<x> ...`.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import secrets
import tempfile
import time
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import httpx
import uvicorn
from fastapi import FastAPI, Response

from bench.harness import (
    BenchError,
    CpuMeter,
    bench_line,
    bench_parser,
    check_ports,
    cores,
    free_port_base,
    machine_load,
    pin,
    profiled,
    report,
    server,
)
from bench.load import (
    HeyResult,
    WrkResult,
    get_paths_script,
    run_hey,
    run_wrk,
)
from catalog_service import usecases
from catalog_service.app import MIGRATIONS
from catalog_service.domain.seed import generate_catalog
from catalog_service.settings import CatalogSettings
from catalog_service.store import catalog
from services.infra import LOCAL, database_url
from shared.db import Db
from shared.malls import pilot_malls
from shared.migrations import upgrade
from shared.settings import DEVELOPMENT_MODE_VARIABLE
from tests.support import create_database

STORES_PER_MALL = 100
SKUS = 20_000
# A Wednesday at 11:00 in Las Vegas: every mall is open, so every query has a full page.
CLOCK_START = "2026-11-25T19:00:00+00:00"
CONNECTIONS = 32
OPEN_WORKERS = 50
WARMUP_SECONDS = 2.0


async def seed_bench_database(url: str) -> None:
    await create_database(url)
    await asyncio.to_thread(upgrade, MIGRATIONS, url)
    settings = CatalogSettings(database_url=url)
    db = Db(url, pool_size=1)
    try:
        async with db.begin() as tx:
            await usecases.ensure_malls(tx, settings)
            if await catalog.has_stores(tx):
                print("bench: catalog_bench already seeded")
                return
            started = time.monotonic()
            generated = generate_catalog(pilot_malls(), STORES_PER_MALL, SKUS)
            keys = {r.id: secrets.token_urlsafe(16) for r in generated.retailers}
            result = await usecases.save_seed(
                tx, generated, keys, datetime.fromisoformat(CLOCK_START), max_inventory_events=0
            )
            print(
                f"bench: seeded {result.stores} stores, {result.products} products, "
                f"{result.stock_rows} stock rows in {time.monotonic() - started:.1f} s"
            )
    finally:
        await db.dispose()


def query_paths() -> list[str]:
    paths = []
    for mall in pilot_malls():
        for dlat, dlng in ((0.01, 0.01), (-0.05, 0.03), (0.08, -0.06)):
            paths.append(
                f"/v1/catalog/same-day?lat={mall.lat + dlat:.4f}&lng={mall.lng + dlng:.4f}"
            )
    return paths


@dataclass(frozen=True)
class Figures:
    closed: WrkResult
    cpu_pct: float
    open: HeyResult | None = None


def closed_loop(
    base: str, paths: list[str], pid: int, args: argparse.Namespace, profile: Path | None = None
) -> Figures:
    core = cores()
    script = get_paths_script(paths)
    run_wrk(base, script, connections=args.connections, seconds=WARMUP_SECONDS, core=core.load)
    with profiled(pid, profile, args.seconds, core.load), CpuMeter(pid) as meter:
        result = run_wrk(
            base, script, connections=args.connections, seconds=args.seconds, core=core.load
        )
    if result.non_2xx or result.socket_errors:
        raise BenchError(
            f"{base}: {result.non_2xx} non-2xx answers and {result.socket_errors} socket errors"
        )
    return Figures(result, meter.percent)


def open_loop(base: str, path: str, rate: float, args: argparse.Namespace) -> HeyResult:
    result = run_hey(
        base + path, rate=rate, workers=args.workers, seconds=args.seconds, core=cores().load
    )
    bad = {status: n for status, n in result.statuses.items() if status != 200}
    if bad:
        raise BenchError(f"{base}{path}: answers other than 200: {bad}")
    return result


def bare_app(body: bytes) -> FastAPI:
    app = FastAPI()

    @app.get("/readyz")
    async def readyz() -> dict[str, str]:
        return {"status": "ready"}

    @app.get("/v1/catalog/same-day")
    async def same_day() -> Response:
        return Response(body, media_type="application/json")

    return app


def run(args: argparse.Namespace) -> str:
    # The catalog's settings (here and in the server) refuse the repository's development
    # secrets unless told this is a development machine.
    os.environ.setdefault(DEVELOPMENT_MODE_VARIABLE, "1")
    url = os.environ.get("CATALOG_BENCH_DATABASE_URL") or database_url("catalog_bench")
    asyncio.run(seed_bench_database(url))
    paths = query_paths()
    catalog_port, bare_port = args.base_port, args.base_port + 1
    check_ports([catalog_port, bare_port])
    core = cores()
    print(
        f"catalog: {machine_load()}; wrk and hey on core {core.load}, servers on core {core.server}"
    )
    env = {
        **os.environ,
        "CATALOG_DATABASE_URL": url,
        "CATALOG_PORT": str(catalog_port),
        "CATALOG_TOPIC_SUFFIX": ".bench",
        "CATALOG_CONSUMER_GROUP": "catalog.bench",
        "CATALOG_LOG_LEVEL": "WARNING",
        # wrk and hey are one caller: the per-caller limit (issue 14) stays on, set out of reach.
        "CATALOG_RATE_LIMIT_SAME_DAY": "100000000/minute",
        "MTH_CLOCK_START": CLOCK_START,
    }
    logs = LOCAL / "bench"
    with server(["-m", "catalog_service"], env, catalog_port, logs / "catalog.log") as served:
        pin(served.pid, core.server)
        base = f"http://127.0.0.1:{catalog_port}"
        bodies = [httpx.get(base + path, timeout=10).content for path in paths]
        sizes = [len(b) for b in bodies]
        items = [len(json.loads(b)["items"]) for b in bodies]
        print(
            f"catalog: {len(paths)} query points, {min(items)}-{max(items)} items per page, "
            f"{min(sizes)}-{max(sizes)} bytes"
        )
        with tempfile.NamedTemporaryFile(suffix=".json", delete=False) as handle:
            # The open loop asks for the first query point: the bare endpoint answers its bytes.
            handle.write(bodies[0])
        try:
            with server(
                ["-m", "bench.catalog", "bare", handle.name, str(bare_port)],
                dict(os.environ),
                bare_port,
                logs / "catalog-bare.log",
            ) as bare_process:
                pin(bare_process.pid, core.server)
                bare_base = f"http://127.0.0.1:{bare_port}"
                print(f"bare:    closed loop, {args.connections} connections, {args.seconds:.0f} s")
                bare = closed_loop(bare_base, paths, bare_process.pid, args)
                print(
                    f"bare:    {bare.closed.rps:.0f} requests/s, p99 {bare.closed.p99_ms:.1f} ms, "
                    f"server CPU {bare.cpu_pct:.0f} %"
                )
                print(f"catalog: closed loop, {args.connections} connections, {args.seconds:.0f} s")
                figures = closed_loop(base, paths, served.pid, args, args.profile)
                print(
                    f"catalog: {figures.closed.rps:.0f} requests/s, p99 "
                    f"{figures.closed.p99_ms:.1f} ms, server CPU {figures.cpu_pct:.0f} %"
                )
                rate = args.rate or bare.closed.rps / 2
                print(
                    f"catalog: open loop at {rate:.0f}/s (half the bare rate), "
                    f"{args.workers} senders"
                )
                latency = open_loop(base, paths[0], rate, args)
                bare_latency = open_loop(bare_base, paths[0], rate, args)
        finally:
            Path(handle.name).unlink()
    print(
        f"catalog: p50 {latency.p50_ms:.2f} ms, p99 {latency.p99_ms:.2f} ms at "
        f"{latency.rps:.0f}/s (bare: p50 {bare_latency.p50_ms:.2f} ms, "
        f"p99 {bare_latency.p99_ms:.2f} ms)"
    )
    return bench_line(
        "catalog",
        rps=figures.closed.rps,
        bare_rps=bare.closed.rps,
        ratio=figures.closed.rps / bare.closed.rps,
        p50_ms=latency.p50_ms,
        p99_ms=latency.p99_ms,
        rate=rate,
        server_cpu_pct=figures.cpu_pct,
        bare_cpu_pct=bare.cpu_pct,
        # Requests per CPU-second of each server: what the ratio would be on idle cores.
        cpu_ratio=per_cpu(figures) / per_cpu(bare),
    )


def per_cpu(figures: Figures) -> float:
    return figures.closed.rps / max(figures.cpu_pct / 100, 1e-9)


def cli(argv: list[str] | None = None) -> None:
    parser = bench_parser("catalog", __doc__)
    parser.add_argument(
        "--base-port",
        type=int,
        default=free_port_base(),
        help="the catalog listens here, the bare endpoint on the next port "
        "(default: MTH_FREE_PORT_BASE)",
    )
    parser.add_argument(
        "--connections", type=int, default=CONNECTIONS, help="closed-loop wrk connections"
    )
    parser.add_argument("--seconds", type=float, default=10.0, help="length of each measured run")
    parser.add_argument(
        "--rate", type=float, default=0.0, help="open-loop rate (default: half the bare rate)"
    )
    parser.add_argument(
        "--workers", type=int, default=OPEN_WORKERS, help="hey senders in the open loop"
    )
    parser.add_argument(
        "--profile",
        type=Path,
        help="record a py-spy profile of the catalog during the closed loop into this file "
        "(collapsed stacks; read it with `python -m bench.flames FILE`)",
    )
    commands = parser.add_subparsers(dest="command")
    bare_cmd = commands.add_parser("bare", help="(internal) serve the bare endpoint")
    bare_cmd.add_argument("body_file", type=Path)
    bare_cmd.add_argument("port", type=int)
    args = parser.parse_args(argv)
    if args.command == "bare":
        uvicorn.run(
            bare_app(args.body_file.read_bytes()),
            host="127.0.0.1",
            port=args.port,
            log_level="warning",
            access_log=False,
        )
        return
    report("catalog", lambda: run(args))


if __name__ == "__main__":
    cli()
