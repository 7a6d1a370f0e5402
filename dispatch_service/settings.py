from __future__ import annotations

from pathlib import Path

from pydantic import Field, SecretStr, field_validator
from pydantic_settings import SettingsConfigDict

from shared.settings import (
    DevelopmentSecrets,
    LogLevel,
    ServiceSettings,
    SharedSecret,
    development_secret,
    log_level_setting,
)

# The advertised hourly floor must stay within the market's promise to drivers.
MIN_HOURLY_CENTS = 1800
MAX_HOURLY_CENTS = 2500


class OperatorAuthSettings(DevelopmentSecrets):
    """Apart, so `python -m dispatch_service.dev token` needs no database URL."""

    model_config = SettingsConfigDict(env_prefix="DISPATCH_", extra="ignore", populate_by_name=True)

    # Operator tokens are HS256 JWTs with role "operator" (`python -m dispatch_service.dev token`).
    operator_jwt_secret: SharedSecret = development_secret(
        SecretStr("dev-dispatch-operator-secret-change-me-in-production")
    )
    operator_token_seconds: int = Field(12 * 3600, gt=0)


class DispatchSettings(ServiceSettings, OperatorAuthSettings):
    model_config = SettingsConfigDict(env_prefix="DISPATCH_", extra="ignore")

    service_name: str = "dispatch"
    port: int = 8003
    log_level: LogLevel = log_level_setting("DISPATCH_")

    # Timers, in simulated seconds (shared.clock): how often each loop wakes up.
    batch_tick_seconds: float = Field(5.0, gt=0)
    offer_tick_seconds: float = Field(2.0, gt=0)
    is_timers_enabled: bool = True

    # Batching: a mall's round runs every interval, or sooner when its pool is large or urgent.
    batch_interval_seconds: float = Field(30.0, gt=0)
    # Triggers pull a round forward, but never closer than this to the previous one.
    batch_min_gap_seconds: float = Field(10.0, ge=0)
    batch_pool_trigger_size: int = Field(25, gt=0)
    batch_slack_trigger_minutes: float = Field(30.0, ge=0)
    solve_seconds: float = Field(2.0, gt=0)
    solve_seed: int = 1
    # Time from planning to a driver leaving the mall: offer rounds and walking to the stores.
    dispatch_lead_minutes: float = Field(10.0, ge=0)
    block_minutes: int = Field(180, ge=120, le=240)
    max_route_packages: int = Field(12, gt=0)
    # A route costs this many metres of driving in the solver: it prefers fewer, fuller routes.
    route_fixed_cost_m: int = Field(20_000, ge=0)
    pickup_service_seconds: int = Field(60, ge=0)
    delivery_service_seconds: int = Field(180, ge=0)
    # A shipment whose promise is lost is still delivered, as soon as it can be, within this.
    late_delivery_window_minutes: float = Field(120.0, gt=0)
    road_factor: float = Field(1.3, gt=0)
    average_speed_kmh: float = Field(40.0, gt=0)

    # Offers.
    offer_ttl_seconds: float = Field(60.0, gt=0)
    drivers_per_offer: int = Field(3, gt=0)
    offer_radius_m: float = Field(8_000.0, gt=0)
    position_fresh_seconds: float = Field(300.0, gt=0)
    # Hourly rate by block length: short blocks pay more per hour, as the driver's day is broken.
    short_block_hourly_cents: int = 2500
    standard_block_hourly_cents: int = 2200
    long_block_hourly_cents: int = 2000
    # Pickups and drop-offs alike; the block's hourly rate is what short routes are paid.
    per_stop_cents: int = Field(150, ge=0)
    per_mile_cents: int = Field(70, ge=0)
    # Surge, from a route's second offer on: each slack threshold crossed raises pay and radius.
    surge_slack_thresholds_minutes: list[float] = Field(default_factory=lambda: [45.0, 30.0, 15.0])
    surge_step_pct: int = Field(15, ge=0)
    surge_cap_pct: int = Field(50, ge=0)
    surge_radius_step_m: float = Field(4_000.0, ge=0)
    max_offer_radius_m: float = Field(20_000.0, gt=0)
    # A route nobody took after this many rounds goes back to the pool to be planned anew.
    max_offer_rounds: int = Field(8, gt=0)

    # A shipment whose delivery window opens later waits in the pool until its opening is this
    # close: planned sooner, its driver would only wait at the door.
    window_planning_minutes: float = Field(45.0, gt=0)
    # What one driver serving a mall delivers an hour, before its routes say otherwise: the
    # fleet's rate that quotes weigh each delivery window's bookings against
    # (zone.capacity_changed's orders_per_hour).
    orders_per_driver_hour: float = Field(4.0, gt=0)
    # The mall's own completed routes of the last `fleet_rate_lookback_minutes` correct that
    # figure (domain/fleet_rate); the setting weighs as this many driver-hours at its rate.
    fleet_rate_lookback_minutes: float = Field(120.0, gt=0)
    fleet_rate_prior_hours: float = Field(1.0, ge=0)
    # A driver's next route accepted within this of the last one's end: busy, and the drive back
    # and the wait between them count; a longer gap is idle time, which does not.
    fleet_rate_max_gap_minutes: float = Field(20.0, ge=0)
    # An online driver near the mall counts in the rate until its last fix is this old: longer
    # than the freshness an offer needs, so the next hours' promises do not swing with each
    # late position report (going offline is told by its own event).
    fleet_rate_position_fresh_minutes: float = Field(30.0, gt=0)

    # Same-day capacity signal to the catalog.
    at_risk_saturation_count: int = Field(5, gt=0)
    saturation_rounds: int = Field(3, gt=0)
    saturation_promise_delay_minutes: int = Field(60, ge=0)

    # The operator console (/console). Its actions go through the services that own the data:
    # cancelling a shipment through the order service, taking a driver offline through the
    # driver service, each with that service's operator token.
    order_url: str = "http://127.0.0.1:8002"
    order_operator_token: SecretStr = development_secret(SecretStr("dev-operator-token"))
    driver_url: str = "http://127.0.0.1:8004"
    driver_operator_token: SharedSecret = development_secret(
        SecretStr("dev-driver-operator-token-change-me-in-production")
    )
    peer_timeout_seconds: float = Field(5.0, gt=0)
    # A base map's tile URL ({z}/{x}/{y}); empty draws the plain projection, which needs no
    # network: the mall's outline, its stores, routes and drivers, and a scale.
    console_tile_url: str = ""
    console_tile_attribution: str = ""
    # The map library, installed from npm by `make console-assets` (npm ci).
    console_assets_dir: Path = Path(__file__).resolve().parent.parent / "node_modules"
    # Real seconds between looks at the database for changes to stream, and the longest a
    # stream stays open before the browser reconnects (and resumes) on its own.
    console_refresh_seconds: float = Field(1.0, gt=0)
    console_stream_seconds: float = Field(25.0, gt=0)
    # Exceptions: a waiting shipment with less slack than this is at risk; a route offered this
    # many times is unaccepted; a store is slow past its usual packing time plus the grace; a
    # driver this far from their route is off it.
    console_pool_slack_minutes: float = Field(30.0, ge=0)
    console_unaccepted_offers: int = Field(3, gt=0)
    console_slow_pack_grace_minutes: float = Field(15.0, ge=0)
    console_off_route_m: float = Field(2_000.0, gt=0)

    @field_validator(
        "short_block_hourly_cents", "standard_block_hourly_cents", "long_block_hourly_cents"
    )
    @classmethod
    def _hourly_within_market_band(cls, value: int) -> int:
        if not MIN_HOURLY_CENTS <= value <= MAX_HOURLY_CENTS:
            raise ValueError(f"must be between {MIN_HOURLY_CENTS} and {MAX_HOURLY_CENTS} cents")
        return value

    @field_validator("surge_slack_thresholds_minutes")
    @classmethod
    def _thresholds_descending(cls, value: list[float]) -> list[float]:
        if value != sorted(value, reverse=True):
            raise ValueError("must be in descending order")
        return value
