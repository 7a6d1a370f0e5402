"""Runs the four services as separate processes with databases, ports and topics of their own.

The end-to-end tests and the demo use it so they never disturb what `make up` serves.
"""

from __future__ import annotations

import asyncio
import os
import secrets
import subprocess
import sys
import time
import uuid
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

import asyncpg
import httpx

from services import infra
from shared.clock import Clock
from shared.db import asyncpg_dsn
from shared.kafka import ensure_topics
from shared.settings import DEVELOPMENT_MODE_VARIABLE

ROOT = Path(__file__).resolve().parent.parent


@dataclass(frozen=True)
class ServiceProcess:
    name: str
    package: str
    env_prefix: str
    database: str


SERVICES = (
    ServiceProcess("catalog", "catalog_service", "CATALOG", "catalog"),
    ServiceProcess("order", "order_service", "ORDER", "orders"),
    ServiceProcess("dispatch", "dispatch_service", "DISPATCH", "dispatch"),
    ServiceProcess("driver", "driver_service", "DRIVER", "drivers"),
)


@dataclass
class Suite:
    """One running copy of the suite: `urls[name]`, and the environment it runs with."""

    label: str
    base_port: int
    # The PostgreSQL and Kafka it runs on: `make up`'s by default, `make chaos` brings its own.
    infra: infra.Infra = infra.LOCAL_INFRA
    extra_env: dict[str, str] = field(default_factory=dict)
    # `catalog_service.dev seed` arguments; the catalog loads its read model once, at start,
    # so the seed runs between resetting the databases and starting the services.
    catalog_seed: tuple[str, ...] | None = None
    topic_suffix: str = ""
    # Names of the services to start (benchmarks start only what they measure); empty: all four.
    only: tuple[str, ...] = ()
    # The catalog's internal endpoints name stores: one token per suite, the catalog's and the
    # order service's, unless `extra_env` sets both.
    internal_token: str = field(default_factory=lambda: secrets.token_urlsafe(32), repr=False)
    # The storefront's token for its webhook endpoints, and the secret of proof-photo links
    # the order service makes and the driver service checks.
    storefront_token: str = field(default_factory=lambda: secrets.token_urlsafe(32), repr=False)
    proof_url_secret: str = field(default_factory=lambda: secrets.token_urlsafe(32), repr=False)
    # The operator tokens of the order and driver services, which dispatch's console sends.
    order_operator_token: str = field(default_factory=lambda: secrets.token_urlsafe(24), repr=False)
    driver_operator_token: str = field(
        default_factory=lambda: secrets.token_urlsafe(32), repr=False
    )
    env: dict[str, str] = field(default_factory=dict)
    urls: dict[str, str] = field(default_factory=dict)
    processes: dict[str, subprocess.Popen[bytes]] = field(default_factory=dict)

    @property
    def log_dir(self) -> Path:
        return infra.LOCAL / self.label

    def database_url(self, service: ServiceProcess) -> str:
        return self.infra.database_url(f"{service.database}_{self.label}")

    def log(self, name: str, tail: int = 4000) -> str:
        return (self.log_dir / f"{name}.log").read_text(errors="replace")[-tail:]

    def start(self, timeout: float = 120) -> None:
        self.topic_suffix = self.topic_suffix or f".{self.label}{uuid.uuid4().hex[:8]}"
        asyncio.run(self._prepare())
        self.env = self._environment()
        self.log_dir.mkdir(parents=True, exist_ok=True)
        for index, service in enumerate(SERVICES):
            if self.only and service.name not in self.only:
                continue
            self.urls[service.name] = f"http://127.0.0.1:{self.base_port + index + 1}"
            self._spawn(service, mode="wb")
        self._wait_ready(dict(self.urls), timeout)

    def _spawn(self, service: ServiceProcess, mode: str) -> None:
        with open(self.log_dir / f"{service.name}.log", mode) as log:
            self.processes[service.name] = subprocess.Popen(
                [sys.executable, "-m", service.package],
                env=self.env,
                cwd=ROOT,
                stdout=log,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
            )

    def kill(self, name: str) -> None:
        """kill -9 of one service process, as a crash would."""
        process = self.processes[name]
        process.kill()
        process.wait()

    def restart(self, name: str, timeout: float = 120) -> None:
        """Starts a stopped (or killed) service again, with the same settings; waits till ready."""
        service = next(s for s in SERVICES if s.name == name)
        self._spawn(service, mode="ab")
        self._wait_ready({name: self.urls[name]}, timeout)

    def stop(self) -> None:
        for process in self.processes.values():
            process.terminate()
        for process in self.processes.values():
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
        self.processes.clear()

    def run_dev(self, module: str, *args: str) -> str:
        """Runs a developer command (e.g. `order_service.dev token ...`) against this suite."""
        done = subprocess.run(
            [sys.executable, "-m", module, *args],
            env=self.env or self._environment(),
            cwd=ROOT,
            capture_output=True,
            text=True,
            check=False,
            timeout=600,
        )
        if done.returncode != 0:
            raise RuntimeError(f"{module} {' '.join(args)} failed:\n{done.stderr[-2000:]}")
        return done.stdout

    def _environment(self) -> dict[str, str]:
        env = {
            k: v
            for k, v in os.environ.items()
            if not k.startswith(tuple(f"{s.env_prefix}_" for s in SERVICES))
        }
        env["KAFKA_BOOTSTRAP_SERVERS"] = self.infra.kafka_bootstrap()
        # A suite on this machine may use the repository's development secrets.
        env[DEVELOPMENT_MODE_VARIABLE] = "1"
        for index, service in enumerate(SERVICES):
            prefix = service.env_prefix
            env[f"{prefix}_DATABASE_URL"] = self.database_url(service)
            env[f"{prefix}_PORT"] = str(self.base_port + index + 1)
            env[f"{prefix}_TOPIC_SUFFIX"] = self.topic_suffix
            env[f"{prefix}_CONSUMER_GROUP"] = f"{service.name}{self.topic_suffix}"
        env["ORDER_CATALOG_URL"] = f"http://127.0.0.1:{self.base_port + 1}"
        env["CATALOG_INTERNAL_TOKEN"] = self.internal_token
        env["ORDER_CATALOG_INTERNAL_TOKEN"] = self.internal_token
        env["ORDER_STOREFRONT_TOKEN"] = self.storefront_token
        env["ORDER_PUBLIC_URL"] = f"http://127.0.0.1:{self.base_port + 2}"
        env["ORDER_DRIVER_PUBLIC_URL"] = f"http://127.0.0.1:{self.base_port + 4}"
        env["ORDER_PROOF_URL_SECRET"] = self.proof_url_secret
        env["DRIVER_PROOF_URL_SECRET"] = self.proof_url_secret
        env["ORDER_OPERATOR_TOKEN"] = self.order_operator_token
        env["DRIVER_OPERATOR_TOKEN"] = self.driver_operator_token
        env.update(self.extra_env)
        # The console's actions go through the order and driver services of this suite, with
        # whatever operator tokens they were given.
        env["DISPATCH_ORDER_URL"] = f"http://127.0.0.1:{self.base_port + 2}"
        env["DISPATCH_DRIVER_URL"] = f"http://127.0.0.1:{self.base_port + 4}"
        env["DISPATCH_ORDER_OPERATOR_TOKEN"] = env["ORDER_OPERATOR_TOKEN"]
        env["DISPATCH_DRIVER_OPERATOR_TOKEN"] = env["DRIVER_OPERATOR_TOKEN"]
        return env

    def clock(self) -> Clock:
        """The clock the suite's services run on (the demo's and the tests' are simulated)."""
        env = self.env or self._environment()
        start = env.get("MTH_CLOCK_START")
        real_start = env.get("MTH_CLOCK_REAL_START")
        return Clock(
            datetime.fromisoformat(start) if start else None,
            float(env.get("MTH_CLOCK_SPEED", "1")),
            float(real_start) if real_start else None,
        )

    def console_url(self) -> str:
        return f"{self.urls.get('dispatch', f'http://127.0.0.1:{self.base_port + 3}')}/console"

    async def _prepare(self) -> None:
        for service in SERVICES:
            url = self.database_url(service)
            self.infra.create_database(url.rsplit("/", 1)[-1])
            conn = await asyncpg.connect(asyncpg_dsn(url))
            try:
                # A clean schema every run: the services migrate it again at start.
                await conn.execute("DROP SCHEMA public CASCADE; CREATE SCHEMA public;")
            finally:
                await conn.close()
        await ensure_topics(self.infra.kafka_bootstrap(), self.topic_suffix)
        if self.catalog_seed is not None:
            await asyncio.to_thread(self.run_dev, "catalog_service.dev", "seed", *self.catalog_seed)

    def _wait_ready(self, pending: dict[str, str], timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while pending and time.monotonic() < deadline:
            for name, url in list(pending.items()):
                if self.processes[name].poll() is not None:
                    raise RuntimeError(f"{name} exited at start:\n{self.log(name, 3000)}")
                try:
                    if httpx.get(f"{url}/readyz", timeout=2).status_code == 200:
                        del pending[name]
                except httpx.HTTPError:
                    pass
            time.sleep(0.3)
        if pending:
            raise RuntimeError(f"not ready within {timeout:.0f} s: {sorted(pending)}")
