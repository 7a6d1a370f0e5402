"""Every Kafka topic of the suite, in one place, with its partition count.

Keys: an aggregate id or a mall id, so one mall's events stay in order on one partition.
Dead letters go to `<topic>.dlq`.
"""

from __future__ import annotations

from typing import Final

STORES: Final = "stores"  # catalog: the store directory other services copy, keyed by store id
INVENTORY: Final = "inventory"  # catalog: stock changes, keyed by store id
ORDERS: Final = "orders"  # order: lifecycle, keyed by mall id
ROUTES: Final = "routes"  # dispatch: plans, offers, assignment, keyed by mall id
ZONES: Final = "zones"  # dispatch -> catalog: same-day capacity signal, keyed by mall id
DRIVER_ACTIVITY: Final = (
    "driver-activity"  # driver: accepts, pickups, deliveries, keyed by route id
)
DRIVERS: Final = "drivers"  # driver: availability and positions, keyed by driver id

PARTITIONS: Final[dict[str, int]] = {
    STORES: 3,
    INVENTORY: 6,
    ORDERS: 6,
    ROUTES: 6,
    ZONES: 3,
    DRIVER_ACTIVITY: 6,
    DRIVERS: 6,
}

DLQ_SUFFIX: Final = ".dlq"


def dead_letter(topic: str) -> str:
    return topic + DLQ_SUFFIX


def resolve(topic: str, suffix: str = "") -> str:
    """The concrete topic name; tests add a suffix so each test gets fresh topics."""
    return topic + suffix


def all_topics(suffix: str = "") -> dict[str, int]:
    names: dict[str, int] = {}
    for topic, partitions in PARTITIONS.items():
        names[resolve(topic, suffix)] = partitions
        names[dead_letter(resolve(topic, suffix))] = 1
    return names
