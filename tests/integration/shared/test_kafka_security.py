"""The KAFKA_* security settings against the real broker's SASL_SSL listener (TLS with the
project's own CA, SASL PLAIN and SCRAM-SHA-512), as a managed Kafka would be reached."""

from __future__ import annotations

import pytest

from catalog_service.app import create_app
from catalog_service.settings import CatalogSettings
from services import infra, kafka_security
from shared.events import topics
from shared.events.envelope import encode, wrap
from shared.kafka import KafkaConfig, kafka_reachable, new_consumer, new_producer
from tests.integration.shared.conftest import Ping
from tests.support import (
    create_database,
    delete_test_topics,
    new_topic_suffix,
    running_app,
    test_database_url,
)

BROKER = infra.LOCAL_INFRA

pytestmark = pytest.mark.skipif(
    infra.uses_external_kafka(),
    reason="the SASL_SSL listener is the project's own broker's; an external one has its own",
)


def secured(mechanism: str, password: str = kafka_security.SASL_PASSWORD) -> KafkaConfig:
    ca_file, _, _ = kafka_security.tls_files(BROKER.tls_dir)
    return KafkaConfig(
        f"127.0.0.1:{BROKER.sasl_port}",
        security_protocol="SASL_SSL",
        sasl_mechanism=mechanism,
        sasl_username=kafka_security.SASL_USERNAME,
        sasl_password=password,
        ssl_cafile=str(ca_file),
    )


@pytest.mark.parametrize("mechanism", ["PLAIN", "SCRAM-SHA-512"])
async def test_the_suites_clients_publish_and_consume_over_tls_and_sasl(
    mechanism: str, topic_suffix: str
) -> None:
    config = secured(mechanism)
    topic = topics.resolve(topics.ORDERS, topic_suffix)
    envelope = wrap(Ping(key="k", n=7), key="k", producer="test")
    producer = new_producer(config, client_id="security-test")
    await producer.start()
    try:
        await producer.send_and_wait(topic, encode(envelope), key=b"k")
    finally:
        await producer.stop()
    consumer = new_consumer(config, topic, group_id=None, auto_offset_reset="earliest")
    await consumer.start()
    try:
        record = await consumer.getone()
    finally:
        await consumer.stop()

    assert record.value == encode(envelope)


async def test_a_wrong_password_is_refused_with_the_reason() -> None:
    reason = await kafka_reachable(
        secured("SCRAM-SHA-512", password="not-the-password"), timeout=20
    )

    assert reason is not None
    assert "SaslAuthenticationFailed" in reason


async def test_a_service_set_up_by_the_environment_runs_over_sasl_ssl(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    ca_file, _, _ = kafka_security.tls_files(BROKER.tls_dir)
    for name, value in {
        "KAFKA_BOOTSTRAP_SERVERS": f"127.0.0.1:{BROKER.sasl_port}",
        "KAFKA_SECURITY_PROTOCOL": "SASL_SSL",
        "KAFKA_SASL_MECHANISM": "SCRAM-SHA-512",
        "KAFKA_SASL_USERNAME": kafka_security.SASL_USERNAME,
        "KAFKA_SASL_PASSWORD": kafka_security.SASL_PASSWORD,
        "KAFKA_SSL_CAFILE": str(ca_file),
    }.items():
        monkeypatch.setenv(name, value)
    suffix = new_topic_suffix()
    url = test_database_url("CATALOG", "catalog")
    await create_database(url)
    try:
        # The topics, the relay, the consumers and /readyz all go through the secured listener.
        async with running_app(
            create_app(CatalogSettings(database_url=url, topic_suffix=suffix))
        ) as client:
            ready = await client.get("/readyz")
        assert ready.status_code == 200, ready.text
    finally:
        await delete_test_topics(suffix)
