"""Example values for the console's OpenAPI document: one mall, route, order and driver."""

from __future__ import annotations

from typing import Any

from dispatch_service.api.console.access import CURRENCY

MALL = "fashion-show-las-vegas"
ROUTE_ID = "5d0e7b3a-9c41-4f2e-8b6d-0a1f2e3d4c5b"
ORDER_ID = "3f2b9c1e-8d4a-4e6b-9a57-1c0d2e3f4a5b"
SHIPMENT_ID = "7c1e4a92-5b3d-4f08-a6e1-2d9f0b8c7e15"
DRIVER_ID = "a8f3c2d1-6e5b-4a79-8c0d-1e2f3a4b5c6d"
ACTION_ID = "0f9e8d7c-6b5a-4c3d-8e2f-1a0b9c8d7e6f"
STORE_ID = "store-4e1d2c3b4a59"
STORE = "Harbor Outfitters at Fashion Show Mall"
NOW = "2026-11-25T19:31:05Z"
VERSION = "3fa2c1d0.42"

SAME_DAY = {
    "status": "open",
    "delay_minutes": 0,
    "reason": "taking same-day orders",
    "is_paused_by_operator": False,
}
DAY = {
    "orders": 41,
    "delivered": 33,
    "on_time_pct": 93.9,
    "median_minutes_to_door": 52.5,
    "drivers_online": 6,
    "driver_hours": 9.5,
    "orders_per_driver_hour": 3.47,
    "pay_cents": 24700,
    "pay_per_hour_cents": 2600,
    "currency": CURRENCY,
}
EXCEPTION = {
    "id": f"at_risk:{SHIPMENT_ID}",
    "kind": "at_risk",
    "severity": "warning",
    "title": "Promise at risk",
    "detail": f"Waiting for a route with 12 min of slack ({STORE} to Las Vegas 89104)",
    "due_at": "2026-11-25T20:15:00Z",
    "shipment_id": SHIPMENT_ID,
    "order_id": ORDER_ID,
    "route_id": None,
    "driver_id": None,
    "store_id": STORE_ID,
}
ROUTE = {
    "id": ROUTE_ID,
    "phase": "on_the_road",
    "driver_id": DRIVER_ID,
    "pay_cents": 1450,
    "currency": CURRENCY,
    "offer_rounds": 1,
    "planned_miles": 6.4,
    "planned_minutes": 42,
    "depart_at": "2026-11-25T19:20:00Z",
    "latest_start_at": "2026-11-25T19:40:00Z",
    "stops": [
        {
            "sequence": 0,
            "kind": "pickup",
            "state": "picked_up",
            "shipment_id": SHIPMENT_ID,
            "order_id": ORDER_ID,
            "store_id": STORE_ID,
            "store_name": STORE,
            "area": "Las Vegas 89104",
            "lat": 36.127,
            "lng": -115.1711,
            "eta": "2026-11-25T19:25:00Z",
            "deliver_by": "2026-11-25T20:30:00Z",
        },
        {
            "sequence": 1,
            "kind": "dropoff",
            "state": "pending",
            "shipment_id": SHIPMENT_ID,
            "order_id": ORDER_ID,
            "store_id": STORE_ID,
            "store_name": STORE,
            "area": "Las Vegas 89104",
            "lat": 36.1605,
            "lng": -115.1237,
            "eta": "2026-11-25T19:55:00Z",
            "deliver_by": "2026-11-25T20:30:00Z",
        },
    ],
}
DRIVER = {
    "id": DRIVER_ID,
    "lat": 36.1402,
    "lng": -115.1503,
    "position_at": "2026-11-25T19:30:58Z",
    "is_stale": False,
    "route_id": ROUTE_ID,
    "capacity_packages": 15,
}
BOARD_EXAMPLE: dict[str, Any] = {
    "version": VERSION,
    "now": NOW,
    "mall": {
        "id": MALL,
        "name": "Fashion Show Mall",
        "address": "3200 S Las Vegas Blvd, Las Vegas, NV 89109",
        "lat": 36.1272,
        "lng": -115.1706,
        "timezone": "America/Los_Angeles",
        "outline": [[36.1265, -115.1712], [36.1265, -115.1699], [36.1279, -115.1699]],
    },
    "same_day": SAME_DAY,
    "day": DAY,
    "stores": [
        {
            "id": STORE_ID,
            "name": STORE,
            "lat": 36.127,
            "lng": -115.1711,
            "prep_minutes": 20,
            "is_active": True,
        }
    ],
    "shipments": [
        {
            "id": SHIPMENT_ID,
            "order_id": ORDER_ID,
            "store_id": STORE_ID,
            "store_name": STORE,
            "package_count": 1,
            "ready_at": "2026-11-25T19:28:10Z",
            "deliver_by": "2026-11-25T20:15:00Z",
            "dropoff_area": "Las Vegas 89104",
            "lat": 36.1605,
            "lng": -115.1237,
        }
    ],
    "routes": [ROUTE],
    "drivers": [DRIVER],
    "exceptions": [EXCEPTION],
}
STREAM_EXAMPLE = (
    f"event: delta\nid: {VERSION}\n"
    'data: {"version": "3fa2c1d0.42", "now": "2026-11-25T19:31:05Z", "set": {}, '
    '"upsert": {"drivers": [{"id": "a8f3c2d1-6e5b-4a79-8c0d-1e2f3a4b5c6d", "lat": 36.1411, '
    '"lng": -115.1498, "position_at": "2026-11-25T19:31:03Z", "is_stale": false, '
    '"route_id": "5d0e7b3a-9c41-4f2e-8b6d-0a1f2e3d4c5b", "capacity_packages": 15}]}, '
    '"remove": {"shipments": ["7c1e4a92-5b3d-4f08-a6e1-2d9f0b8c7e15"]}}\n\n'
    'event: clock\ndata: {"version": "3fa2c1d0.42", "now": "2026-11-25T19:31:10Z"}\n\n'
)
ACTION = {
    "action_id": ACTION_ID,
    "at": NOW,
    "operator": "maria",
    "action": "pause_same_day",
    "mall_id": MALL,
    "target_id": MALL,
    "outcome": "done",
    "message": "Same-day paused; the catalog stops promising today here.",
    "detail": {"note": "fire alarm in the mall"},
}
OFFER_LOG = {
    "route_id": ROUTE_ID,
    "route_status": "offering",
    "currency": CURRENCY,
    "rounds": [
        {
            "offer_id": "c4b2a1f0-3e9d-4c8b-a7f6-5e4d3c2b1a09",
            "round": 1,
            "pay_cents": 1450,
            "hourly_floor_cents": 2100,
            "surge_level": 0,
            "radius_m": 8000.0,
            "status": "expired",
            "created_at": "2026-11-25T19:13:05Z",
            "expires_at": "2026-11-25T19:14:05Z",
            "closed_at": "2026-11-25T19:14:05Z",
            "shown_to": [
                {
                    "driver_id": DRIVER_ID,
                    "shown_at": "2026-11-25T19:13:06Z",
                    "pay_cents": 1450,
                    "distance_m": 1820.5,
                    "answer": "declined",
                    "answered_at": "2026-11-25T19:13:40Z",
                }
            ],
        }
    ],
}
