"""Catalog benchmark: the same-day query over HTTP against a bare FastAPI endpoint.

4 malls x 100 stores x 20,000 SKUs are seeded straight into their own database
(`catalog_bench`, reused when already seeded). The catalog service and a bare FastAPI app that
returns a constant body of the same size each run under uvicorn in a subprocess; a third process
drives them with concurrent httpx clients:

- closed loop (a fixed number of clients, each sending as soon as the last answer came): rps;
- open loop at 500 requests per second: p50 and p99 latency, measured from each request's
  scheduled send time, so a stall counts against the server.

The last line is machine-readable:
`BENCH catalog p50_ms=<x> p99_ms=<x> rps=<x> bare_rps=<x> ratio=<x>`.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import secrets
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path

import httpx
import uvicorn
from fastapi import FastAPI, Response

from catalog_service import usecases
from catalog_service.app import MIGRATIONS
from catalog_service.domain.seed import generate_catalog
from catalog_service.settings import CatalogSettings
from catalog_service.store import catalog
from services.infra import database_url
from shared.db import Db
from shared.malls import pilot_malls
from shared.migrations import upgrade
from tests.support import create_database

STORES_PER_MALL = 100
SKUS = 20_000
# A Wednesday at 11:00 in Las Vegas: every mall is open, so every query has a full page.
CLOCK_START = "2026-11-25T19:00:00+00:00"
CLIENTS = 16
RATE = 500
WARMUP_SECONDS = 2.0
CLOSED_SECONDS = 8.0
OPEN_SECONDS = 8.0


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


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


@contextlib.contextmanager
def server(args: list[str], env: dict[str, str], port: int) -> Iterator[str]:
    process = subprocess.Popen(
        [sys.executable, *args], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline:
            if process.poll() is not None:
                error = process.stderr.read().decode() if process.stderr else ""
                raise RuntimeError(f"server {args} exited: {error[-2000:]}")
            with contextlib.suppress(httpx.HTTPError):
                if httpx.get(f"{base}/readyz", timeout=1).status_code == 200:
                    break
            time.sleep(0.2)
        else:
            raise RuntimeError(f"server {args} not ready within 90 s")
        yield base
    finally:
        process.terminate()
        try:
            process.wait(20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def drive(base: str, paths: list[str]) -> dict[str, float]:
    """Runs the load from another process, so the driver does not share the server's loop."""
    result = subprocess.run(
        [sys.executable, "-m", "bench.catalog", "drive", base, json.dumps(paths)],
        check=True,
        capture_output=True,
        text=True,
    )
    loaded: dict[str, float] = json.loads(result.stdout.strip().splitlines()[-1])
    return loaded


def _client(base: str) -> httpx.AsyncClient:
    # One client per worker: a pool shared by many tasks makes httpx itself the bottleneck.
    limits = httpx.Limits(max_connections=1, max_keepalive_connections=1)
    return httpx.AsyncClient(base_url=base, limits=limits, timeout=30)


async def _closed_loop(clients: list[httpx.AsyncClient], paths: list[str], seconds: float) -> int:
    stop = time.monotonic() + seconds
    done = 0

    async def worker(client: httpx.AsyncClient, offset: int) -> None:
        nonlocal done
        index = offset
        while time.monotonic() < stop:
            resp = await client.get(paths[index % len(paths)])
            resp.raise_for_status()
            index += 1
            done += 1

    await asyncio.gather(*(worker(c, i) for i, c in enumerate(clients)))
    return done


async def _open_loop(
    clients: list[httpx.AsyncClient], paths: list[str], seconds: float
) -> list[float]:
    latencies: list[float] = []
    start = time.monotonic()
    count = int(RATE * seconds)
    next_index = 0

    # A sender that falls behind sends at once, and its lateness counts in the latency.
    async def sender(client: httpx.AsyncClient) -> None:
        nonlocal next_index
        while next_index < count:
            index, next_index = next_index, next_index + 1
            scheduled = start + index / RATE
            await asyncio.sleep(max(0.0, scheduled - time.monotonic()))
            resp = await client.get(paths[index % len(paths)])
            resp.raise_for_status()
            latencies.append(time.monotonic() - scheduled)

    await asyncio.gather(*(sender(c) for c in clients))
    return latencies


async def run_driver(base: str, paths: list[str]) -> dict[str, float]:
    clients = [_client(base) for _ in range(CLIENTS)]
    try:
        await _closed_loop(clients, paths, WARMUP_SECONDS)
        started = time.monotonic()
        done = await _closed_loop(clients, paths, CLOSED_SECONDS)
        rps = done / (time.monotonic() - started)
        latencies = sorted(await _open_loop(clients, paths, OPEN_SECONDS))
    finally:
        for client in clients:
            await client.aclose()
    return {
        "rps": rps,
        "p50_ms": statistics.median(latencies) * 1000,
        "p99_ms": latencies[int(len(latencies) * 0.99) - 1] * 1000,
    }


def bare_app(body: bytes) -> FastAPI:
    app = FastAPI()

    @app.get("/readyz")
    async def readyz() -> dict[str, str]:
        return {"status": "ready"}

    @app.get("/v1/catalog/same-day")
    async def same_day() -> Response:
        return Response(body, media_type="application/json")

    return app


def main() -> None:
    url = os.environ.get("CATALOG_BENCH_DATABASE_URL") or database_url("catalog_bench")
    asyncio.run(seed_bench_database(url))
    paths = query_paths()
    catalog_port, bare_port = free_port(), free_port()
    env = {
        **os.environ,
        "CATALOG_DATABASE_URL": url,
        "CATALOG_PORT": str(catalog_port),
        "CATALOG_TOPIC_SUFFIX": ".bench",
        "CATALOG_CONSUMER_GROUP": "catalog.bench",
        "CATALOG_LOG_LEVEL": "WARNING",
        "MTH_CLOCK_START": CLOCK_START,
    }
    with server(["-m", "catalog_service"], env, catalog_port) as base:
        bodies = [httpx.get(base + path, timeout=10).content for path in paths]
        served = drive(base, paths)
    sizes = [len(b) for b in bodies]
    items = [len(json.loads(b)["items"]) for b in bodies]
    body = max(bodies, key=len)
    with tempfile.NamedTemporaryFile(suffix=".json", delete=False) as handle:
        handle.write(body)
    try:
        with server(
            ["-m", "bench.catalog", "bare", handle.name, str(bare_port)],
            dict(os.environ),
            bare_port,
        ) as base:
            bare = drive(base, paths)
    finally:
        Path(handle.name).unlink()
    ratio = served["rps"] / bare["rps"]
    print(
        f"catalog: {len(paths)} query points, {min(items)}-{max(items)} items per page, "
        f"{min(sizes)}-{max(sizes)} bytes; bare body {len(body)} bytes"
    )
    print(f"catalog: closed loop, {CLIENTS} clients: {served['rps']:.0f} requests/s")
    print(f"bare:    closed loop, {CLIENTS} clients: {bare['rps']:.0f} requests/s")
    print(
        f"catalog: open loop at {RATE}/s: p50 {served['p50_ms']:.2f} ms, "
        f"p99 {served['p99_ms']:.2f} ms (bare: p50 {bare['p50_ms']:.2f}, "
        f"p99 {bare['p99_ms']:.2f})"
    )
    print(
        f"BENCH catalog p50_ms={served['p50_ms']:.2f} p99_ms={served['p99_ms']:.2f} "
        f"rps={served['rps']:.0f} bare_rps={bare['rps']:.0f} ratio={ratio:.2f}"
    )


def cli() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.catalog")
    commands = parser.add_subparsers(dest="command")
    drive_cmd = commands.add_parser("drive")
    drive_cmd.add_argument("base")
    drive_cmd.add_argument("paths")
    bare_cmd = commands.add_parser("bare")
    bare_cmd.add_argument("body_file", type=Path)
    bare_cmd.add_argument("port", type=int)
    args = parser.parse_args()
    if args.command == "drive":
        print(json.dumps(asyncio.run(run_driver(args.base, json.loads(args.paths)))))
    elif args.command == "bare":
        uvicorn.run(
            bare_app(args.body_file.read_bytes()),
            host="127.0.0.1",
            port=args.port,
            log_level="warning",
            access_log=False,
        )
    else:
        main()


if __name__ == "__main__":
    cli()
