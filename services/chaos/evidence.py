"""What the reconciliation reads and counts: the consumer groups the services wire, the
databases' rows, the tally."""

from __future__ import annotations

import uuid
from collections import defaultdict
from dataclasses import dataclass, field
from socket import gethostname
from types import SimpleNamespace
from typing import cast

import asyncpg

from catalog_service.events.handlers import build_consumers
from catalog_service.usecases import CatalogRuntime
from dispatch_service.events.handlers import consumers as dispatch_consumers
from dispatch_service.usecases import Policies
from driver_service.events.handlers import CONSUMERS as DRIVER_CONSUMERS
from order_service.events.handlers import build_consumers as order_consumers
from order_service.outgoing import Outgoing
from shared.db import asyncpg_dsn
from shared.service import ConsumerSpec

TERMINAL = frozenset({"delivered", "cancelled", "rejected_by_store", "returned_to_store"})
HOLDING = ("placed", "accepted")


def consumer_specs() -> dict[str, list[ConsumerSpec]]:
    """Each service's consumer groups as the services wire them. The catalog, order and
    dispatch handlers only close over their runtime: none is needed to read which types they
    take."""
    # The catalog names its group by replica: the suite's one runs with the default, the host name.
    catalog = SimpleNamespace(settings=SimpleNamespace(replica_id=gethostname()))
    return {
        "catalog": build_consumers(cast(CatalogRuntime, catalog)),
        "order": order_consumers(cast(Outgoing, None)),
        "dispatch": dispatch_consumers(cast(Policies, None)),
        "driver": list(DRIVER_CONSUMERS),
    }


def expected_groups(suffix: str) -> dict[str, set[str]]:
    """Event type -> the consumer groups that must apply it (group ids as the suite sets them)."""
    wanted: dict[str, set[str]] = defaultdict(set)
    for service, specs in consumer_specs().items():
        for spec in specs:
            for event_type in spec.handlers:
                wanted[event_type].add(f"{service}{suffix}.{spec.purpose}")
    return wanted


@dataclass
class Reconciliation:
    lost: int = 0
    duplicate_effects: int = 0
    inversions: int = 0
    double_assigned: int = 0
    stock_drift: int = 0
    stuck: int = 0
    events: int = 0
    applied: int = 0
    details: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class OutboxRow:
    producer: str
    id: int
    event_id: uuid.UUID
    topic: str
    key: str
    event_type: str
    is_sent: bool


async def fetch(url: str, sql: str) -> list[asyncpg.Record]:
    conn = await asyncpg.connect(asyncpg_dsn(url), timeout=10)
    try:
        return list(await conn.fetch(sql))
    finally:
        await conn.close()
