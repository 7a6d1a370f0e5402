from __future__ import annotations

from typing import Any

from driver_service import usecases
from shared import clock
from shared.db import Tx
from shared.events import topics
from shared.events.dispatch import RouteAssigned, RouteOffered, RouteOfferExpired
from shared.events.envelope import Envelope
from shared.events.order import OrderCancelled
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


async def on_order_cancelled(tx: Tx, envelope: Envelope[Any]) -> None:
    payload: OrderCancelled = envelope.payload
    await usecases.cancel_shipments(tx, payload.shipment_ids, clock.now())


CONSUMERS: list[ConsumerSpec] = [
    ConsumerSpec(
        purpose="events",
        topics=[topics.ROUTES, topics.ORDERS],
        handlers={
            RouteOffered.TYPE: on_route_offered,
            RouteOfferExpired.TYPE: on_route_offer_expired,
            RouteAssigned.TYPE: on_route_assigned,
            OrderCancelled.TYPE: on_order_cancelled,
        },
    ),
]
