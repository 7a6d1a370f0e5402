"""End-to-end: the four services as separate uvicorn processes on the real broker and database.

They listen on ports of their own (18001-18004) with databases and topics of their own, so the
suite can run while `make up` serves the usual ports.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator

import httpx
import pytest

from services.suite import Suite
from tests.support import delete_test_topics


@pytest.fixture(scope="session")
def suite() -> Iterator[Suite]:
    running = Suite(label="e2e", base_port=18000)
    try:
        running.start()
        yield running
    finally:
        running.stop()
        if running.topic_suffix:
            import asyncio

            asyncio.run(delete_test_topics(running.topic_suffix))


@pytest.fixture
async def http() -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(timeout=30) as client:
        yield client
