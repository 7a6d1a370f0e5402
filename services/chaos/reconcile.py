"""After the chaos: wait for the backbone to drain, then reconcile from the databases and topics.

Nothing here trusts the traffic's own bookkeeping. The sources are the four services' databases
(outbox rows kept for the run, `outbox_dead`, inbox, the effect log each consumer writes in its
handler's transaction, orders, stock, routes) and every record on the run's topics.

- lost: an event committed to an outbox that is not on its topic, or that a consumer group
  handling its type never applied (no inbox row);
- duplicate_effects: an event whose handler took effect twice in one group (effect log rows);
- inversions: an event a group applied after a later event of the same producer, topic and key;
- double_assigned: a shipment on two live routes at once (accepted by two drivers, or on two
  assigned dispatch routes);
- stock_drift: a (store, SKU) whose count plus what was sold is not what was loaded (no
  restocks run), or whose reservations are not the open orders' lines;
- stuck: an order not in a terminal state that its last event does not explain (the next step
  belongs to someone the run's events already reached, yet it did not happen).
"""

from __future__ import annotations

import asyncio
import contextlib
import time
import uuid
from collections import Counter, defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from socket import gethostname
from types import SimpleNamespace
from typing import Any, cast

import asyncpg
import orjson
from aiokafka import TopicPartition
from aiokafka.errors import KafkaError

from catalog_service.events.handlers import build_consumers
from catalog_service.usecases import CatalogRuntime
from dispatch_service.events.handlers import consumers as dispatch_consumers
from dispatch_service.usecases import Policies
from driver_service.events.handlers import CONSUMERS as DRIVER_CONSUMERS
from order_service.events.handlers import build_consumers as order_consumers
from order_service.outgoing import Outgoing
from services.suite import SERVICES, Suite
from shared.db import asyncpg_dsn
from shared.events import topics
from shared.kafka import new_admin, new_consumer
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


# --- drain --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Cutoff:
    """The backlog to drain: outbox rows written by `at`, records below `ends` on the topics."""

    at: datetime
    ends: dict[TopicPartition, int]
    taken: float


def run_partitions(suffix: str) -> list[TopicPartition]:
    return [
        TopicPartition(topics.resolve(topic, suffix), p)
        for topic, count in topics.PARTITIONS.items()
        for p in range(count)
    ]


async def end_offsets(
    bootstrap: str, partitions: list[TopicPartition]
) -> dict[TopicPartition, int]:
    consumer = new_consumer(bootstrap, group_id=None, enable_auto_commit=False)
    await consumer.start()
    try:
        ends: dict[TopicPartition, int] = await consumer.end_offsets(partitions)
        return ends
    finally:
        await consumer.stop()


async def snapshot(suite: Suite, bootstrap: str) -> Cutoff:
    taken = time.monotonic()
    while True:
        try:
            rows = await fetch(suite.database_url(SERVICES[0]), "SELECT now() AS now")
            ends = await end_offsets(bootstrap, run_partitions(suite.topic_suffix))
            return Cutoff(rows[0]["now"], ends, taken)
        except (OSError, asyncpg.PostgresError, TimeoutError, KafkaError):
            await asyncio.sleep(0.5)  # a service, the database or the broker coming back


async def backlog_left(suite: Suite, bootstrap: str, cutoff: Cutoff) -> int:
    """Outbox rows written by the cutoff still unsent, plus records below the cutoff's end
    offsets that a consumer group of the run has not committed."""
    left = 0
    for process in SERVICES:
        conn = await asyncpg.connect(asyncpg_dsn(suite.database_url(process)), timeout=10)
        try:
            left += int(
                await conn.fetchval(
                    "SELECT count(*) FROM outbox WHERE sent_at IS NULL AND created_at <= $1",
                    cutoff.at,
                )
            )
        finally:
            await conn.close()
    admin = new_admin(bootstrap)
    await admin.start()
    try:
        for service, specs in consumer_specs().items():
            for spec in specs:
                group = f"{service}{suite.topic_suffix}.{spec.purpose}"
                committed = await admin.list_consumer_group_offsets(group)
                for topic in spec.topics:
                    for p in range(topics.PARTITIONS[topic]):
                        tp = TopicPartition(topics.resolve(topic, suite.topic_suffix), p)
                        done = committed.get(tp)
                        position = done.offset if done is not None and done.offset >= 0 else 0
                        left += max(0, cutoff.ends.get(tp, 0) - position)
    finally:
        await admin.close()
    return left


async def wait_for_drain(
    suite: Suite, bootstrap: str, cutoff: Cutoff, limit: float
) -> tuple[float, bool]:
    """Seconds from the cutoff until its backlog is published and applied everywhere."""
    while time.monotonic() - cutoff.taken < limit:
        with contextlib.suppress(OSError, asyncpg.PostgresError, TimeoutError, KafkaError):
            if await backlog_left(suite, bootstrap, cutoff) == 0:
                return time.monotonic() - cutoff.taken, True
        await asyncio.sleep(0.5)
    return time.monotonic() - cutoff.taken, False


# --- reconciliation -----------------------------------------------------------------------------


async def topic_event_ids(bootstrap: str, suffix: str) -> tuple[set[str], int]:
    """The event ids on the run's topics, and how many dead letters its DLQ topics hold."""
    consumer = new_consumer(bootstrap, group_id=None, enable_auto_commit=False)
    await consumer.start()
    try:
        partitions = [
            TopicPartition(name, p)
            for name, count in topics.all_topics(suffix).items()
            for p in range(count)
        ]
        consumer.assign(partitions)
        await consumer.seek_to_beginning(*partitions)
        ends = await consumer.end_offsets(partitions)
        remaining = {tp for tp in partitions if ends[tp] > 0}
        seen: set[str] = set()
        dead_letters = 0
        while remaining:
            batches = await consumer.getmany(*remaining, timeout_ms=5000)
            if not batches:
                break
            for tp, records in batches.items():
                for record in records:
                    if tp.topic.endswith(topics.DLQ_SUFFIX):
                        dead_letters += 1
                        continue
                    for key, value in record.headers or []:
                        if key == "event_id":
                            seen.add(bytes(value).decode())
                if records and records[-1].offset + 1 >= ends[tp]:
                    remaining.discard(tp)
        return seen, dead_letters
    finally:
        await consumer.stop()


async def reconcile(suite: Suite, bootstrap: str) -> Reconciliation:
    suffix = suite.topic_suffix
    urls = {service.name: suite.database_url(service) for service in SERVICES}
    result = Reconciliation()
    outbox_rows: list[OutboxRow] = []
    inbox: set[tuple[str, uuid.UUID]] = set()
    effects: list[tuple[str, uuid.UUID]] = []
    parked = 0
    for name, url in urls.items():
        for r in await fetch(
            url,
            "SELECT id, event_id, topic, key, event_type, sent_at IS NOT NULL AS sent FROM outbox",
        ):
            outbox_rows.append(
                OutboxRow(
                    name, r["id"], r["event_id"], r["topic"], r["key"], r["event_type"], r["sent"]
                )
            )
        for r in await fetch(url, "SELECT event_id, topic, event_type FROM outbox_dead"):
            parked += 1
            result.details.append(f"parked outbox row of {name}: {r['event_type']} {r['event_id']}")
        inbox |= {(r["consumer"], r["event_id"]) for r in await fetch(url, "SELECT * FROM inbox")}
        effects += [
            (r["consumer"], r["event_id"])
            for r in await fetch(url, "SELECT consumer, event_id FROM consumer_effects ORDER BY id")
        ]
    on_topics, dead_letters = await topic_event_ids(bootstrap, suffix)
    result.events = len(outbox_rows) + parked
    result.applied = len(effects)

    result.lost = parked + count_lost(
        outbox_rows, inbox, on_topics, expected_groups(suffix), result
    )
    if dead_letters:
        result.details.append(f"{dead_letters} records on the dead-letter topics")
    result.duplicate_effects = count_duplicates(effects, result)
    result.inversions = count_inversions(outbox_rows, effects, result)
    result.double_assigned = await count_double_assigned(urls, result)
    result.stock_drift = await count_stock_drift(urls, result)
    result.stuck = await count_stuck(urls, result)
    return result


def count_lost(
    rows: Sequence[OutboxRow],
    inbox: set[tuple[str, uuid.UUID]],
    on_topics: set[str],
    wanted: dict[str, set[str]],
    result: Reconciliation,
) -> int:
    lost = 0
    why: Counter[str] = Counter()
    for row in rows:
        missing = [
            g for g in sorted(wanted.get(row.event_type, ())) if (g, row.event_id) not in inbox
        ]
        if str(row.event_id) not in on_topics:
            why[f"{row.event_type} never reached its topic (sent={row.is_sent})"] += 1
            lost += 1
        elif missing:
            for group in missing:
                why[f"{row.event_type} not applied by {group}"] += 1
            lost += 1
    result.details += [f"lost: {what} x{n}" for what, n in why.most_common(10)]
    return lost


def count_duplicates(effects: Iterable[tuple[str, uuid.UUID]], result: Reconciliation) -> int:
    counts = Counter(effects)
    twice = {pair: n for pair, n in counts.items() if n > 1}
    result.details += [f"applied {n} times: {g} {e}" for (g, e), n in list(twice.items())[:10]]
    return sum(n - 1 for n in twice.values())


def count_inversions(
    rows: Sequence[OutboxRow], effects: Sequence[tuple[str, uuid.UUID]], result: Reconciliation
) -> int:
    """Per group, in the order it applied them: an event of (producer, topic, key) with an outbox
    id below one applied before it was applied out of order."""
    by_event = {row.event_id: row for row in rows}
    highest: dict[tuple[str, str, str, str], int] = {}
    inversions = 0
    for group, event_id in effects:
        row = by_event.get(event_id)
        if row is None:
            continue
        key = (group, row.producer, row.topic, row.key)
        before = highest.get(key, -1)
        if row.id < before:
            inversions += 1
            if inversions <= 10:
                result.details.append(
                    f"inversion: {group} applied {row.event_type} #{row.id} after #{before}"
                    f" ({row.producer} {row.topic} key {row.key})"
                )
        highest[key] = max(before, row.id)
    return inversions


async def count_double_assigned(urls: dict[str, str], result: Reconciliation) -> int:
    # The driver service: a shipment whose pickup is on routes two drivers hold at once.
    stops = await fetch(
        urls["driver"],
        "SELECT s.shipment_id, s.status, r.id AS route_id, r.accepted_at, r.completed_at"
        " FROM route_stops s JOIN routes r ON r.id = s.route_id WHERE s.kind = 'pickup'",
    )
    by_shipment: dict[uuid.UUID, list[Any]] = defaultdict(list)
    for stop in stops:
        if stop["status"] != "cancelled":
            by_shipment[stop["shipment_id"]].append(stop)
    doubled = set()
    for shipment_id, held in by_shipment.items():
        for i, a in enumerate(held):
            for b in held[i + 1 :]:
                a_end, b_end = a["completed_at"], b["completed_at"]
                overlap = (a_end is None or b["accepted_at"] < a_end) and (
                    b_end is None or a["accepted_at"] < b_end
                )
                if a["route_id"] != b["route_id"] and overlap:
                    doubled.add(shipment_id)
    # Dispatch: a shipment on two routes it considers assigned.
    planned = await fetch(
        urls["dispatch"],
        "SELECT stop->>'shipment_id' AS shipment_id, count(DISTINCT route_id) AS routes"
        " FROM routes, jsonb_array_elements(stops) AS stop"
        " WHERE status = 'assigned' AND stop->>'kind' = 'pickup'"
        " GROUP BY 1 HAVING count(DISTINCT route_id) > 1",
    )
    doubled |= {uuid.UUID(r["shipment_id"]) for r in planned}
    result.details += [f"double assigned: shipment {s}" for s in sorted(doubled, key=str)[:10]]
    return len(doubled)


async def count_stock_drift(urls: dict[str, str], result: Reconciliation) -> int:
    """Per (store, SKU): the count now is what was loaded, less what was packed (taken off the
    shelf), plus what came back restocked; the holds are the open orders' lines."""
    loaded = {
        (r["store_id"], r["sku"]): int(r["quantity"])
        for r in await fetch(urls["catalog"], "SELECT store_id, sku, quantity FROM inventory")
    }
    taken: Counter[tuple[str, str]] = Counter()
    for shipment in await fetch(
        urls["order"], "SELECT store_id, packed, restocked_at FROM shipments"
    ):
        packed = shipment["packed"]
        items = orjson.loads(packed) if isinstance(packed, str | bytes) else packed or {}
        for sku, quantity in items.items():
            if shipment["restocked_at"] is None:
                taken[(shipment["store_id"], sku)] += int(quantity)
    held: Counter[tuple[str, str]] = Counter()
    for line in await fetch(
        urls["order"],
        "SELECT s.store_id, l.sku, sum(l.quantity) AS quantity"
        " FROM order_lines l JOIN shipments s ON s.id = l.shipment_id"
        f" WHERE NOT l.is_cancelled AND s.status IN {HOLDING} GROUP BY 1, 2",
    ):
        held[(line["store_id"], line["sku"])] += int(line["quantity"])
    drift = 0
    for row in await fetch(urls["order"], "SELECT store_id, sku, quantity, reserved FROM stock"):
        pair = (row["store_id"], row["sku"])
        start = loaded.get(pair)
        counted_ok = start is not None and row["quantity"] + taken[pair] == start
        reserved_ok = row["reserved"] == held[pair]
        if not (counted_ok and reserved_ok):
            drift += 1
            if drift <= 10:
                result.details.append(
                    f"stock drift {pair}: loaded {start}, now {row['quantity']} + taken"
                    f" {taken[pair]}; reserved {row['reserved']} vs open lines {held[pair]}"
                )
    return drift


async def count_stuck(urls: dict[str, str], result: Reconciliation) -> int:
    shipments = await fetch(
        urls["order"],
        "SELECT o.id AS order_id, o.status AS order_status, s.id AS shipment_id,"
        " s.status FROM orders o JOIN shipments s ON s.order_id = o.id",
    )
    pooled = {
        r["shipment_id"]: r
        for r in await fetch(
            urls["dispatch"],
            "SELECT s.shipment_id, s.status, r.status AS route_status"
            " FROM shipments s LEFT JOIN routes r ON r.route_id = s.route_id",
        )
    }
    driven: dict[tuple[uuid.UUID, str], str] = {
        (r["shipment_id"], r["kind"]): r["status"]
        for r in await fetch(
            urls["driver"],
            "SELECT shipment_id, kind, status FROM route_stops WHERE status <> 'cancelled'",
        )
    }
    stuck_orders: dict[uuid.UUID, str] = {}
    for s in shipments:
        if s["order_status"] in TERMINAL:
            continue
        reason = _unexplained(s["status"], pooled.get(s["shipment_id"]), driven, s["shipment_id"])
        if reason is not None:
            stuck_orders.setdefault(s["order_id"], reason)
    open_orders = {s["order_id"] for s in shipments if s["order_status"] not in TERMINAL}
    waiting = Counter(s["status"] for s in shipments if s["order_status"] not in TERMINAL)
    result.details.append(
        f"{len(open_orders)} orders still open; their shipments: "
        + (", ".join(f"{k} {n}" for k, n in sorted(waiting.items())) or "none")
    )
    result.details += [f"stuck order {o}: {why}" for o, why in list(stuck_orders.items())[:10]]
    return len(stuck_orders)


def _unexplained(
    status: str,
    pooled: Any,
    driven: dict[tuple[uuid.UUID, str], str],
    shipment_id: uuid.UUID,
) -> str | None:
    """Why this open shipment is not simply waiting for its next actor; None if it is."""
    pickup = driven.get((shipment_id, "pickup"))
    dropoff = driven.get((shipment_id, "dropoff"))
    if status in HOLDING:
        return None  # the store's turn: its POS pulls new orders from the order service
    if status == "packaged":
        if pooled is None:
            return "packaged, but dispatch never took it into its pool"
        if pickup == "picked_up":
            return "the driver picked it up; the order service still says packaged"
        return None  # waiting in the pool, or for the driver on its way to the store
    if status == "picked_up":
        if dropoff == "delivered":
            return "the driver delivered it; the order service still says picked up"
        if dropoff == "failed":
            return "the delivery failed at the driver; the order service still says picked up"
        if pickup is None:
            return "picked up, but no driver holds its route"
        return None  # on its way
    if status == "returning":
        if driven.get((shipment_id, "return")) == "returned":
            return "returned to the store by the driver; the order service still says returning"
        return None
    if status == "delivery_failed":
        if driven.get((shipment_id, "return")) == "returned":
            return "returned to the store by the driver; the order service still says failed"
        return None
    if status == "delivered" and dropoff != "delivered":
        return "delivered at the order service, never at the driver service"
    return None
