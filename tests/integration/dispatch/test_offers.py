from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any
from uuid import UUID

import pytest

from dispatch_service import usecases
from dispatch_service.store import drivers
from shared import clock
from shared.events.dispatch import (
    RouteAssigned,
    RouteOffered,
    RouteOfferExpired,
    RoutePlanned,
    StopKind,
)
from shared.events.driver import (
    OfferAccepted,
    OfferDeclined,
    RouteStopsChanged,
    RouteStopState,
    StopStatus,
)
from shared.events.envelope import Envelope
from shared.events.order import OrderCancelled
from tests.integration.dispatch.conftest import (
    MALL,
    Dispatch,
    a_driver,
    a_ready_shipment,
    moved,
)
from tests.support import EventTap, eventually


async def plan_one_route(
    dispatch: Dispatch, tap: EventTap, now: datetime
) -> tuple[Envelope[RoutePlanned], Envelope[RouteOffered]]:
    report = await usecases.plan_mall(dispatch.db, MALL.id, now, dispatch.policies)
    assert len(report.planned) == 1
    planned = await tap.next(RoutePlanned, within=10)
    offered = await tap.next(RouteOffered, within=10)
    assert planned.payload.route_id == offered.payload.route_id == report.planned[0]
    return planned, offered


async def offer_log(dispatch: Dispatch, route_id: UUID) -> dict[str, object]:
    resp = await dispatch.api.get(
        f"/v1/dispatch/routes/{route_id}/offers", headers=dispatch.operator()
    )
    assert resp.status_code == 200
    body: dict[str, object] = resp.json()
    return body


def answers(log: dict[str, object]) -> list[dict[str, str]]:
    rounds = log["rounds"]
    assert isinstance(rounds, list)
    return [{s["driver_id"]: s["answer"] for s in r["shown_to"]} for r in rounds]


async def test_a_round_plans_a_route_and_offers_it_to_eligible_drivers_nearest_first(
    dispatch: Dispatch, tap: EventTap
) -> None:
    nearest, second, third = a_driver(km_north=0.5), a_driver(km_north=1.0), a_driver(km_north=2)
    ineligible = [
        a_driver(km_north=15),  # beyond the offer radius
        a_driver(online=False),
        a_driver(capacity=1),  # the route carries 2 packages
        a_driver(at=clock.now() - timedelta(minutes=30)),  # position too old
    ]
    await dispatch.add_drivers(nearest, second, third, *ineligible)
    shipments = [a_ready_shipment(km_north=3.0), a_ready_shipment(km_north=3.5)]
    await dispatch.add_shipments(*shipments)

    resp = await dispatch.api.post(
        f"/v1/dispatch/malls/{MALL.id}/rounds", headers=dispatch.operator()
    )

    assert resp.status_code == 200
    assert resp.json()["left_in_pool"] == 0
    planned = await tap.next(RoutePlanned, within=10)
    offered = await tap.next(RouteOffered, within=10)
    assert planned.key == offered.key == MALL.id
    stops = planned.payload.stops
    assert {s.shipment_id for s in stops} == {s.shipment_id for s in shipments}
    assert [s.kind for s in stops].count(StopKind.PICKUP) == 2
    assert offered.payload.route_id == planned.payload.route_id
    assert offered.payload.driver_ids == [nearest.driver_id, second.driver_id]
    assert offered.payload.stops == stops
    assert offered.payload.round == 1
    assert offered.payload.expected_minutes == planned.payload.planned_minutes
    assert offered.payload.expected_miles == planned.payload.planned_miles
    assert offered.payload.pickup_area == "Las Vegas, NV 89109"
    assert 1800 <= offered.payload.hourly_floor_cents <= 2500
    assert offered.payload.pay_cents * 60 >= (
        offered.payload.hourly_floor_cents * offered.payload.block_minutes
    )
    assert await dispatch.pool_ids() == set()


async def test_an_expired_offer_goes_to_the_next_drivers(dispatch: Dispatch, tap: EventTap) -> None:
    nearest, second, third = a_driver(km_north=0.5), a_driver(km_north=1.0), a_driver(km_north=2)
    await dispatch.add_drivers(nearest, second, third)
    await dispatch.add_shipments(a_ready_shipment())
    now = clock.now()
    _, first = await plan_one_route(dispatch, tap, now)

    await usecases.run_offer_rounds(dispatch.db, now + timedelta(seconds=30), dispatch.policies)
    await usecases.run_offer_rounds(dispatch.db, now + timedelta(seconds=61), dispatch.policies)

    expired = await tap.next(RouteOfferExpired, within=10)
    assert expired.payload.offer_id == first.payload.offer_id
    again = await tap.next(RouteOffered, within=10)
    assert again.payload.round == 2
    assert again.payload.driver_ids == [third.driver_id]
    log = await offer_log(dispatch, first.payload.route_id)
    assert answers(log) == [
        {str(nearest.driver_id): "expired", str(second.driver_id): "expired"},
        {str(third.driver_id): "pending"},
    ]


async def test_pay_surges_and_the_radius_widens_as_the_promise_nears(
    dispatch: Dispatch, tap: EventTap
) -> None:
    near, far = a_driver(km_north=1.0), a_driver(km_north=13.0)
    await dispatch.add_drivers(near, far)
    await dispatch.add_shipments(a_ready_shipment(km_north=3, due_in=timedelta(minutes=100)))
    now = clock.now()
    _, first = await plan_one_route(dispatch, tap, now)
    assert first.payload.driver_ids == [near.driver_id]
    route = await dispatch.api.get(
        f"/v1/dispatch/routes/{first.payload.route_id}", headers=dispatch.operator()
    )
    latest_start = datetime.fromisoformat(route.json()["latest_start_at"])
    # 20 minutes of slack left: two surge levels (below 45 and below 30 minutes).
    later = latest_start - timedelta(minutes=20)
    for driver in (near, far):
        await dispatch.publish(moved(driver, later), key=str(driver.driver_id))

    async def positions_updated() -> bool:
        async with dispatch.db.begin() as tx:
            online = await drivers.online(tx)
        return all(d.position_at == later for d in online)

    await eventually(positions_updated, within=15)

    await usecases.run_offer_rounds(dispatch.db, later, dispatch.policies)

    surged = await tap.next(RouteOffered, within=10)
    assert surged.payload.round == 2
    assert (
        surged.payload.pay_cents
        == first.payload.pay_cents + (first.payload.pay_cents * 30 + 99) // 100
    )
    assert surged.payload.hourly_floor_cents == first.payload.hourly_floor_cents
    assert set(surged.payload.driver_ids) == {near.driver_id, far.driver_id}
    log = await offer_log(dispatch, first.payload.route_id)
    rounds = log["rounds"]
    assert isinstance(rounds, list)
    assert [r["surge_level"] for r in rounds] == [0, 2]
    assert rounds[1]["radius_m"] > rounds[0]["radius_m"]


async def test_an_accepted_offer_assigns_the_route(dispatch: Dispatch, tap: EventTap) -> None:
    winner, other = a_driver(km_north=0.5), a_driver(km_north=1.0)
    await dispatch.add_drivers(winner, other)
    shipment = a_ready_shipment()
    await dispatch.add_shipments(shipment)
    _, offered = await plan_one_route(dispatch, tap, clock.now())

    await dispatch.publish(
        OfferAccepted(
            offer_id=offered.payload.offer_id,
            route_id=offered.payload.route_id,
            mall_id=MALL.id,
            driver_id=winner.driver_id,
            pay_cents=offered.payload.pay_cents,
            at=clock.now(),
        ),
        key=str(offered.payload.route_id),
    )

    assigned = await tap.next(RouteAssigned, within=15)
    assert assigned.key == MALL.id
    assert assigned.payload.route_id == offered.payload.route_id
    assert assigned.payload.offer_id == offered.payload.offer_id
    assert assigned.payload.driver_id == winner.driver_id
    assert assigned.payload.pay_cents == offered.payload.pay_cents
    assert assigned.payload.order_ids == [shipment.order_id]
    route = await dispatch.api.get(
        f"/v1/dispatch/routes/{offered.payload.route_id}", headers=dispatch.operator()
    )
    assert route.json()["status"] == "assigned"
    assert route.json()["driver_id"] == str(winner.driver_id)
    log = await offer_log(dispatch, offered.payload.route_id)
    assert answers(log) == [{str(winner.driver_id): "accepted", str(other.driver_id): "taken"}]
    # The winner is on a route now: no further offers for them.
    await dispatch.add_shipments(a_ready_shipment())
    await usecases.plan_mall(dispatch.db, MALL.id, clock.now(), dispatch.policies)
    next_offer = await tap.next(RouteOffered, within=10)
    assert next_offer.payload.driver_ids == [other.driver_id]


async def test_when_every_driver_declines_the_next_drivers_are_asked_at_once(
    dispatch: Dispatch, tap: EventTap
) -> None:
    first_pair, fallback = [a_driver(km_north=0.5), a_driver(km_north=1.0)], a_driver(km_north=2)
    await dispatch.add_drivers(*first_pair, fallback)
    await dispatch.add_shipments(a_ready_shipment())
    _, offered = await plan_one_route(dispatch, tap, clock.now())

    for driver in first_pair:
        await dispatch.publish(
            OfferDeclined(
                offer_id=offered.payload.offer_id,
                route_id=offered.payload.route_id,
                mall_id=MALL.id,
                driver_id=driver.driver_id,
                at=clock.now(),
            ),
            key=str(offered.payload.route_id),
        )

    closed = await tap.next(RouteOfferExpired, within=15)
    assert closed.payload.offer_id == offered.payload.offer_id
    again = await tap.next(RouteOffered, within=10)
    assert again.payload.driver_ids == [fallback.driver_id]
    log = await offer_log(dispatch, offered.payload.route_id)
    assert answers(log)[0] == {str(d.driver_id): "declined" for d in first_pair}


async def test_cancelling_an_order_on_an_offered_route_keeps_offering_the_rest(
    dispatch: Dispatch, tap: EventTap
) -> None:
    await dispatch.add_drivers(a_driver())
    cancelled, kept = a_ready_shipment(km_north=3), a_ready_shipment(km_north=3.2)
    await dispatch.add_shipments(cancelled, kept)
    _, offered = await plan_one_route(dispatch, tap, clock.now())
    route_id = offered.payload.route_id

    await dispatch.publish(
        OrderCancelled(
            order_id=cancelled.order_id,
            mall_id=MALL.id,
            shipment_ids=[cancelled.shipment_id],
            reason="customer cancelled",
        ),
        key=MALL.id,
    )

    async def only_the_kept_left() -> Any:
        resp = await dispatch.api.get(
            f"/v1/dispatch/routes/{route_id}", headers=dispatch.operator()
        )
        body = resp.json()
        shipments = {s["shipment_id"] for s in body["stops"]}
        return body if shipments == {str(kept.shipment_id)} else None

    # A driver may be accepting the offer right now: the route stays on offer without it.
    route = await eventually(only_the_kept_left, within=15)
    assert route["status"] == "offering"
    assert await dispatch.pool_ids() == set()


@pytest.mark.parametrize("dispatch_overrides", [{"max_offer_rounds": 1}])
async def test_a_route_nobody_takes_goes_back_to_the_pool(
    dispatch: Dispatch, tap: EventTap
) -> None:
    await dispatch.add_drivers(a_driver())
    shipment = a_ready_shipment()
    await dispatch.add_shipments(shipment)
    now = clock.now()
    _, offered = await plan_one_route(dispatch, tap, now)

    await usecases.run_offer_rounds(dispatch.db, now + timedelta(seconds=61), dispatch.policies)

    expired = await tap.next(RouteOfferExpired, within=10)
    assert expired.payload.offer_id == offered.payload.offer_id
    assert await dispatch.pool_ids() == {shipment.shipment_id}


async def test_the_offer_log_needs_an_operator_token(dispatch: Dispatch, tap: EventTap) -> None:
    await dispatch.add_drivers(a_driver())
    await dispatch.add_shipments(a_ready_shipment())
    _, offered = await plan_one_route(dispatch, tap, clock.now())
    path = f"/v1/dispatch/routes/{offered.payload.route_id}/offers"

    missing = await dispatch.api.get(path)
    forged = await dispatch.api.get(path, headers={"Authorization": "Bearer not-a-jwt"})
    allowed = await dispatch.api.get(path, headers=dispatch.operator())

    for refused in (missing, forged):
        assert refused.status_code == 401
        assert refused.headers["content-type"] == "application/problem+json"
        assert refused.headers["www-authenticate"].startswith("Bearer")
    assert allowed.status_code == 200
    [round_one] = allowed.json()["rounds"]
    assert round_one["pay_cents"] == offered.payload.pay_cents
    assert round_one["hourly_floor_cents"] == offered.payload.hourly_floor_cents
    [sighting] = round_one["shown_to"]
    assert sighting["answer"] == "pending"
    assert sighting["pay_cents"] == offered.payload.pay_cents
    unknown = await dispatch.api.get(
        "/v1/dispatch/routes/00000000-0000-0000-0000-000000000000/offers",
        headers=dispatch.operator(),
    )
    assert unknown.status_code == 404


async def test_an_assigned_route_follows_the_driver_services_copy_of_its_stops(
    dispatch: Dispatch, tap: EventTap
) -> None:
    driver = a_driver()
    await dispatch.add_drivers(driver)
    cancelled, kept = a_ready_shipment(km_north=3), a_ready_shipment(km_north=3.2)
    await dispatch.add_shipments(cancelled, kept)
    _, offered = await plan_one_route(dispatch, tap, clock.now())
    route_id = offered.payload.route_id
    await dispatch.publish(
        OfferAccepted(
            offer_id=offered.payload.offer_id,
            route_id=route_id,
            mall_id=MALL.id,
            driver_id=driver.driver_id,
            pay_cents=offered.payload.pay_cents,
            at=clock.now(),
        ),
        key=str(route_id),
    )
    await tap.next(RouteAssigned, within=15)
    await dispatch.publish(
        OrderCancelled(
            order_id=cancelled.order_id,
            mall_id=MALL.id,
            shipment_ids=[cancelled.shipment_id],
            reason="customer cancelled",
        ),
        key=MALL.id,
    )
    # What the driver service reports after applying the cancellation.
    reported = [
        RouteStopState(
            **stop.model_dump(),
            status=StopStatus.CANCELLED
            if stop.shipment_id == cancelled.shipment_id
            else StopStatus.PENDING,
        )
        for stop in offered.payload.stops
    ]
    await dispatch.publish(
        RouteStopsChanged(
            route_id=route_id,
            mall_id=MALL.id,
            driver_id=driver.driver_id,
            revision=2,
            stops=reported,
            is_completed=False,
            at=clock.now(),
        ),
        key=str(route_id),
    )

    async def statuses() -> list[tuple[str, str]] | None:
        resp = await dispatch.api.get(
            f"/v1/dispatch/routes/{route_id}", headers=dispatch.operator()
        )
        stops = resp.json()["stops"]
        found = [(s["shipment_id"], s["status"]) for s in stops]
        return found if any(status == "cancelled" for _, status in found) else None

    found = await eventually(statuses, within=15)
    assert sorted(set(found)) == sorted(
        {(str(cancelled.shipment_id), "cancelled"), (str(kept.shipment_id), "pending")}
    )
    assert await dispatch.pool_ids() == set()
