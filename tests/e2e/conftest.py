"""End-to-end: the four services as separate uvicorn processes on the real broker and database.

They listen on ports of their own (18001-18004) with databases and topics of their own, so the
suite can run while `make up` serves the usual ports.
"""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import time
import uuid
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from services import infra
from tests.support import create_database, create_test_topics, delete_test_topics

ROOT = Path(__file__).resolve().parents[2]
LOG_DIR = infra.LOCAL / "e2e"


@dataclass(frozen=True)
class E2EService:
    name: str
    package: str
    env_prefix: str
    database: str
    port: int

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"


SERVICES = (
    E2EService("catalog", "catalog_service", "CATALOG", "catalog_e2e", 18001),
    E2EService("order", "order_service", "ORDER", "orders_e2e", 18002),
    E2EService("dispatch", "dispatch_service", "DISPATCH", "dispatch_e2e", 18003),
    E2EService("driver", "driver_service", "DRIVER", "drivers_e2e", 18004),
)


@dataclass
class Suite:
    urls: dict[str, str]
    env: dict[str, str]
    processes: dict[str, subprocess.Popen[bytes]]
    topic_suffix: str

    def log(self, name: str) -> str:
        return (LOG_DIR / f"{name}.log").read_text(errors="replace")[-4000:]


def database_url(name: str) -> str:
    return infra.database_url(name)


def suite_env(suffix: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("CATALOG_", "ORDER_",
                                                                     "DISPATCH_", "DRIVER_"))}
    env["KAFKA_BOOTSTRAP_SERVERS"] = os.environ.get("KAFKA_BOOTSTRAP_SERVERS", "127.0.0.1:9092")
    for service in SERVICES:
        prefix = service.env_prefix
        env[f"{prefix}_DATABASE_URL"] = database_url(service.database)
        env[f"{prefix}_PORT"] = str(service.port)
        env[f"{prefix}_TOPIC_SUFFIX"] = suffix
        env[f"{prefix}_CONSUMER_GROUP"] = f"{service.name}{suffix}"
        env[f"{prefix}_LOG_LEVEL"] = "INFO"
    env["ORDER_CATALOG_URL"] = SERVICES[0].url
    return env


async def _reset_databases() -> None:
    import asyncpg

    for service in SERVICES:
        url = database_url(service.database)
        await create_database(url)
        conn = await asyncpg.connect(url.replace("postgresql+asyncpg://", "postgresql://"))
        try:
            # A clean schema each run: migrations run again at service start.
            await conn.execute("DROP SCHEMA public CASCADE; CREATE SCHEMA public;")
        finally:
            await conn.close()


def _wait_ready(processes: dict[str, subprocess.Popen[bytes]], timeout: float = 90) -> None:
    deadline = time.monotonic() + timeout
    pending = {s.name: s for s in SERVICES}
    while pending and time.monotonic() < deadline:
        for name, service in list(pending.items()):
            if processes[name].poll() is not None:
                log = (LOG_DIR / f"{name}.log").read_text(errors="replace")[-3000:]
                raise RuntimeError(f"{name} exited at start:\n{log}")
            try:
                if httpx.get(f"{service.url}/readyz", timeout=2).status_code == 200:
                    del pending[name]
            except httpx.HTTPError:
                pass
        time.sleep(0.3)
    if pending:
        raise RuntimeError(f"not ready within {timeout} s: {sorted(pending)}")


@pytest.fixture(scope="session")
def suite() -> Iterator[Suite]:
    suffix = f".e2e{uuid.uuid4().hex[:8]}"
    asyncio.run(_reset_databases())
    asyncio.run(create_test_topics(suffix))
    env = suite_env(suffix)
    LOG_DIR.mkdir(parents=True, exist_ok=True)
    processes: dict[str, subprocess.Popen[bytes]] = {}
    try:
        for service in SERVICES:
            with open(LOG_DIR / f"{service.name}.log", "wb") as log:
                processes[service.name] = subprocess.Popen(
                    [sys.executable, "-m", service.package],
                    env=env,
                    cwd=ROOT,
                    stdout=log,
                    stderr=subprocess.STDOUT,
                    stdin=subprocess.DEVNULL,
                )
        _wait_ready(processes)
        yield Suite({s.name: s.url for s in SERVICES}, env, processes, suffix)
    finally:
        for process in processes.values():
            process.terminate()
        for process in processes.values():
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                process.kill()
        asyncio.run(delete_test_topics(suffix))


@pytest.fixture
async def http() -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(timeout=30) as client:
        yield client
