"""Session set-up: the real Kafka broker and PostgreSQL (`make test` starts both)."""

from __future__ import annotations

import os
from collections.abc import AsyncIterator

import pytest

from services import infra
from services.kafka_broker import KAFKA_JARS
from shared.settings import DEVELOPMENT_MODE_VARIABLE
from tests.support import create_test_topics, delete_test_topics, new_topic_suffix

# Tests build settings with the repository's development secrets; a test of the refusal turns
# development mode off for its own settings.
os.environ.setdefault(DEVELOPMENT_MODE_VARIABLE, "1")


def pytest_report_header() -> list[str]:
    lines = []
    jars = sorted(KAFKA_JARS.glob("kafka_2.13-*.jar"))
    if not infra.uses_external_kafka() and jars:
        version = jars[0].stem.split("-")[-1]
        lines.append(f"kafka: Apache Kafka {version} (KRaft) at {infra.kafka_bootstrap()}")
    else:
        lines.append(f"kafka: {infra.kafka_bootstrap()}")
    pg_version = infra.PG_HOME / "data" / "PG_VERSION"
    if pg_version.exists():
        lines.append(
            f"postgresql: PostgreSQL {pg_version.read_text().strip()} at 127.0.0.1:{infra.PG_PORT}"
        )
    return lines


@pytest.fixture
async def topic_suffix() -> AsyncIterator[str]:
    """Fresh topics for one test, deleted afterwards."""
    suffix = new_topic_suffix()
    await create_test_topics(suffix)
    yield suffix
    await delete_test_topics(suffix)
