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


class DriverSettings(ServiceSettings):
    model_config = SettingsConfigDict(env_prefix="DRIVER_", extra="ignore")

    service_name: str = "driver"
    port: int = 8004
    log_level: LogLevel = log_level_setting("DRIVER_")
    jwt_secret: str = development_secret(
        "dev-driver-secret-change-me-in-production", min_length=32
    )
    # Operators (dispatch's console) send it to the /v1/admin/ endpoints: taking a driver who
    # stopped reporting offline. Dispatch holds the same value as DISPATCH_DRIVER_OPERATOR_TOKEN.
    operator_token: SharedSecret = development_secret(
        SecretStr("dev-driver-operator-token-change-me-in-production")
    )
    access_token_seconds: int = Field(900, gt=0)
    refresh_token_seconds: int = Field(30 * 86_400, gt=0)
    # At most one accepted position per driver in this many seconds; more is 429.
    location_min_interval_seconds: float = Field(5.0, ge=0)
    location_stale_after_seconds: float = Field(180.0, gt=0)
    # Long polls hold at most this long, whatever the client asks.
    max_poll_wait_seconds: float = Field(25.0, gt=0)
    delivery_geofence_m: float = Field(150.0, gt=0)
    mall_geofence_m: float = Field(400.0, gt=0)
    free_pickup_wait_minutes: float = Field(10.0, ge=0)
    max_photo_bytes: int = Field(5_000_000, gt=0)
    # Sign-ups and token refreshes per client address.
    rate_limit_sign_in: Rate = "20/minute"
    # Proof photos are served at links the order service signs with the same secret
    # (ORDER_PROOF_URL_SECRET); a link works until the expiry it carries.
    proof_url_secret: SharedSecret = development_secret(
        SecretStr("dev-only-proof-url-secret-change-me-in-production")
    )
