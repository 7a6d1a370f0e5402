"""Two catalog replicas each keep a complete read model: every stock change one of them takes
in reaches both, whichever partitions its events land on."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
import time
import uuid
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import asyncpg
import httpx
import pytest

from services import infra
from services.suite import ROOT
from shared.db import asyncpg_dsn
from shared.malls import pilot_malls
from tests.support import create_test_topics, delete_test_topics, eventually

REPLICAS = ("replica-a", "replica-b")
CLOCK_START = datetime(2026, 11, 25, 19, 0, tzinfo=UTC)


@pytest.fixture(scope="module")
def catalog_env() -> Iterator[dict[str, str]]:
    suffix = f".replicas{uuid.uuid4().hex[:8]}"
    url = infra.database_url("catalog_replicas")
    infra.create_database("catalog_replicas")
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith("CATALOG_")},
        "KAFKA_BOOTSTRAP_SERVERS": infra.kafka_bootstrap(),
        "MTH_DEVELOPMENT_MODE": "1",
        "CATALOG_DATABASE_URL": url,
        "CATALOG_TOPIC_SUFFIX": suffix,
        "CATALOG_CONSUMER_GROUP": f"catalog{suffix}",
        "CATALOG_RELAY_POLL_SECONDS": "0.2",
        # Every pilot mall open, whatever the hour the tests run at.
        "MTH_CLOCK_START": CLOCK_START.isoformat(),
        "MTH_CLOCK_REAL_START": str(time.time()),
    }

    async def prepare() -> None:
        conn = await asyncpg.connect(asyncpg_dsn(url))
        try:
            await conn.execute("DROP SCHEMA public CASCADE; CREATE SCHEMA public;")
        finally:
            await conn.close()
        await create_test_topics(suffix)

    asyncio.run(prepare())
    keys_file = ROOT / ".local" / "replicas" / "catalog_retailer_keys.json"
    seeded = subprocess.run(
        [sys.executable, "-m", "catalog_service.dev", "seed", "--stores-per-mall=3",
         "--skus=40", "--max-inventory-events=0", f"--keys-file={keys_file}"],
        env=env, cwd=ROOT, capture_output=True, text=True, timeout=300, check=False,
    )  # fmt: skip
    assert seeded.returncode == 0, seeded.stderr
    yield {**env, "KEYS": keys_file.read_text()}
    asyncio.run(delete_test_topics(suffix))


@pytest.fixture(scope="module")
def replicas(catalog_env: dict[str, str]) -> Iterator[dict[str, str]]:
    """Two catalog processes on one database and one set of topics, as two pods would run."""
    base = int(os.environ.get("MTH_E2E_BASE_PORT", "18000")) + 60
    urls, processes = {}, []
    log_dir = ROOT / ".local" / "replicas"
    for index, replica in enumerate(REPLICAS):
        port = base + index
        env = {**catalog_env, "CATALOG_PORT": str(port), "CATALOG_REPLICA_ID": replica}
        with open(log_dir / f"{replica}.log", "wb") as log:
            process = subprocess.Popen(
                [sys.executable, "-m", "catalog_service"],
                env=env,
                cwd=ROOT,
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        processes.append(process)
        urls[replica] = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 120
        for replica, url in urls.items():
            while not is_ready(url):
                output = (log_dir / f"{replica}.log").read_text()
                assert time.monotonic() < deadline, output[-3000:]
                time.sleep(0.3)
        yield urls
    finally:
        for process in processes:
            process.terminate()
        for process in processes:
            process.wait(timeout=30)


def is_ready(url: str) -> bool:
    try:
        return httpx.get(f"{url}/readyz", timeout=2).status_code == 200
    except httpx.HTTPError:
        return False


@pytest.fixture
async def http() -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(timeout=30) as client:
        yield client


async def listed(http: httpx.AsyncClient, url: str) -> int:
    """Items either replica lists at all four malls."""
    total = 0
    for mall in pilot_malls():
        page = await http.get(
            f"{url}/v1/catalog/same-day",
            params={"lat": mall.lat + 0.01, "lng": mall.lng, "limit": 100},
        )
        assert page.status_code == 200, page.text
        total += len(page.json()["items"])
    return total


async def test_stock_taken_in_at_one_replica_reaches_both_read_models(
    replicas: dict[str, str], catalog_env: dict[str, str], http: httpx.AsyncClient
) -> None:
    first, second = replicas.values()
    assert await listed(http, first) > 0 and await listed(http, second) > 0
    keys: dict[str, str] = json.loads(catalog_env["KEYS"])

    # Every store of every retailer sells out, in one snapshot per retailer sent to one replica:
    # a change per stocked row, on partitions spread by store.
    for key in keys.values():
        headers = {"X-API-Key": key}
        stores = (await http.get(f"{first}/v1/retailer/stores", headers=headers)).json()
        sku = await any_sku_of(http, first, headers)
        rows: list[dict[str, Any]] = [
            {"store_id": s["id"], "sku": sku, "quantity": 0} for s in stores
        ]
        # Counted now on the replicas' clock: newer than the seed's counts.
        real_start = float(catalog_env["MTH_CLOCK_REAL_START"])
        as_of = CLOCK_START + timedelta(seconds=time.time() - real_start)
        resp = await http.post(
            f"{first}/v1/retailer/inventory",
            json={"mode": "snapshot", "as_of": as_of.isoformat(), "rows": rows},
            headers=headers,
        )
        assert resp.status_code == 200, resp.text

    async def nothing_listed() -> bool:
        return await listed(http, first) == 0 and await listed(http, second) == 0

    await eventually(nothing_listed, within=60, interval=0.5)


async def any_sku_of(http: httpx.AsyncClient, url: str, headers: dict[str, str]) -> str:
    """A SKU the retailer owns: upserting it again changes nothing else."""
    sku = f"REPLICA-{uuid.uuid4().hex[:8].upper()}"
    product = {
        "sku": sku,
        "gtin": "00012345678905",
        "title": "Replica test item",
        "brand": "Test",
        "category": "test",
        "price_cents": 100,
    }
    resp = await http.put(
        f"{url}/v1/retailer/products", json={"products": [product]}, headers=headers
    )
    assert resp.status_code == 200, resp.text
    return sku
