"""Where the local runtime (`make up`, `make test`) runs PostgreSQL and Kafka.

One place for both the runtime that starts them (`services/infra.py`) and the dev commands that
connect to them, so a dev command needs no variable set while `make up` runs.
"""

from __future__ import annotations

from pydantic_settings import BaseSettings, SettingsConfigDict

# Each service's database on the local PostgreSQL, by the service's settings prefix.
DATABASES = {"CATALOG": "catalog", "ORDER": "orders", "DISPATCH": "dispatch", "DRIVER": "drivers"}


class LocalRuntime(BaseSettings):
    """`MTH_PG_PORT` and `MTH_KAFKA_PORT` move them, so two checkouts can each run their own."""

    model_config = SettingsConfigDict(env_prefix="MTH_", extra="ignore")

    pg_port: int = 55432
    kafka_port: int = 9092

    def database_url(self, database: str) -> str:
        return f"postgresql+asyncpg://postgres@127.0.0.1:{self.pg_port}/{database}"

    @property
    def kafka_bootstrap(self) -> str:
        return f"127.0.0.1:{self.kafka_port}"
