from __future__ import annotations

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


class OrderSettings(ServiceSettings):
    model_config = SettingsConfigDict(env_prefix="ORDER_", extra="ignore")

    service_name: str = "order"
    port: int = 8002
    log_level: LogLevel = log_level_setting("ORDER_")

    jwt_secret: str = development_secret("dev-only-jwt-secret-change-me-0123456789", min_length=32)
    operator_token: str = development_secret("dev-operator-token", min_length=8)

    # Checkout is the hot path: no pre-ping round trip per transaction (connections are
    # recycled), and a checkout that cannot get a connection or a stock lock within a few
    # seconds answers 503 with Retry-After instead of hanging.
    db_pre_ping: bool = False
    db_recycle_seconds: float = Field(600.0, gt=0)
    db_pool_timeout_seconds: float = Field(5.0, gt=0)
    db_lock_timeout_seconds: float | None = Field(3.0, gt=0)

    catalog_url: str = "http://127.0.0.1:8001"
    # The catalog's CATALOG_INTERNAL_TOKEN: its offer resolution names stores.
    catalog_internal_token: SharedSecret = development_secret(
        SecretStr("dev-only-catalog-internal-token-change-me-in-production")
    )
    catalog_timeout_seconds: float = Field(2.0, gt=0)
    catalog_attempts: int = Field(3, ge=1)
    catalog_backoff_seconds: float = Field(0.2, ge=0)
    catalog_retry_after_seconds: int = Field(5, ge=1)

    # Per customer: checkouts, and reads or cancels of their orders.
    rate_limit_checkout: Rate = "30/minute"
    rate_limit_orders: Rate = "300/minute"
    # The storefront's origins, for browsers (JSON list): none by default.
    cors_origins: list[str] = Field(default_factory=list)

    require_delivery_pin: bool = True
    # A store that has not accepted a shipment this long after it was placed loses it.
    reservation_ttl_seconds: float = Field(900.0, gt=0)
    reservation_check_seconds: float = Field(5.0, gt=0)
    max_cart_lines: int = Field(20, ge=1)
    # A checkout still unfinished after this long died with its process: a retry takes over.
    idempotency_stale_seconds: float = Field(120.0, gt=0)

    # A previous webhook secret and API key stay valid this long after a rotation.
    pos_rotation_grace_seconds: float = Field(86_400, ge=0)
    retailer_event_max_bytes: int = Field(16_384, ge=256)

    webhook_poll_seconds: float = Field(1.0, gt=0)
    webhook_timeout_seconds: float = Field(5.0, gt=0)
    # Recipients posted to at once: each has a worker, so a slow one delays only itself.
    webhook_concurrency: int = Field(16, ge=1)
    # A delivery is retried this long (at least a day), then kept as failed, replayable.
    webhook_retry_seconds: float = Field(86_400.0, ge=86_400.0)
    webhook_backoff_seconds: float = Field(2.0, gt=0)
    # An endpoint back from an outage gets its deliveries within this.
    webhook_backoff_max_seconds: float = Field(900.0, gt=0)

    # The storefront's bearer token for its webhook endpoints and deliveries.
    storefront_token: SharedSecret = development_secret(
        SecretStr("dev-only-storefront-token-change-me-in-production")
    )
    # Where shoppers reach this service: tracking links are made from it.
    public_url: str = "http://127.0.0.1:8002"
    # Proof photos are served by the driver service at signed links that expire; the driver
    # service checks them with the same secret (DRIVER_PROOF_URL_SECRET).
    driver_public_url: str = "http://127.0.0.1:8004"
    proof_url_secret: SharedSecret = development_secret(
        SecretStr("dev-only-proof-url-secret-change-me-in-production")
    )
    proof_url_ttl_seconds: float = Field(172_800.0, gt=0)
    # Quotes: how long one holds, and the delivery fees (mall-level, the same for every store).
    quote_ttl_seconds: float = Field(300.0, gt=0)
    asap_fee_cents: int = Field(599, ge=0)
    scheduled_fee_cents: int = Field(399, ge=0)
    # Until dispatch says how many orders a mall's fleet delivers an hour, quotes assume this.
    default_orders_per_hour: float = Field(24.0, gt=0)
