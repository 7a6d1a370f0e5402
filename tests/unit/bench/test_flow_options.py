"""The flow bench's suite settings admit what the bench itself does (no benchmark runs here)."""

from __future__ import annotations

import limits
from pydantic_settings import BaseSettings

from bench.flow import FLOW_ENV, drivers_registered, parse_args
from driver_service.settings import DriverSettings
from order_service.settings import OrderSettings


def per_minute(settings: type[BaseSettings], field: str, env: str) -> float:
    """The limit the bench's suite runs with: its own setting, else the service's default."""
    rate = limits.parse(FLOW_ENV.get(env, settings.model_fields[field].default))
    return rate.amount * 60 / rate.get_expiry()


def test_the_driver_sign_in_limit_admits_every_driver_the_default_run_registers() -> None:
    # One bench process registers every driver from one address; the default limit (20 a
    # minute) stopped `make bench` with a 429 at the 21st.
    allowed = per_minute(DriverSettings, "rate_limit_sign_in", "DRIVER_RATE_LIMIT_SIGN_IN")

    assert allowed >= drivers_registered(parse_args([]))


def test_the_checkout_limit_admits_every_order_the_default_run_places() -> None:
    # One customer places every timed order within a minute or two; the default limit (30 a
    # minute) stopped `make bench` with a 429 at the 31st.
    allowed = per_minute(OrderSettings, "rate_limit_checkout", "ORDER_RATE_LIMIT_CHECKOUT")

    assert allowed >= parse_args([]).orders
