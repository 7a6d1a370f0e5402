from __future__ import annotations

import pytest

from shared.events.dispatch import RouteOffered, RouteOfferExpired, RoutePlanned
from tests.integration.dispatch.conftest import Dispatch, a_driver, a_ready_shipment
from tests.support import EventTap


@pytest.mark.parametrize(
    "dispatch_overrides",
    [
        {
            "is_timers_enabled": True,
            "batch_tick_seconds": 0.2,
            "batch_interval_seconds": 0.5,
            "offer_tick_seconds": 0.2,
            "offer_ttl_seconds": 1.0,
        }
    ],
)
async def test_the_timers_plan_offer_expire_and_re_offer_on_their_own(
    dispatch: Dispatch, tap: EventTap
) -> None:
    nearest, second, third = a_driver(km_north=0.5), a_driver(km_north=1.0), a_driver(km_north=2)
    await dispatch.add_drivers(nearest, second, third)

    # Published, not awaited in the pool: the batching timer may route it before anyone looks.
    ready = a_ready_shipment()
    await dispatch.publish(ready, key=ready.mall_id)

    planned = await tap.next(RoutePlanned, within=15)
    first = await tap.next(RouteOffered, within=10)
    assert first.payload.route_id == planned.payload.route_id
    assert first.payload.driver_ids == [nearest.driver_id, second.driver_id]
    expired = await tap.next(RouteOfferExpired, within=10)
    assert expired.payload.offer_id == first.payload.offer_id
    again = await tap.next(RouteOffered, within=10)
    assert again.payload.round == 2
    assert again.payload.driver_ids == [third.driver_id]


@pytest.mark.parametrize(
    "dispatch_overrides",
    [
        {
            "is_timers_enabled": True,
            # Far longer than the deadline below: only a wake-up can start the round in time.
            "batch_tick_seconds": 120,
            "batch_min_gap_seconds": 0,
            "batch_pool_trigger_size": 1,
        }
    ],
)
async def test_a_shipment_that_makes_a_round_due_starts_it_without_waiting_for_the_tick(
    dispatch: Dispatch, tap: EventTap
) -> None:
    await dispatch.add_drivers(a_driver(km_north=0.5))

    ready = a_ready_shipment()
    await dispatch.publish(ready, key=ready.mall_id)

    planned = await tap.next(RoutePlanned, within=20)
    assert ready.shipment_id in {stop.shipment_id for stop in planned.payload.stops}
