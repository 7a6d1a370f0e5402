"""The flow bench's suite settings admit what the bench itself does (no benchmark runs here)."""

from __future__ import annotations

import limits

from bench.flow import FLOW_ENV, drivers_registered, parse_args
from driver_service.settings import DriverSettings


def test_the_driver_sign_in_limit_admits_every_driver_the_default_run_registers() -> None:
    # One bench process registers every driver from one address; the default limit (20 a
    # minute) stopped `make bench` with a 429 at the 21st.
    default = DriverSettings.model_fields["rate_limit_sign_in"].default
    rate = limits.parse(FLOW_ENV.get("DRIVER_RATE_LIMIT_SIGN_IN", default))
    per_minute = rate.amount * 60 / rate.get_expiry()

    assert per_minute >= drivers_registered(parse_args([]))
