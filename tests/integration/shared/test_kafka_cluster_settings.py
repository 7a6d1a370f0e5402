"""Topics as a real cluster wants them: replication and `min.insync.replicas` come from the
KAFKA_* settings, checked against the real broker (one node, so one replica at most)."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys

from aiokafka.admin import AIOKafkaAdminClient
from aiokafka.admin.config_resource import ConfigResource, ConfigResourceType

from catalog_service.app import create_app
from catalog_service.settings import CatalogSettings
from shared.events import topics
from tests.support import (
    BOOTSTRAP,
    create_database,
    delete_test_topics,
    new_topic_suffix,
    running_app,
    test_database_url,
)

# DescribeConfigs' config_source for a value set on the topic itself.
DYNAMIC_TOPIC_CONFIG = 1


async def topic_config(name: str, key: str) -> tuple[str, int]:
    admin = AIOKafkaAdminClient(bootstrap_servers=BOOTSTRAP)
    await admin.start()
    try:
        [response] = await admin.describe_configs(
            [ConfigResource(ConfigResourceType.TOPIC, name, None)]
        )
    finally:
        await admin.close()
    for entry in response.to_object()["resources"][0]["config_entries"]:
        if entry["config_names"] == key:
            return entry["config_value"], entry["config_source"]
    raise AssertionError(f"{name} has no {key}")


async def test_a_service_creates_its_topics_with_the_configured_min_insync_replicas() -> None:
    suffix = new_topic_suffix()
    url = test_database_url("CATALOG", "catalog")
    await create_database(url)
    settings = CatalogSettings(database_url=url, topic_suffix=suffix, kafka_min_insync_replicas=1)
    try:
        async with running_app(create_app(settings)) as client:
            assert (await client.get("/readyz")).status_code == 200
        orders = topics.resolve(topics.ORDERS, suffix)
        for name in (orders, topics.dead_letter(orders)):
            value, source = await topic_config(name, "min.insync.replicas")
            assert (value, source) == ("1", DYNAMIC_TOPIC_CONFIG), name
    finally:
        await delete_test_topics(suffix)


async def test_a_replication_factor_the_cluster_cannot_give_stops_the_service_with_one_line() -> (
    None
):
    suffix = new_topic_suffix()
    url = test_database_url("CATALOG", "catalog")
    await create_database(url)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("CATALOG_", "KAFKA_"))}
    try:
        result = await asyncio.to_thread(
            subprocess.run,
            [sys.executable, "-m", "catalog_service"],
            env={
                **env,
                "CATALOG_DATABASE_URL": url,
                "CATALOG_TOPIC_SUFFIX": suffix,
                "CATALOG_PORT": "0",  # never bound: the topics are refused first
                "KAFKA_BOOTSTRAP_SERVERS": BOOTSTRAP,
                "KAFKA_REPLICATION_FACTOR": "3",
                "KAFKA_MIN_INSYNC_REPLICAS": "2",
            },
            capture_output=True,
            text=True,
            timeout=90,
            check=False,
        )
    finally:
        await delete_test_topics(suffix)

    assert result.returncode == 3, result.stderr[-2000:]
    assert "Traceback" not in result.stderr
    assert result.stderr.strip().count("\n") == 0
    assert "KAFKA_REPLICATION_FACTOR" in result.stderr
    assert "replication factor 3" in result.stderr
