"""Settings common to every service; each service subclasses with its own env prefix."""

from __future__ import annotations

import os
import sys
from typing import Annotated, Any, Literal, TypeVar

from pydantic import (
    AfterValidator,
    AliasChoices,
    BeforeValidator,
    Field,
    SecretStr,
    ValidationError,
    field_validator,
    model_validator,
)
from pydantic_settings import BaseSettings, SettingsConfigDict
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError

from shared.http_limits import parse_rate
from shared.kafka import KafkaConfig
from shared.local import DATABASES, LocalRuntime


def _at_least_32_bytes(value: SecretStr) -> SecretStr:
    # As long as a 256-bit key, and HS256's hash: a secret between machines, never a password.
    if len(value.get_secret_value().encode()) < 32:
        raise ValueError("must be at least 32 bytes")
    return value


# A secret shared between processes (service tokens, signing keys), refused at start if short.
SharedSecret = Annotated[SecretStr, AfterValidator(_at_least_32_bytes)]
# A per-caller request rate such as "60/minute".
Rate = Annotated[str, AfterValidator(parse_rate)]


class KafkaSettings(BaseSettings):
    """The cluster every process of the suite uses: one set of `KAFKA_*` variables, no prefix.

    The defaults are the project's own broker (plaintext, one replica); a managed cluster sets
    the security protocol, SASL credentials or TLS files, and the replication of the topics.
    """

    model_config = SettingsConfigDict(extra="ignore")

    kafka_bootstrap_servers: str = Field(
        "127.0.0.1:9092", validation_alias="KAFKA_BOOTSTRAP_SERVERS"
    )
    kafka_security_protocol: Literal["PLAINTEXT", "SSL", "SASL_PLAINTEXT", "SASL_SSL"] = Field(
        "PLAINTEXT", validation_alias="KAFKA_SECURITY_PROTOCOL"
    )
    kafka_sasl_mechanism: Literal["PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512"] | None = Field(
        None, validation_alias="KAFKA_SASL_MECHANISM"
    )
    kafka_sasl_username: str | None = Field(None, validation_alias="KAFKA_SASL_USERNAME")
    kafka_sasl_password: SecretStr | None = Field(None, validation_alias="KAFKA_SASL_PASSWORD")
    # PEM files; without a CA file the system's trusted CAs verify the brokers.
    kafka_ssl_cafile: str | None = Field(None, validation_alias="KAFKA_SSL_CAFILE")
    kafka_ssl_certfile: str | None = Field(None, validation_alias="KAFKA_SSL_CERTFILE")
    kafka_ssl_keyfile: str | None = Field(None, validation_alias="KAFKA_SSL_KEYFILE")
    kafka_ssl_check_hostname: bool = Field(True, validation_alias="KAFKA_SSL_CHECK_HOSTNAME")
    # Topics the services create; a three-broker cluster wants 3 and 2.
    kafka_replication_factor: int = Field(1, ge=1, validation_alias="KAFKA_REPLICATION_FACTOR")
    kafka_min_insync_replicas: int | None = Field(
        None, ge=1, validation_alias="KAFKA_MIN_INSYNC_REPLICAS"
    )

    @field_validator("kafka_bootstrap_servers")
    @classmethod
    def _bootstrap_is_host_port(cls, value: str) -> str:
        for server in value.split(","):
            host, _, port = server.strip().rpartition(":")
            if not host or not port.isdigit():
                raise ValueError(f"expected host:port[,host:port], got {value!r}")
        return value

    @model_validator(mode="after")
    def _kafka_is_consistent(self) -> KafkaSettings:
        self.kafka()  # KafkaConfig checks SASL credentials and replication; ValueError names it
        return self

    def kafka(self) -> KafkaConfig:
        password = self.kafka_sasl_password
        return KafkaConfig(
            bootstrap_servers=self.kafka_bootstrap_servers,
            security_protocol=self.kafka_security_protocol,
            sasl_mechanism=self.kafka_sasl_mechanism,
            sasl_username=self.kafka_sasl_username,
            sasl_password=password.get_secret_value() if password is not None else None,
            ssl_cafile=self.kafka_ssl_cafile,
            ssl_certfile=self.kafka_ssl_certfile,
            ssl_keyfile=self.kafka_ssl_keyfile,
            ssl_check_hostname=self.kafka_ssl_check_hostname,
            replication_factor=self.kafka_replication_factor,
            min_insync_replicas=self.kafka_min_insync_replicas,
        )


LogLevel = Annotated[
    Literal["DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"],
    BeforeValidator(lambda value: value.upper() if isinstance(value, str) else value),
]


def log_level_setting(env_prefix: str) -> Any:
    """`<SERVICE>_LOG_LEVEL`, else the deployment-wide `LOG_LEVEL` (the Kubernetes config map
    sets it for every service), else INFO."""
    return Field("INFO", validation_alias=AliasChoices(f"{env_prefix}LOG_LEVEL", "LOG_LEVEL"))


DEVELOPMENT_MODE_VARIABLE = "MTH_DEVELOPMENT_MODE"


def development_secret(default: str | SecretStr, **constraints: Any) -> Any:
    """A secret field whose default is written in this repository: fine on a developer's
    machine, refused at start unless development mode is on."""
    return Field(default, json_schema_extra={"development_default": True}, **constraints)


class DevelopmentSecrets(BaseSettings):
    """Refuses the repository's development default secrets unless development mode is on."""

    model_config = SettingsConfigDict(extra="ignore", populate_by_name=True)

    # `make up`, `make test`, `make demo` and the suites set it; nothing deployed should.
    development_mode: bool = Field(False, validation_alias=DEVELOPMENT_MODE_VARIABLE)

    @model_validator(mode="after")
    def _no_development_secrets_in_production(self) -> DevelopmentSecrets:
        if self.development_mode:
            return self
        prefix = str(self.model_config.get("env_prefix", ""))
        defaults = []
        for name, info in type(self).model_fields.items():
            extra = info.json_schema_extra
            if not isinstance(extra, dict) or not extra.get("development_default"):
                continue
            if _plain(getattr(self, name)) == _plain(info.default):
                defaults.append(f"{prefix}{name.upper()}")
        if defaults:
            raise ValueError(
                f"{', '.join(defaults)} still hold{'s' if len(defaults) == 1 else ''} the "
                "development default written in the repository: set "
                f"{'it' if len(defaults) == 1 else 'each'} to a secret of your own "
                "(python -c 'import secrets; print(secrets.token_urlsafe(32))'), "
                f"or set {DEVELOPMENT_MODE_VARIABLE}=1 on a development machine"
            )
        return self


def _plain(value: object) -> object:
    return value.get_secret_value() if isinstance(value, SecretStr) else value


class ServiceSettings(KafkaSettings, DevelopmentSecrets):
    model_config = SettingsConfigDict(extra="ignore", populate_by_name=True)

    service_name: str = "service"
    database_url: str
    # Tests give every run fresh topics by suffixing the names in shared.events.topics.
    topic_suffix: str = ""
    # Prefix of the service's consumer group ids (default: the service name).
    consumer_group: str = ""
    host: str = "127.0.0.1"
    port: int = 8000
    log_level: LogLevel = "INFO"
    db_pool_size: int = 10
    # A round trip per connection taken from the pool; off, connections are recycled instead.
    db_pre_ping: bool = True
    db_recycle_seconds: float = Field(1800.0, gt=0)
    # Waits longer than these fail (a request answers 503 with Retry-After) instead of hanging.
    db_pool_timeout_seconds: float = Field(30.0, gt=0)
    db_lock_timeout_seconds: float | None = Field(None, gt=0)
    relay_poll_seconds: float = Field(0.5, gt=0)
    relay_send_timeout_seconds: float = Field(10.0, gt=0)
    # Sent rows are kept this long for inspection (`make chaos` reconciles from them).
    outbox_retention_seconds: float = Field(86_400.0, gt=0)
    # Attempts at an event that fails the same way each time (a bug, a broken contract) before
    # it goes to the dead-letter topic; transient failures are retried for as long as they last.
    consumer_max_attempts: int = Field(3, ge=1)
    # The longest wait between two attempts at an event that fails transiently.
    consumer_max_backoff_seconds: float = Field(30.0, gt=0)
    # Partitions whose events a service applies at the same time (each partition in order).
    # 1 keeps the handlers from racing each other across topics; more is faster when the
    # handlers are safe against it (a second replica of the service would race them too).
    consumer_concurrency: int = Field(1, ge=1)
    # Writes one row per applied event to `consumer_effects`: what `make chaos` counts.
    consumer_effect_log: bool = False
    # Any request body; routes that take more (photos, retailer batches) say so themselves.
    max_body_bytes: int = Field(1_048_576, gt=0)
    # Tracing is on when this is set (the standard OpenTelemetry variable; the exporter reads
    # it and its OTEL_EXPORTER_OTLP_* siblings itself), e.g. http://otel-collector:4318.
    otel_exporter_otlp_endpoint: str = Field(
        "",
        validation_alias=AliasChoices(
            "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", "OTEL_EXPORTER_OTLP_ENDPOINT"
        ),
    )

    @field_validator("database_url")
    @classmethod
    def _database_url_is_postgres(cls, value: str) -> str:
        try:
            url = make_url(value)
        except ArgumentError as error:
            raise ValueError(f"not a database URL ({error})") from None
        if url.drivername != "postgresql+asyncpg":
            raise ValueError(f"must start with postgresql+asyncpg:// (got {url.drivername}://)")
        if not url.database:
            raise ValueError("names no database (add /<name> at the end)")
        return value

    def group(self, purpose: str) -> str:
        return f"{self.consumer_group or self.service_name}.{purpose}"


S = TypeVar("S", bound=ServiceSettings)


def describe_settings_error(error: ValidationError, env_prefix: str) -> str:
    problems = []
    for item in error.errors():
        field = str(item["loc"][0]) if item["loc"] else ""
        message = (
            "is not set" if item["type"] == "missing" else item["msg"].removeprefix("Value error, ")
        )
        if not field:
            # A check across several variables: its message names them.
            problems.append(message)
            continue
        # An aliased field reports the variable's own name, already upper case; the Kafka
        # variables are shared by every service, so they carry no prefix.
        upper = field.upper()
        variable = (
            field
            if field.isupper()
            else DEVELOPMENT_MODE_VARIABLE
            if field == "development_mode"
            else upper
            if upper.startswith("KAFKA_")
            else f"{env_prefix}{upper}"
        )
        if variable == f"{env_prefix}LOG_LEVEL":
            variable += " (or LOG_LEVEL)"
        problems.append(f"{variable} {message}")
    return "invalid settings: " + "; ".join(problems)


def load_settings(cls: type[S], **defaults: Any) -> S:
    """Builds settings from the environment; a bad value prints one line and exits non-zero.

    `defaults` fill fields whose variable is not set (the environment still wins).
    """
    prefix = str(cls.model_config.get("env_prefix", ""))
    unset = {k: v for k, v in defaults.items() if f"{prefix}{k}".upper() not in os.environ}
    try:
        return cls(**unset)
    except ValidationError as error:
        print(describe_settings_error(error, prefix), file=sys.stderr)
        raise SystemExit(2) from None


def load_dev_settings(cls: type[S]) -> S:
    """For the dev commands: the service's settings, its database defaulting to the one on the
    local runtime's PostgreSQL, so nothing needs setting while `make up` runs."""
    prefix = str(cls.model_config.get("env_prefix", "")).removesuffix("_")
    database = LocalRuntime().database_url(DATABASES[prefix])
    return load_settings(cls, database_url=database)
