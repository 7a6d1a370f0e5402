"""End-to-end: the four services as separate uvicorn processes on the real broker and database.

They listen on ports of their own (18001-18004) with databases and topics of their own, so the
suite can run while `make up` serves the usual ports.
"""

from __future__ import annotations

import asyncio
import os
import secrets
import socket
import time
import uuid
from collections.abc import AsyncIterator, Iterator
from typing import Any

import httpx
import pytest
import uvicorn
from fastapi import FastAPI, Request, Response

from services.clients import Operator, Storefront, console_token, seeded_scanner
from services.leaks import LeakScanner
from services.suite import ROOT, Suite
from tests.e2e.actors import FASHION_SHOW, Delivery, Pos, WebhookInbox
from tests.e2e.collector import OtlpCollector
from tests.support import delete_test_topics, eventually

OPERATOR_TOKEN = "e2e-operator-token"
# Secrets of the suite's own, as production sets them; tests sign odd tokens with them.
JWT_SECRETS = {
    "ORDER_JWT_SECRET": secrets.token_urlsafe(32),
    "DRIVER_JWT_SECRET": secrets.token_urlsafe(32),
    "DISPATCH_OPERATOR_JWT_SECRET": secrets.token_urlsafe(32),
}

# Malls keep opening hours, so the suite runs on a clock fixed at an open hour, whatever the hour
# CI runs at: a Wednesday, 17:59 in Las Vegas (PST, UTC-8), a minute before the 6-8 PM delivery
# window opens (so a test can order into an evening window and see it delivered), and an hour
# and a half before the mall stops taking as-soon-as-possible orders.
SUITE_CLOCK_START = "2026-11-26T01:59:00+00:00"

# Timers a few seconds long, so an order travels the whole way in seconds, not minutes.
SUITE_ENV = {
    "MTH_CLOCK_START": SUITE_CLOCK_START,
    "MTH_CLOCK_SPEED": "1",
    "CATALOG_RELAY_POLL_SECONDS": "0.2",
    "ORDER_RELAY_POLL_SECONDS": "0.2",
    "DISPATCH_RELAY_POLL_SECONDS": "0.2",
    "DRIVER_RELAY_POLL_SECONDS": "0.2",
    "ORDER_OPERATOR_TOKEN": OPERATOR_TOKEN,
    "ORDER_WEBHOOK_POLL_SECONDS": "0.2",
    "DISPATCH_BATCH_TICK_SECONDS": "1",
    "DISPATCH_BATCH_INTERVAL_SECONDS": "2",
    "DISPATCH_BATCH_MIN_GAP_SECONDS": "0",
    "DISPATCH_OFFER_TICK_SECONDS": "1",
    "DISPATCH_SOLVE_SECONDS": "1",
    "DRIVER_LOCATION_MIN_INTERVAL_SECONDS": "0",
    **JWT_SECRETS,
}


@pytest.fixture(scope="session")
def otlp_collector() -> Iterator[OtlpCollector]:
    collector = OtlpCollector()
    collector.start()
    try:
        yield collector
    finally:
        collector.stop()


@pytest.fixture(scope="session")
def suite(otlp_collector: OtlpCollector) -> Iterator[Suite]:
    # One anchor for every process, seed and dev commands included: counting from each one's
    # own import, they would disagree by however far apart they started.
    anchored = {
        **SUITE_ENV,
        "MTH_CLOCK_REAL_START": str(time.time()),
        # Tracing on, as one setting turns it on in production: the suite's spans go to the
        # test's collector (in batches a fifth of a second apart), which the tests read.
        "OTEL_EXPORTER_OTLP_ENDPOINT": otlp_collector.url,
        "OTEL_BSP_SCHEDULE_DELAY": "200",
    }
    running = Suite(
        label="e2e",
        # Another checkout's e2e run on this machine picks other ports with MTH_E2E_BASE_PORT.
        base_port=int(os.environ.get("MTH_E2E_BASE_PORT", "18000")),
        extra_env=anchored,
        catalog_seed=(
            "--stores-per-mall=8",
            "--skus=400",
            # The order service learns quantities when it resolves offers at checkout.
            "--max-inventory-events=0",
            f"--keys-file={ROOT / '.local' / 'e2e' / 'catalog_retailer_keys.json'}",
        ),
    )
    try:
        running.start()
        yield running
    finally:
        running.stop()
        if running.topic_suffix:
            asyncio.run(delete_test_topics(running.topic_suffix))


@pytest.fixture
async def http() -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(timeout=30) as client:
        yield client


@pytest.fixture
def storefront(
    suite: Suite, http: httpx.AsyncClient, customer_tokens: list[str], scanner: LeakScanner
) -> Storefront:
    """The first customer's app: every response it receives goes through the test's scanner."""
    return Storefront(http, suite.urls["catalog"], suite.urls["order"], customer_tokens[0], scanner)


@pytest.fixture(scope="session")
def customer_tokens(suite: Suite) -> list[str]:
    """Two customers' JWTs from the order service's dev command: a buyer and a stranger."""
    return [
        suite.run_dev(
            "order_service.dev", "token", "--customer", f"e2e-{uuid.uuid4().hex[:8]}"
        ).strip()
        for _ in range(2)
    ]


@pytest.fixture(scope="session")
def dispatch_operator_token(suite: Suite) -> str:
    return console_token(suite, "e2e")


def internal_auth(suite: Suite) -> dict[str, str]:
    """What the order service sends to the catalog's internal endpoints."""
    return {"Authorization": f"Bearer {suite.env['CATALOG_INTERNAL_TOKEN']}"}


@pytest.fixture(scope="session")
async def directory(suite: Suite) -> dict[str, Any]:
    """Every mall and store with their identifiers, from the catalog's internal endpoint."""
    async with httpx.AsyncClient(timeout=30) as client:
        found = await Operator.of(client, suite).directory()
    assert found["stores"] and found["malls"]
    return found


@pytest.fixture
def scanner(directory: dict[str, Any]) -> LeakScanner:
    """Knows every store and mall identifier; the storefront shows it every response."""
    leaks = seeded_scanner(directory)
    assert len(leaks.identifiers) > 4 * len(directory["stores"])
    return leaks


@pytest.fixture(scope="session")
async def webhook_inbox() -> AsyncIterator[WebhookInbox]:
    """The stores' webhook endpoints: one small HTTP server that records every call."""
    inbox = WebhookInbox()
    receiver = FastAPI()

    @receiver.post("/hooks/{store_id}", status_code=204)
    async def receive(store_id: str, request: Request) -> Response:
        inbox.deliveries.append(Delivery(store_id, dict(request.headers), await request.body()))
        return Response(status_code=204)

    @receiver.post("/storefront/{name}", status_code=204)
    async def storefront(name: str, request: Request) -> Response:
        inbox.storefront.append(Delivery(name, dict(request.headers), await request.body()))
        return Response(status_code=204)

    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    inbox.url = f"http://127.0.0.1:{listener.getsockname()[1]}"
    server = uvicorn.Server(uvicorn.Config(receiver, log_level="warning", lifespan="off"))
    serving = asyncio.create_task(server.serve(sockets=[listener]))
    await eventually(lambda: server.started, within=10)
    yield inbox
    server.should_exit = True
    await serving
    listener.close()


@pytest.fixture(scope="session")
async def pos_credentials(
    suite: Suite, directory: dict[str, Any], webhook_inbox: WebhookInbox
) -> dict[str, dict[str, Any]]:
    """POS credentials for every store of Fashion Show Mall, from the operator endpoint."""
    issued: dict[str, dict[str, Any]] = {}
    async with httpx.AsyncClient(timeout=30) as client:
        operator = Operator.of(client, suite)
        for store in directory["stores"]:
            if store["mall_id"] == FASHION_SHOW:
                issued[store["id"]] = await operator.pos_credentials(
                    store["id"], webhook_url=webhook_inbox.endpoint(store["id"])
                )
    assert len(issued) >= 2
    return issued


@pytest.fixture
def pos_terminals(
    suite: Suite, http: httpx.AsyncClient, pos_credentials: dict[str, dict[str, Any]]
) -> dict[str, Pos]:
    return {
        store_id: Pos(http, suite.urls["order"], store_id, c["api_key"], c["webhook_secret"])
        for store_id, c in pos_credentials.items()
    }
