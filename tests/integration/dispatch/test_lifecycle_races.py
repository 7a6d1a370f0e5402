"""Races dispatch sees on the real broker and database, each in both orders: a cancel against an
accept, a cancel against the driver's pickup, a re-routed line against the driver's copy."""

from __future__ import annotations

from datetime import timedelta
from typing import Any
from uuid import UUID, uuid4

import pytest

from dispatch_service import usecases
from shared import clock
from shared.events.dispatch import (
    RouteAssigned,
    RouteOffered,
    RouteReleased,
    RouteStop,
    RouteStopsAdded,
)
from shared.events.driver import (
    DriverAvailabilityChanged,
    OfferAccepted,
    RouteStopsChanged,
    RouteStopState,
    StopStatus,
)
from shared.events.envelope import Envelope, Payload
from shared.events.order import OrderCancelled, OrderLineRerouted, OrderReadyForPickup
from tests.integration.dispatch.conftest import MALL, Dispatch, a_driver, a_ready_shipment
from tests.integration.dispatch.test_offers import plan_one_route
from tests.support import EventTap, eventually


async def route_view(dispatch: Dispatch, route_id: UUID) -> dict[str, Any]:
    resp = await dispatch.api.get(f"/v1/dispatch/routes/{route_id}", headers=dispatch.operator())
    assert resp.status_code == 200
    body: dict[str, Any] = resp.json()
    return body


def accepted(offered: Envelope[RouteOffered], driver: DriverAvailabilityChanged) -> OfferAccepted:
    return OfferAccepted(
        offer_id=offered.payload.offer_id,
        route_id=offered.payload.route_id,
        mall_id=MALL.id,
        driver_id=driver.driver_id,
        pay_cents=offered.payload.pay_cents,
        at=clock.now(),
    )


def cancel(shipment: OrderReadyForPickup) -> OrderCancelled:
    return OrderCancelled(
        order_id=shipment.order_id,
        mall_id=MALL.id,
        shipment_ids=[shipment.shipment_id],
        reason="customer_cancelled",
    )


async def publish_in_order(dispatch: Dispatch, steps: list[tuple[Payload, str]]) -> None:
    for payload, key in steps:
        await dispatch.publish(payload, key=key)


def driver_copy(
    route_id: UUID,
    driver: DriverAvailabilityChanged,
    stops: list[RouteStop],
    statuses: dict[UUID, StopStatus],
    revision: int,
    extra: list[RouteStopState] | None = None,
) -> RouteStopsChanged:
    return RouteStopsChanged(
        route_id=route_id,
        mall_id=MALL.id,
        driver_id=driver.driver_id,
        revision=revision,
        stops=[
            RouteStopState(**s.model_dump(), status=statuses.get(s.stop_id, StopStatus.PENDING))
            for s in stops
        ]
        + (extra or []),
        is_completed=False,
        at=clock.now(),
    )


# --- 2. cancel vs accept -----------------------------------------------------------------------


@pytest.mark.parametrize("first", ["cancel", "accept"])
async def test_a_shipment_stays_on_one_live_route_when_a_cancel_races_an_accept(
    dispatch: Dispatch, tap: EventTap, first: str
) -> None:
    driver = a_driver()
    await dispatch.add_drivers(driver)
    gone, kept = a_ready_shipment(km_north=3), a_ready_shipment(km_north=3.2)
    await dispatch.add_shipments(gone, kept)
    _, offered = await plan_one_route(dispatch, tap, clock.now())
    route_id = offered.payload.route_id
    steps: list[tuple[Payload, str]] = [(cancel(gone), MALL.id), (accepted(offered, driver), "k")]

    await publish_in_order(dispatch, steps if first == "cancel" else steps[::-1])
    await tap.next(RouteAssigned, within=15)

    async def settled() -> dict[str, Any] | None:
        view = await route_view(dispatch, route_id)
        on_it = {s["shipment_id"] for s in view["stops"]}
        return view if str(gone.shipment_id) not in on_it or first == "accept" else None

    view = await eventually(settled, within=15)
    assert view["status"] == "assigned"
    assert str(kept.shipment_id) in {s["shipment_id"] for s in view["stops"]}
    # Nothing of the accepted route went back to the pool to be planned for a second driver.
    assert await dispatch.pool_ids() == set()
    report = await usecases.plan_mall(dispatch.db, MALL.id, clock.now(), dispatch.policies)
    assert report.planned == []


@pytest.mark.parametrize("dispatch_overrides", [{"max_offer_rounds": 1}])
async def test_an_accept_arriving_after_the_route_was_withdrawn_takes_it_back(
    dispatch: Dispatch, tap: EventTap
) -> None:
    driver = a_driver()
    await dispatch.add_drivers(driver)
    shipment = a_ready_shipment()
    await dispatch.add_shipments(shipment)
    now = clock.now()
    _, offered = await plan_one_route(dispatch, tap, now)
    # The offer runs out at dispatch just as the driver service let the driver take it.
    await usecases.run_offer_rounds(dispatch.db, now + timedelta(seconds=61), dispatch.policies)
    assert await dispatch.pool_ids() == {shipment.shipment_id}

    await dispatch.publish(accepted(offered, driver), key="k")

    assigned = await tap.next(RouteAssigned, within=15)
    assert assigned.payload.route_id == offered.payload.route_id
    assert (await route_view(dispatch, offered.payload.route_id))["status"] == "assigned"
    assert await dispatch.pool_ids() == set()


@pytest.mark.parametrize("dispatch_overrides", [{"max_offer_rounds": 1}])
async def test_an_accept_arriving_after_the_shipments_were_planned_again_releases_the_driver(
    dispatch: Dispatch, tap: EventTap
) -> None:
    late, other = a_driver(km_north=0.5), a_driver(km_north=0.8)
    await dispatch.add_drivers(late, other)
    shipment = a_ready_shipment()
    await dispatch.add_shipments(shipment)
    now = clock.now()
    _, offered = await plan_one_route(dispatch, tap, now)
    later = now + timedelta(seconds=61)
    await usecases.run_offer_rounds(dispatch.db, later, dispatch.policies)
    replanned = await usecases.plan_mall(dispatch.db, MALL.id, later, dispatch.policies)
    assert len(replanned.planned) == 1

    await dispatch.publish(accepted(offered, late), key="k")

    released = await tap.next(RouteReleased, within=15)
    assert (released.payload.route_id, released.payload.driver_id) == (
        offered.payload.route_id,
        late.driver_id,
    )
    assert (await route_view(dispatch, offered.payload.route_id))["status"] == "withdrawn"


# --- 1. cancel vs pickup, as dispatch follows it -----------------------------------------------


@pytest.mark.parametrize("first", ["cancel", "driver"])
async def test_a_package_picked_up_before_the_cancel_keeps_its_return_stop_at_dispatch(
    dispatch: Dispatch, tap: EventTap, first: str
) -> None:
    driver = a_driver()
    await dispatch.add_drivers(driver)
    shipment = a_ready_shipment()
    await dispatch.add_shipments(shipment)
    _, offered = await plan_one_route(dispatch, tap, clock.now())
    route_id = offered.payload.route_id
    await dispatch.publish(accepted(offered, driver), key="k")
    await tap.next(RouteAssigned, within=15)
    pickup, dropoff = offered.payload.stops
    back = RouteStopState(
        **pickup.model_dump(exclude={"stop_id", "kind", "sequence"}),
        stop_id=uuid4(),
        kind="return",
        sequence=2,
        status=StopStatus.PENDING,
    )
    # The driver service: the scan won, so the drop-off became a return to the store.
    copy = driver_copy(
        route_id,
        driver,
        list(offered.payload.stops),
        {pickup.stop_id: StopStatus.PICKED_UP, dropoff.stop_id: StopStatus.CANCELLED},
        revision=3,
        extra=[back],
    )
    steps: list[tuple[Payload, str]] = [(cancel(shipment), MALL.id), (copy, str(route_id))]

    await publish_in_order(dispatch, steps if first == "cancel" else steps[::-1])

    async def followed() -> list[tuple[str, str]] | None:
        stops = (await route_view(dispatch, route_id))["stops"]
        found = [(s["kind"], s["status"]) for s in stops]
        return found if len(found) == 3 else None

    assert await eventually(followed, within=15) == [
        ("pickup", "picked_up"),
        ("dropoff", "cancelled"),
        ("return", "pending"),
    ]
    assert (await route_view(dispatch, route_id))["status"] == "assigned"


# --- 3. a store rejects after a driver accepted ------------------------------------------------


async def an_assigned_route(
    dispatch: Dispatch, tap: EventTap, driver: DriverAvailabilityChanged, *shipments: Any
) -> Envelope[RouteOffered]:
    await dispatch.add_drivers(driver)
    await dispatch.add_shipments(*shipments)
    _, offered = await plan_one_route(dispatch, tap, clock.now())
    await dispatch.publish(accepted(offered, driver), key="k")
    await tap.next(RouteAssigned, within=15)
    return offered


def rerouted_to_another_store(
    rejected: OrderReadyForPickup, due_in: timedelta = timedelta(hours=2)
) -> tuple[OrderLineRerouted, OrderCancelled, OrderReadyForPickup]:
    other_store = rejected.model_copy(
        update={
            "shipment_id": uuid4(),
            "store_id": "store-fs-31",
            "store_name": "Kettle & Fern",
            "labels": ["MTH-2"],
            "ready_at": clock.now(),
            "deliver_by": clock.now() + due_in,
        }
    )
    moved = OrderLineRerouted(
        order_id=rejected.order_id,
        mall_id=MALL.id,
        from_shipment_id=rejected.shipment_id,
        from_store_id=rejected.store_id,
        to_shipment_id=other_store.shipment_id,
        to_store_id=other_store.store_id,
        lines=[{"sku": "sku-1", "quantity": 1}],
    )
    gone = OrderCancelled(
        order_id=rejected.order_id,
        mall_id=MALL.id,
        shipment_ids=[rejected.shipment_id],
        reason="rerouted",
    )
    return moved, gone, other_store


@pytest.mark.parametrize("first", ["driver", "packed"])
async def test_a_line_rerouted_after_the_accept_joins_the_drivers_route(
    dispatch: Dispatch, tap: EventTap, first: str
) -> None:
    driver = a_driver()
    rejected = a_ready_shipment()
    offered = await an_assigned_route(dispatch, tap, driver, rejected)
    route_id = offered.payload.route_id
    moved, gone, packed_elsewhere = rerouted_to_another_store(rejected)
    await publish_in_order(dispatch, [(moved, MALL.id), (gone, MALL.id)])
    # The driver service took the rejected shipment's stops off the route.
    emptied = driver_copy(
        route_id,
        driver,
        list(offered.payload.stops),
        {s.stop_id: StopStatus.CANCELLED for s in offered.payload.stops},
        revision=2,
    )
    steps: list[tuple[Payload, str]] = [
        (emptied, str(route_id)),
        (packed_elsewhere, MALL.id),
    ]

    await publish_in_order(dispatch, steps if first == "driver" else steps[::-1])

    added = await tap.next(RouteStopsAdded, within=15)
    assert (added.payload.route_id, added.payload.driver_id) == (route_id, driver.driver_id)
    assert [(s.kind.value, s.store_name) for s in added.payload.stops] == [
        ("pickup", "Kettle & Fern"),
        ("dropoff", "Kettle & Fern"),
    ]
    assert await dispatch.pool_ids() == set()
    released = [e for e in await tap.collect(2.0) if isinstance(e.payload, RouteReleased)]
    assert released == []


async def test_a_rerouted_line_that_would_break_a_promise_gets_a_route_of_its_own(
    dispatch: Dispatch, tap: EventTap
) -> None:
    driver = a_driver()
    rejected = a_ready_shipment()
    offered = await an_assigned_route(dispatch, tap, driver, rejected)
    route_id = offered.payload.route_id
    # Promised so soon that even straight from the mall it would be late.
    moved, gone, packed_elsewhere = rerouted_to_another_store(rejected, timedelta(minutes=1))
    emptied = driver_copy(
        route_id,
        driver,
        list(offered.payload.stops),
        {s.stop_id: StopStatus.CANCELLED for s in offered.payload.stops},
        revision=2,
    )

    await publish_in_order(
        dispatch,
        [(moved, MALL.id), (gone, MALL.id), (emptied, str(route_id)), (packed_elsewhere, MALL.id)],
    )

    released = await tap.next(RouteReleased, within=15)
    assert released.payload.route_id == route_id
    await dispatch.wait_for_pool({packed_elsewhere.shipment_id})
