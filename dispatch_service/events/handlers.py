"""One function per consumed event type; each runs in the consumer's transaction."""

from __future__ import annotations

from typing import Any

from dispatch_service import usecases
from dispatch_service.usecases import Policies
from shared import clock
from shared.consumer import Handler
from shared.db import Tx
from shared.events import topics
from shared.events.catalog import StoreUpserted
from shared.events.driver import (
    DriverAvailabilityChanged,
    DriverLocationUpdated,
    OfferAccepted,
    OfferDeclined,
    RouteStopDelivered,
    RouteStopFailed,
    RouteStopPickedUp,
    RouteStopReturned,
    RouteStopsChanged,
    RouteStopsRefused,
)
from shared.events.envelope import Envelope
from shared.events.order import (
    OrderAccepted,
    OrderCancelled,
    OrderLineRerouted,
    OrderPlaced,
    OrderReadyForPickup,
)
from shared.service import ConsumerSpec


def on_ready_for_pickup(policies: Policies) -> Handler:
    async def handle(tx: Tx, envelope: Envelope[Any]) -> None:
        await usecases.take_into_pool(tx, envelope.payload, clock.now(), policies)

    return handle


async def on_line_rerouted(tx: Tx, envelope: Envelope[Any]) -> None:
    await usecases.record_reroute(tx, envelope.payload, clock.now())


async def on_stops_changed(tx: Tx, envelope: Envelope[Any]) -> None:
    await usecases.follow_driver(tx, envelope.payload, clock.now())


async def on_stops_refused(tx: Tx, envelope: Envelope[Any]) -> None:
    await usecases.take_back_refused(tx, envelope.payload, clock.now())


async def on_order_cancelled(tx: Tx, envelope: Envelope[Any]) -> None:
    await usecases.drop_cancelled_shipments(tx, envelope.payload, clock.now())


async def on_availability_changed(tx: Tx, envelope: Envelope[Any]) -> None:
    await usecases.record_availability(tx, envelope.payload, clock.now())


async def on_location_updated(tx: Tx, envelope: Envelope[Any]) -> None:
    await usecases.record_location(tx, envelope.payload, clock.now())


async def on_offer_accepted(tx: Tx, envelope: Envelope[Any]) -> None:
    await usecases.record_offer_accepted(tx, envelope.payload, clock.now())


def on_offer_declined(policies: Policies) -> Handler:
    async def handle(tx: Tx, envelope: Envelope[Any]) -> None:
        await usecases.record_offer_declined(tx, envelope.payload, clock.now(), policies)

    return handle


# The operator console's read models: stores, and each shipment's way to the door.


async def on_store_upserted(tx: Tx, envelope: Envelope[Any]) -> None:
    await usecases.record_store(tx, envelope.payload, clock.now())


# When dispatch hears of it, on the suite's clock: an envelope's time is the wall clock's, which
# the demo's compressed day does not follow. The relay's lag is far below a minute.


async def on_order_placed(tx: Tx, envelope: Envelope[Any]) -> None:
    await usecases.record_order_placed(tx, envelope.payload, clock.now())


async def on_order_accepted(tx: Tx, envelope: Envelope[Any]) -> None:
    await usecases.record_order_accepted(tx, envelope.payload, clock.now())


async def on_stop_done(tx: Tx, envelope: Envelope[Any]) -> None:
    await usecases.record_stop_done(tx, envelope.payload, clock.now())


def consumers(policies: Policies) -> list[ConsumerSpec]:
    # One group for all the topics: fewer members to join and rebalance at start.
    return [
        ConsumerSpec(
            purpose="dispatch",
            topics=[topics.ORDERS, topics.DRIVERS, topics.DRIVER_ACTIVITY, topics.STORES],
            handlers={
                OrderReadyForPickup.TYPE: on_ready_for_pickup(policies),
                OrderLineRerouted.TYPE: on_line_rerouted,
                RouteStopsChanged.TYPE: on_stops_changed,
                RouteStopsRefused.TYPE: on_stops_refused,
                OrderCancelled.TYPE: on_order_cancelled,
                DriverAvailabilityChanged.TYPE: on_availability_changed,
                DriverLocationUpdated.TYPE: on_location_updated,
                OfferAccepted.TYPE: on_offer_accepted,
                OfferDeclined.TYPE: on_offer_declined(policies),
                StoreUpserted.TYPE: on_store_upserted,
                OrderPlaced.TYPE: on_order_placed,
                OrderAccepted.TYPE: on_order_accepted,
                RouteStopPickedUp.TYPE: on_stop_done,
                RouteStopDelivered.TYPE: on_stop_done,
                RouteStopFailed.TYPE: on_stop_done,
                RouteStopReturned.TYPE: on_stop_done,
            },
        )
    ]
