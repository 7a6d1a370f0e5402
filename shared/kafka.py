"""Kafka clients built one way for the whole suite, for the local broker or a managed cluster.

Every client (producer, consumer, admin) takes a `KafkaTarget`: a bootstrap string for the local
plaintext broker, or a `KafkaConfig` carrying TLS, SASL (PLAIN or SCRAM) and the replication the
suite's topics are created with. Settings build the config (`ServiceSettings.kafka()`).
"""

from __future__ import annotations

import asyncio
import logging
import ssl
from dataclasses import dataclass, field
from typing import Any

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer
from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.errors import KafkaError, for_code
from aiokafka.helpers import create_ssl_context

from shared.events import topics

log = logging.getLogger(__name__)

SECURITY_PROTOCOLS = ("PLAINTEXT", "SSL", "SASL_PLAINTEXT", "SASL_SSL")
SASL_MECHANISMS = ("PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512")
_TOPIC_ALREADY_EXISTS = 36


@dataclass(frozen=True)
class KafkaConfig:
    """How to reach the cluster, and how the suite's topics are replicated on it."""

    bootstrap_servers: str
    security_protocol: str = "PLAINTEXT"
    sasl_mechanism: str | None = None
    sasl_username: str | None = None
    sasl_password: str | None = field(default=None, repr=False)
    ssl_cafile: str | None = None
    ssl_certfile: str | None = None
    ssl_keyfile: str | None = None
    ssl_check_hostname: bool = True
    replication_factor: int = 1
    min_insync_replicas: int | None = None

    def __post_init__(self) -> None:
        # The messages name the environment variables: that is where a user fixes them.
        if self.security_protocol not in SECURITY_PROTOCOLS:
            raise ValueError(
                f"KAFKA_SECURITY_PROTOCOL must be one of {', '.join(SECURITY_PROTOCOLS)}"
            )
        if self.security_protocol.startswith("SASL_"):
            if self.sasl_mechanism not in SASL_MECHANISMS:
                raise ValueError(
                    f"{self.security_protocol} needs KAFKA_SASL_MECHANISM"
                    f" ({', '.join(SASL_MECHANISMS)})"
                )
            if not self.sasl_username or not self.sasl_password:
                raise ValueError(
                    f"{self.security_protocol} needs KAFKA_SASL_USERNAME and KAFKA_SASL_PASSWORD"
                )
        if self.replication_factor < 1:
            raise ValueError("KAFKA_REPLICATION_FACTOR must be at least 1")
        if self.min_insync_replicas is not None and not (
            1 <= self.min_insync_replicas <= self.replication_factor
        ):
            raise ValueError(
                "KAFKA_MIN_INSYNC_REPLICAS must be between 1 and KAFKA_REPLICATION_FACTOR"
                f" ({self.replication_factor})"
            )

    @property
    def uses_tls(self) -> bool:
        return self.security_protocol in ("SSL", "SASL_SSL")

    def ssl_context(self) -> ssl.SSLContext:
        context: ssl.SSLContext = create_ssl_context(
            cafile=self.ssl_cafile, certfile=self.ssl_certfile, keyfile=self.ssl_keyfile
        )
        context.check_hostname = self.ssl_check_hostname
        return context

    def client_options(self) -> dict[str, Any]:
        """Keyword arguments every aiokafka client takes."""
        options: dict[str, Any] = {
            "bootstrap_servers": self.bootstrap_servers,
            "security_protocol": self.security_protocol,
        }
        if self.uses_tls:
            options["ssl_context"] = self.ssl_context()
        if self.security_protocol.startswith("SASL_"):
            # aiokafka takes SCRAM credentials through the same two arguments as PLAIN.
            options["sasl_mechanism"] = self.sasl_mechanism
            options["sasl_plain_username"] = self.sasl_username
            options["sasl_plain_password"] = self.sasl_password
        return options

    def topic_configs(self) -> dict[str, str]:
        if self.min_insync_replicas is None:
            return {}
        return {"min.insync.replicas": str(self.min_insync_replicas)}


KafkaTarget = str | KafkaConfig


def kafka_config(target: KafkaTarget) -> KafkaConfig:
    return target if isinstance(target, KafkaConfig) else KafkaConfig(target)


def bootstrap_of(target: KafkaTarget) -> str:
    return kafka_config(target).bootstrap_servers


class TopicSetupError(RuntimeError):
    """The cluster refused to create a topic; the message says which setting to change."""


def new_producer(target: KafkaTarget, client_id: str, **overrides: Any) -> AIOKafkaProducer:
    # Idempotent with acks=all: a retried send never duplicates or reorders within a partition.
    options: dict[str, Any] = {
        **kafka_config(target).client_options(),
        "client_id": client_id,
        "enable_idempotence": True,
        "acks": "all",
        "linger_ms": 2,
        "request_timeout_ms": 10_000,
    }
    return AIOKafkaProducer(**(options | overrides))


def new_consumer(target: KafkaTarget, *topic_names: str, **options: Any) -> AIOKafkaConsumer:
    return AIOKafkaConsumer(*topic_names, **kafka_config(target).client_options(), **options)


def new_admin(target: KafkaTarget, **options: Any) -> AIOKafkaAdminClient:
    return AIOKafkaAdminClient(**kafka_config(target).client_options(), **options)


async def ensure_topics(target: KafkaTarget, suffix: str = "") -> list[str]:
    """Creates every suite topic that is missing; returns the names it created.

    Topics get the configured replication factor and `min.insync.replicas`; a refusal (say, a
    replication factor above the number of brokers) raises TopicSetupError naming the setting.
    """
    config = kafka_config(target)
    admin = new_admin(config, request_timeout_ms=15_000)
    await admin.start()
    try:
        existing = set(await admin.list_topics())
        wanted = topics.all_topics(suffix)
        missing = [
            NewTopic(
                name=name,
                num_partitions=partitions,
                replication_factor=config.replication_factor,
                topic_configs=config.topic_configs(),
            )
            for name, partitions in wanted.items()
            if name not in existing
        ]
        if missing:
            response = await admin.create_topics(missing)
            _raise_refusals(response, config)
        await _wait_for_leaders(admin, list(wanted))
        return [topic.name for topic in missing]
    finally:
        await admin.close()


def _raise_refusals(response: Any, config: KafkaConfig) -> None:
    refused = []
    for name, code, *message in response.topic_errors:
        # Another process may create a topic first: that is the outcome we wanted.
        if code in (0, _TOPIC_ALREADY_EXISTS):
            continue
        detail = message[0] if message and message[0] else for_code(code).__name__
        refused.append(f"{name}: {detail}")
    if refused:
        raise TopicSetupError(
            "Kafka refused to create topics ("
            + "; ".join(refused[:3])
            + f"). They ask for replication factor {config.replication_factor}"
            + (
                f" and min.insync.replicas {config.min_insync_replicas}"
                if config.min_insync_replicas
                else ""
            )
            + ": set KAFKA_REPLICATION_FACTOR (and KAFKA_MIN_INSYNC_REPLICAS) to what the"
            " cluster has, or check the account's ACLs."
        )


async def _wait_for_leaders(admin: AIOKafkaAdminClient, names: list[str]) -> None:
    # A producer sending before the partition has a leader waits out its metadata timeout.
    for _ in range(100):
        described = await admin.describe_topics(names)
        if all(
            topic.get("error_code", 0) == 0
            and topic.get("partitions")
            and all(p.get("leader", -1) >= 0 for p in topic["partitions"])
            for topic in described
        ):
            return
        await asyncio.sleep(0.1)


class _LastClientError(logging.Handler):
    """aiokafka logs why a connection failed (refused, TLS, SASL) and raises a bare "unable to
    bootstrap": keep the logged cause for the reason."""

    def __init__(self) -> None:
        super().__init__(logging.ERROR)
        self.message: str | None = None

    def emit(self, record: logging.LogRecord) -> None:
        self.message = record.getMessage()


async def kafka_reachable(target: KafkaTarget, timeout: float = 3.0) -> str | None:
    """None when the broker answers, else the reason it did not."""
    bootstrap = bootstrap_of(target)
    admin = new_admin(target, request_timeout_ms=int(timeout * 1000))
    cause = _LastClientError()
    client_log = logging.getLogger("aiokafka")
    client_log.addHandler(cause)
    try:
        await asyncio.wait_for(admin.start(), timeout)
        await asyncio.wait_for(admin.list_topics(), timeout)
    except (TimeoutError, KafkaError, OSError) as error:
        detail = f"{type(error).__name__} {error}".strip()
        if cause.message:
            detail += f" ({cause.message})"
        return f"Kafka at {bootstrap} unreachable: {detail}"
    finally:
        client_log.removeHandler(cause)
        await admin.close()
    return None
