from __future__ import annotations

from typing import Any

from driver_service import usecases
from shared import clock
from shared.db import Tx
from shared.events import topics
from shared.events.dispatch import (
    RouteAssigned,
    RouteOffered,
    RouteOfferExpired,
    RouteReleased,
    RouteStopsAdded,
)
from shared.events.envelope import Envelope
from shared.events.order import OrderCancelled, OrderTipped
from shared.service import ConsumerSpec


async def on_route_offered(tx: Tx, envelope: Envelope[Any]) -> None:
    payload: RouteOffered = envelope.payload
    await usecases.record_offer(tx, payload)


async def on_route_offer_expired(tx: Tx, envelope: Envelope[Any]) -> None:
    payload: RouteOfferExpired = envelope.payload
    await usecases.expire_offer(tx, payload.offer_id)


async def on_route_assigned(tx: Tx, envelope: Envelope[Any]) -> None:
    payload: RouteAssigned = envelope.payload
    await usecases.mark_assigned(tx, payload.route_id, payload.driver_id, clock.now())


async def on_route_stops_added(tx: Tx, envelope: Envelope[Any]) -> None:
    payload: RouteStopsAdded = envelope.payload
    await usecases.add_stops(
        tx, payload.route_id, payload.mall_id, list(payload.stops), clock.now()
    )


async def on_route_released(tx: Tx, envelope: Envelope[Any]) -> None:
    payload: RouteReleased = envelope.payload
    await usecases.release_route(tx, payload.route_id, clock.now())


async def on_order_cancelled(tx: Tx, envelope: Envelope[Any]) -> None:
    payload: OrderCancelled = envelope.payload
    await usecases.cancel_shipments(tx, payload.shipment_ids, clock.now())


async def on_order_tipped(tx: Tx, envelope: Envelope[Any]) -> None:
    payload: OrderTipped = envelope.payload
    await usecases.add_tip(tx, payload.order_id, payload.tip_cents)


CONSUMERS: list[ConsumerSpec] = [
    ConsumerSpec(
        purpose="events",
        topics=[topics.ROUTES, topics.ORDERS],
        handlers={
            RouteOffered.TYPE: on_route_offered,
            RouteOfferExpired.TYPE: on_route_offer_expired,
            RouteAssigned.TYPE: on_route_assigned,
            RouteStopsAdded.TYPE: on_route_stops_added,
            RouteReleased.TYPE: on_route_released,
            OrderCancelled.TYPE: on_order_cancelled,
            OrderTipped.TYPE: on_order_tipped,
        },
    ),
]
