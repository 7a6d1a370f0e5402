"""The demo's options, its fixed figures, and the suite's settings for a compressed day."""

from __future__ import annotations

import argparse
import secrets
import sys
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from shared.geo import TravelModel

# Wednesday 19:00 UTC: 11:00 in Las Vegas, 14:00 in Tysons; every pilot mall is open for hours.
DEFAULT_START = "2026-11-25T19:00:00+00:00"
TERMINAL = frozenset({"delivered", "cancelled", "rejected_by_store", "returned_to_store"})
PICKUP_SERVICE_S = 60
DELIVERY_SERVICE_S = 180
TRAVEL = TravelModel(road_factor=1.3, average_speed_kmh=40.0)
# Real seconds between a moving driver's positions: each one is an event every service reads.
DRIVER_TICK_S = 4.0
# Shoppers who want tonight's delivery pick the first slot opening at or after this local hour.
EVENING_HOUR = 17
EVENING_SHARE = 1 / 3


@dataclass(frozen=True)
class Options:
    customers: int
    demand: float
    stores_per_mall: int
    drivers_per_mall: int
    skus: int
    ordering_hours: float
    speed: float
    start: datetime
    batch_minutes: float
    prep_minutes: tuple[float, float]
    max_drain_hours: float
    seed: int
    out: Path
    base_port: int


def _about() -> str | None:
    # The package's docstring says what the demo does; imported here, when it is complete.
    from services import demo

    return demo.__doc__


def parse_options(argv: list[str] | None = None) -> Options:
    p = argparse.ArgumentParser(prog="python -m services.demo", description=_about())
    p.add_argument("--customers", type=int, default=100, help="shoppers (all malls)")
    p.add_argument(
        "--demand",
        type=float,
        default=1.0,
        help="multiplies the shoppers over the same hours, with the same fleet (2: twice)",
    )
    p.add_argument("--stores-per-mall", type=int, default=6)
    p.add_argument("--drivers-per-mall", type=int, default=6)
    p.add_argument("--skus", type=int, default=150)
    p.add_argument("--ordering-hours", type=float, default=0.75, help="simulated hours of orders")
    p.add_argument("--speed", type=float, default=20.0, help="simulated seconds per real second")
    p.add_argument("--start", default=DEFAULT_START, help="simulated start (ISO 8601)")
    p.add_argument(
        "--batch-minutes", type=float, default=10.0, help="dispatch's batching round interval"
    )
    p.add_argument("--prep-min", type=float, default=2.0, help="fastest store packing, minutes")
    p.add_argument("--prep-max", type=float, default=6.0, help="slowest store packing, minutes")
    p.add_argument(
        "--max-drain-hours",
        type=float,
        default=0.65,
        help="simulated hours to wait after the last order for deliveries",
    )
    p.add_argument("--seed", type=int, default=7)
    p.add_argument("--out", type=Path, default=Path("out/demo"))
    p.add_argument("--base-port", type=int, default=18100)
    a = p.parse_args(argv)
    if (
        a.customers < 1
        or a.demand <= 0
        or a.drivers_per_mall < 1
        or a.speed <= 0
        or a.prep_min > a.prep_max
    ):
        p.error(
            "need customers >= 1, demand > 0, drivers-per-mall >= 1, speed > 0,"
            " prep-min <= prep-max"
        )
    return Options(
        customers=max(1, round(a.customers * a.demand)),
        demand=a.demand,
        stores_per_mall=a.stores_per_mall,
        drivers_per_mall=a.drivers_per_mall,
        skus=a.skus,
        ordering_hours=a.ordering_hours,
        speed=a.speed,
        start=datetime.fromisoformat(a.start),
        batch_minutes=a.batch_minutes,
        prep_minutes=(a.prep_min, a.prep_max),
        max_drain_hours=a.max_drain_hours,
        seed=a.seed,
        out=a.out,
        base_port=a.base_port,
    )


def say(message: str) -> None:
    print(f"[demo] {message}", file=sys.stderr, flush=True)


def suite_env(o: Options, real_start: float) -> dict[str, str]:
    """The suite's settings for the demo: its clock, its secrets, and dispatch's batching window."""
    return {
        "MTH_CLOCK_START": o.start.isoformat(),
        "MTH_CLOCK_SPEED": f"{o.speed:g}",
        "MTH_CLOCK_REAL_START": f"{real_start:.3f}",
        "ORDER_JWT_SECRET": secrets.token_urlsafe(32),
        "ORDER_OPERATOR_TOKEN": secrets.token_urlsafe(24),
        "DISPATCH_OPERATOR_JWT_SECRET": secrets.token_urlsafe(32),
        # Every simulated shopper and driver calls from this one address: per-caller limits
        # meant for the internet would turn the simulated crowd away.
        "CATALOG_RATE_LIMIT_SAME_DAY": "1000000/minute",
        "ORDER_RATE_LIMIT_CHECKOUT": "1000000/minute",
        "ORDER_RATE_LIMIT_ORDERS": "1000000/minute",
        "DRIVER_RATE_LIMIT_SIGN_IN": "1000000/minute",
        # Driver sessions are timed on the suite clock: a 15-minute token is 15 real seconds.
        "DRIVER_ACCESS_TOKEN_SECONDS": str(12 * 3600),
        "DISPATCH_BATCH_INTERVAL_SECONDS": f"{o.batch_minutes * 60:g}",
        "DISPATCH_BATCH_SLACK_TRIGGER_MINUTES": "10",
        "DISPATCH_PICKUP_SERVICE_SECONDS": str(PICKUP_SERVICE_S),
        "DISPATCH_DELIVERY_SERVICE_SECONDS": str(DELIVERY_SERVICE_S),
        "DISPATCH_ROAD_FACTOR": f"{TRAVEL.road_factor:g}",
        "DISPATCH_AVERAGE_SPEED_KMH": f"{TRAVEL.average_speed_kmh:g}",
        "DISPATCH_SOLVE_SECONDS": "1",
        # Timeouts meant for people and shops, in simulated seconds, scaled for the compressed
        # clock: a 15-minute accept window would be 15 real seconds on a busy machine at x60.
        "ORDER_RESERVATION_TTL_SECONDS": f"{max(900.0, 60 * o.speed):g}",
        # A 5-minute quote lasts 15 real seconds at x20: a queued checkout would find it gone.
        "ORDER_QUOTE_TTL_SECONDS": f"{max(300.0, 60 * o.speed):g}",
        # A 60-second offer lasts one real second at x60, less than a busy round trip.
        "DISPATCH_OFFER_TTL_SECONDS": f"{max(60.0, 10 * o.speed):g}",
        # Idle drivers report every 15 real seconds to keep the event load down.
        "DISPATCH_POSITION_FRESH_SECONDS": f"{max(300.0, 25 * o.speed):g}",
    }
