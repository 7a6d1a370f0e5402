"""The databases' own invariants after the chaos: no shipment on two live routes, stock that adds
up, no order stuck without a reason its last event gives."""

from __future__ import annotations

import uuid
from collections import Counter, defaultdict
from typing import Any

import orjson

from services.chaos.evidence import HOLDING, TERMINAL, Reconciliation, fetch


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
