"""One function per consumed event type; each runs in the consumer's transaction."""

from __future__ import annotations

from typing import Any

from order_service import usecases
from order_service.outgoing import Outgoing
from order_service.store import directory
from order_service.store import orders as order_store
from shared import clock
from shared.db import Tx
from shared.events import topics
from shared.events.catalog import InventoryChanged, StoreUpserted
from shared.events.dispatch import OrderPromiseAtRisk, RouteAssigned, ZoneCapacityChanged
from shared.events.driver import (
    DriverLocationUpdated,
    RouteStopDelivered,
    RouteStopFailed,
    RouteStopPickedUp,
    RouteStopReturned,
)
from shared.events.envelope import Envelope
from shared.service import ConsumerSpec


async def on_store_upserted(tx: Tx, envelope: Envelope[Any]) -> None:
    event: StoreUpserted = envelope.payload
    await directory.upsert_store(
        tx,
        {
            "store_id": event.store_id,
            "retailer_id": event.retailer_id,
            "mall_id": event.mall_id,
            "mall_name": event.mall_name,
            "name": event.name,
            "lat": event.location.lat,
            "lng": event.location.lng,
            "timezone": event.timezone,
            "pickup_instructions": event.pickup_instructions,
            "prep_minutes": event.prep_minutes,
            "is_active": event.is_active,
            "updated_at": envelope.occurred_at,
        },
    )


async def on_inventory_changed(tx: Tx, envelope: Envelope[Any]) -> None:
    event: InventoryChanged = envelope.payload
    await directory.set_stock_count(tx, event.store_id, event.sku, event.quantity, event.as_of)


def build_consumers(outgoing: Outgoing) -> list[ConsumerSpec]:
    """The service's one consumer group; the handlers that change orders queue webhooks, which
    need the service's links."""

    async def on_stop_picked_up(tx: Tx, envelope: Envelope[Any]) -> None:
        event: RouteStopPickedUp = envelope.payload
        await usecases.follow_delivery(
            tx,
            event.shipment_id,
            lambda order: order.picked_up(
                event.shipment_id,
                event.driver_id,
                event.missing_labels,
                at=event.at,
                dropoff_eta=event.dropoff_eta,
            ),
            event.at,
            outgoing,
        )

    async def on_stop_delivered(tx: Tx, envelope: Envelope[Any]) -> None:
        event: RouteStopDelivered = envelope.payload
        await usecases.follow_delivery(
            tx,
            event.shipment_id,
            lambda order: order.delivered(
                event.shipment_id, at=event.at, proof_photo_sha256=event.proof_photo_sha256
            ),
            event.at,
            outgoing,
        )

    async def on_stop_failed(tx: Tx, envelope: Envelope[Any]) -> None:
        event: RouteStopFailed = envelope.payload
        await usecases.follow_delivery(
            tx,
            event.shipment_id,
            lambda order: order.delivery_failed(
                event.shipment_id, at=event.at, reason=event.reason
            ),
            event.at,
            outgoing,
        )

    async def on_stop_returned(tx: Tx, envelope: Envelope[Any]) -> None:
        event: RouteStopReturned = envelope.payload
        await usecases.follow_delivery(
            tx,
            event.shipment_id,
            lambda order: order.returned(event.shipment_id, at=event.at),
            event.at,
            outgoing,
        )

    async def on_route_assigned(tx: Tx, envelope: Envelope[Any]) -> None:
        event: RouteAssigned = envelope.payload
        await usecases.assign_driver(
            tx, event.order_ids, event.driver_id, event.route_id, clock.now(), outgoing
        )

    async def on_promise_at_risk(tx: Tx, envelope: Envelope[Any]) -> None:
        event: OrderPromiseAtRisk = envelope.payload
        await usecases.mark_at_risk(tx, event.order_id, clock.now(), outgoing)

    # One group for all: a group per purpose would add a join and rebalance per service start.
    return [
        ConsumerSpec(
            purpose="events",
            topics=[
                topics.STORES,
                topics.INVENTORY,
                topics.ROUTES,
                topics.DRIVER_ACTIVITY,
                topics.DRIVERS,
                topics.ZONES,
            ],
            handlers={
                StoreUpserted.TYPE: on_store_upserted,
                InventoryChanged.TYPE: on_inventory_changed,
                RouteStopPickedUp.TYPE: on_stop_picked_up,
                RouteStopDelivered.TYPE: on_stop_delivered,
                RouteStopFailed.TYPE: on_stop_failed,
                RouteStopReturned.TYPE: on_stop_returned,
                RouteAssigned.TYPE: on_route_assigned,
                OrderPromiseAtRisk.TYPE: on_promise_at_risk,
                DriverLocationUpdated.TYPE: on_driver_location,
                ZoneCapacityChanged.TYPE: on_zone_capacity,
            },
        )
    ]


async def on_zone_capacity(tx: Tx, envelope: Envelope[Any]) -> None:
    event: ZoneCapacityChanged = envelope.payload
    if event.orders_per_hour is not None:
        await directory.set_mall_capacity(tx, event.mall_id, event.orders_per_hour, clock.now())


async def on_driver_location(tx: Tx, envelope: Envelope[Any]) -> None:
    event: DriverLocationUpdated = envelope.payload
    await order_store.record_driver_position(
        tx, event.driver_id, event.location.lat, event.location.lng, event.at
    )
