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
import contextlib
import os
import sys
import time
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import asyncpg
import httpx
import orjson
import uvicorn
from fastapi import FastAPI, Request, Response

from bench.harness import (
    BenchError,
    CpuMeter,
    WrkResult,
    bench_line,
    check_ports,
    cores,
    cpu_seconds,
    free_port_base,
    lua_list,
    lua_string,
    machine_load,
    pin,
    profiled,
    run_wrk,
    server,
)
from order_service.dev import customer_token
from order_service.settings import OrderSettings
from services.infra import LOCAL, database_url
from services.suite import ROOT, Suite
from shared.db import asyncpg_dsn
from shared.malls import Mall, pilot_malls
from tests.support import create_database

PORT_OFFSET = 10
# A Wednesday at 11:00 in Las Vegas: every mall is open and takes same-day orders.
CLOCK_START = "2026-11-25T19:00:00+00:00"
CUSTOMERS = 64
OFFER_PAGES = 5


@dataclass(frozen=True)
class MallCarts:
    mall: Mall
    offer_ids: list[str]

    def address(self) -> dict[str, object]:
        return {
            "line1": "1420 Desert Willow Dr",
            "city": "Benchtown",
            "region": "NV",
            "postal_code": "89104",
            "lat": round(self.mall.lat + 0.01, 5),
            "lng": round(self.mall.lng + 0.01, 5),
        }


def checkout_script(malls: list[MallCarts], tokens: list[str], phase: str) -> str:
    """wrk script: a new Idempotency-Key and a random cart of one mall per request."""
    contact = {"name": "Bench Customer", "phone": "+17025550142"}
    mall_tables = ",\n".join(
        "{ rest = "
        + lua_string(
            '"address":'
            + orjson.dumps(m.address()).decode()
            + ',"contact":'
            + orjson.dumps(contact).decode()
        )
        + ", offers = "
        + lua_list(m.offer_ids)
        + " }"
        for m in malls
    )
    return f"""
counters = {{}}
local malls = {{ {mall_tables} }}
local tokens = {lua_list(tokens)}
local phase = {lua_string(phase)}
local next_thread = 1
local n = 0

function bench_setup(thread)
  thread:set("thread_id", next_thread)
  next_thread = next_thread + 1
end

function init(args)
  math.randomseed((thread_id or 1) * 7919 + os.time())
end

function request()
  n = n + 1
  local mall = malls[math.random(#malls)]
  local lines, used = {{}}, {{}}
  for i = 1, math.random(3) do
    local offer = mall.offers[math.random(#mall.offers)]
    if not used[offer] then
      used[offer] = true
      table.insert(lines, '{{"offer_id":"' .. offer .. '","quantity":1}}')
    end
  end
  local body = '{{"lines":[' .. table.concat(lines, ",") .. '],' .. mall.rest .. '}}'
  local headers = {{
    ["Content-Type"] = "application/json",
    ["Authorization"] = "Bearer " .. tokens[math.random(#tokens)],
    ["Idempotency-Key"] = string.format("%s-%d-%d", phase, thread_id or 1, n),
  }}
  return wrk.format("POST", "/v1/checkout", headers, body)
end

function response(status, headers, body)
  local name = "status_" .. status
  if status == 201 then name = "placed" elseif status == 409 then name = "conflicts" end
  counters[name] = (counters[name] or 0) + 1
end
"""


async def collect_offers(catalog_url: str) -> list[MallCarts]:
    malls = []
    async with httpx.AsyncClient(base_url=catalog_url, timeout=30) as http:
        for mall in pilot_malls():
            offer_ids: list[str] = []
            cursor = None
            for _ in range(OFFER_PAGES):
                params: dict[str, str | float | int] = {
                    "lat": mall.lat + 0.01,
                    "lng": mall.lng + 0.01,
                    "limit": 100,
                }
                if cursor:
                    params["cursor"] = cursor
                response = await http.get("/v1/catalog/same-day", params=params)
                response.raise_for_status()
                page = response.json()
                offer_ids += [item["offer_id"] for item in page["items"]]
                cursor = page["next_cursor"]
                if not cursor:
                    break
            if not offer_ids:
                raise BenchError(f"the catalog offers nothing near {mall.id}: is it open?")
            malls.append(MallCarts(mall, offer_ids))
    return malls


async def first_checkout(order_url: str, token: str, carts: MallCarts, within: float) -> None:
    """Waits until the order service places an order (it learns the stores from Kafka first)."""
    body = {
        "lines": [{"offer_id": carts.offer_ids[0], "quantity": 1}],
        "address": carts.address(),
        "contact": {"name": "Bench Customer", "phone": "+17025550142"},
    }
    deadline = time.monotonic() + within
    last = ""
    async with httpx.AsyncClient(base_url=order_url, timeout=30) as http:
        while time.monotonic() < deadline:
            response = await http.post(
                "/v1/checkout",
                json=body,
                headers={"Authorization": f"Bearer {token}", "Idempotency-Key": str(uuid.uuid4())},
            )
            if response.status_code == 201:
                return
            last = f"{response.status_code} {response.text[:300]}"
            await asyncio.sleep(0.5)
    raise BenchError(f"no checkout succeeded within {within:.0f} s; the last answer: {last}")


# ---------------------------------------------------------------- the bare endpoint

BARE_SCHEMA = """
DROP TABLE IF EXISTS bare_orders, bare_stock;
CREATE TABLE bare_orders (
  id uuid PRIMARY KEY, idempotency_key text NOT NULL, body bytea NOT NULL,
  created_at timestamptz NOT NULL DEFAULT now()
);
CREATE TABLE bare_stock (offer_id text PRIMARY KEY, quantity bigint NOT NULL);
"""


async def prepare_bare(url: str, offer_ids: list[str]) -> None:
    await create_database(url)
    conn = await asyncpg.connect(asyncpg_dsn(url))
    try:
        await conn.execute(BARE_SCHEMA)
        await conn.executemany(
            "INSERT INTO bare_stock VALUES ($1, $2)", [(o, 1_000_000_000) for o in offer_ids]
        )
    finally:
        await conn.close()


def bare_app(dsn: str, pool_size: int) -> FastAPI:
    pools: list[asyncpg.Pool] = []

    @contextlib.asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        pools.append(await asyncpg.create_pool(dsn, min_size=pool_size, max_size=pool_size))
        yield
        await pools[0].close()

    app = FastAPI(lifespan=lifespan)

    @app.get("/readyz")
    async def readyz() -> dict[str, str]:
        return {"status": "ready"}

    @app.post("/v1/checkout", status_code=201)
    async def checkout(request: Request) -> Response:
        body = await request.body()
        first = orjson.loads(body)["lines"][0]["offer_id"]
        order_id = uuid.uuid4()
        async with pools[0].acquire() as conn, conn.transaction():
            await conn.execute(
                "INSERT INTO bare_orders (id, idempotency_key, body) VALUES ($1, $2, $3)",
                order_id,
                request.headers.get("idempotency-key", ""),
                body,
            )
            updated = await conn.execute(
                "UPDATE bare_stock SET quantity = quantity - 1"
                " WHERE offer_id = $1 AND quantity > 0",
                first,
            )
        status = 201 if updated == "UPDATE 1" else 409
        return Response(orjson.dumps({"id": str(order_id)}), status, media_type="application/json")

    return app


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
    parser = argparse.ArgumentParser(
        prog="python -m bench.checkout",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
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
    try:
        lines = run(args)
    except BenchError as error:
        print(f"bench checkout: {error}", file=sys.stderr)
        raise SystemExit(1) from None
    for line in lines:
        print(line, flush=True)


if __name__ == "__main__":
    cli()
