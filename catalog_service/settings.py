from __future__ import annotations

import socket

from pydantic import Field, SecretStr
from pydantic_settings import SettingsConfigDict

from shared.settings import (
    LogLevel,
    Rate,
    ServiceSettings,
    SharedSecret,
    development_secret,
    log_level_setting,
)


class CatalogSettings(ServiceSettings):
    model_config = SettingsConfigDict(env_prefix="CATALOG_", extra="ignore")

    service_name: str = "catalog"
    port: int = 8001
    # Each replica keeps a complete read model, so each reads every inventory and capacity event
    # in a consumer group of its own: this names it. Kubernetes sets the pod name; by default
    # the host name, which is the pod name there too.
    replica_id: str = Field(
        default_factory=socket.gethostname, max_length=100, pattern=r"^[A-Za-z0-9._-]+$"
    )
    log_level: LogLevel = log_level_setting("CATALOG_")
    # Keys offer ids and cursors; every catalog instance must share it, and production sets it.
    token_secret: str = development_secret("dev-only-catalog-token-secret", min_length=16)
    # The bearer token of the internal endpoints (`/v1/stores`, `/v1/offers/{id}`), which name
    # stores: the order service sends the same value as ORDER_CATALOG_INTERNAL_TOKEN.
    internal_token: SharedSecret = development_secret(
        SecretStr("dev-only-catalog-internal-token-change-me-in-production")
    )
    # Same-day queries per client address (the storefront's visitors).
    rate_limit_same_day: Rate = "300/minute"
    # The storefront's origins, for browsers (JSON list): none by default.
    cors_origins: list[str] = Field(default_factory=list)
    # Retailer batches hold up to 10,000 rows.
    retailer_max_body_bytes: int = Field(16 * 1_048_576, gt=0)
    # Resolution 7 cells are about 5 km2: fine enough for capacity areas, few per mall.
    h3_resolution: int = Field(7, ge=0, le=15)
    low_stock_threshold: int = Field(3, ge=0)
    # Defaults for a mall's row when it is first created from the pilot data.
    default_delivery_radius_m: int = Field(30_000, gt=0)
    default_road_factor: float = Field(1.3, ge=1.0)
    default_average_speed_kmh: float = Field(40.0, gt=0)
    default_cutoff_minutes_before_close: int = Field(90, ge=0)
    default_prep_minutes: int = Field(30, ge=0)
