from __future__ import annotations

import os
import subprocess
import sys

import httpx

from catalog_service.app import create_app
from catalog_service.settings import CatalogSettings
from shared.db import Db
from tests.support import (
    create_database,
    metric_names,
    metric_value,
    running_app,
    test_database_url,
)


def run_service(env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith("CATALOG_")}
    return subprocess.run(
        [sys.executable, "-m", "catalog_service"],
        env={**clean, **env},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_a_bad_database_url_is_one_clear_line_not_a_stack_trace() -> None:
    result = run_service({"CATALOG_DATABASE_URL": "mysql://nope"})

    assert result.returncode == 2
    assert "Traceback" not in result.stderr
    assert result.stderr.strip().count("\n") == 0
    assert "CATALOG_DATABASE_URL must start with postgresql+asyncpg://" in result.stderr


def test_a_missing_setting_names_the_variable() -> None:
    result = run_service({})

    assert result.returncode == 2
    assert "CATALOG_DATABASE_URL is not set" in result.stderr
    assert "Traceback" not in result.stderr


async def test_an_unreachable_broker_says_what_to_do() -> None:
    await create_database(test_database_url("CATALOG", "catalog"))
    result = run_service(
        {
            "CATALOG_DATABASE_URL": test_database_url("CATALOG", "catalog"),
            "KAFKA_BOOTSTRAP_SERVERS": "127.0.0.1:1",
        }
    )

    assert result.returncode == 3
    assert "Traceback" not in result.stderr
    assert "Kafka at 127.0.0.1:1 unreachable" in result.stderr
    assert "make infra-up" in result.stderr


async def test_an_unreachable_broker_leaves_readyz_ready_and_sets_kafka_up_to_0() -> None:
    # A broker blip must not turn every pod unready at once: the outbox and the consumers ride
    # it out. The metric (and its alert) says the broker is away.
    settings = CatalogSettings(
        database_url=test_database_url("CATALOG", "catalog"),
        kafka_bootstrap_servers="127.0.0.1:1",
    )
    await create_database(settings.database_url)
    app = create_app(settings)
    app.state.db = Db(settings.database_url, pool_size=1)
    transport = httpx.ASGITransport(app=app)
    try:
        async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
            health = await client.get("/healthz")
            ready = await client.get("/readyz")
            metrics = await client.get("/metrics")
    finally:
        await app.state.db.dispose()

    assert health.status_code == 200
    assert ready.status_code == 200, ready.text
    assert metric_value(metrics.text, "kafka_up", service="catalog") == 0


async def test_an_unreachable_database_makes_readyz_503_with_the_reason() -> None:
    settings = CatalogSettings(database_url="postgresql+asyncpg://postgres@127.0.0.1:1/catalog")
    app = create_app(settings)
    app.state.db = Db(settings.database_url, pool_size=1)
    transport = httpx.ASGITransport(app=app)
    try:
        async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
            ready = await client.get("/readyz")
    finally:
        await app.state.db.dispose()

    assert ready.status_code == 503
    assert "database unreachable" in ready.json()["reason"]


async def test_a_running_service_is_ready_and_exports_metrics(topic_suffix: str) -> None:
    settings = CatalogSettings(
        database_url=test_database_url("CATALOG", "catalog"), topic_suffix=topic_suffix
    )
    await create_database(settings.database_url)
    async with running_app(create_app(settings)) as client:
        ready = await client.get(
            "/readyz", headers={"traceparent": f"00-{'ab' * 16}-{'cd' * 8}-01"}
        )
        metrics = await client.get("/metrics")

    assert ready.status_code == 200
    assert ready.headers["x-trace-id"] == "ab" * 16
    assert 'http_requests_total{method="GET",route="/readyz"' in metrics.text
    assert "outbox_backlog" in metrics.text
    assert metric_value(metrics.text, "kafka_up", service="catalog") == 1
    assert {"outbox_oldest_unsent_age_seconds", "kafka_dead_letters_total"} <= metric_names(
        metrics.text
    )
