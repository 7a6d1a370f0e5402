"""Delivery windows at dispatch: a window opening later waits in the pool; the fleet's rate is
told to the catalog and the order service as drivers come and go."""

from __future__ import annotations

from datetime import timedelta

from dispatch_service import usecases
from dispatch_service.store import drivers
from shared import clock
from shared.events.dispatch import RouteOffered, ZoneCapacityChanged
from tests.integration.dispatch.conftest import MALL, Dispatch, a_driver, a_ready_shipment
from tests.support import EventTap, eventually


async def test_an_evening_window_waits_in_the_pool_while_an_asap_order_is_planned(
    dispatch: Dispatch, tap: EventTap
) -> None:
    now = clock.now()
    await dispatch.add_drivers(a_driver(), a_driver())
    evening = a_ready_shipment().model_copy(
        update={
            "window_starts_at": now + timedelta(hours=6),
            "deliver_by": now + timedelta(hours=8),
        }
    )
    soon = a_ready_shipment()
    await dispatch.add_shipments(evening, soon)

    report = await usecases.plan_mall(dispatch.db, MALL.id, now, dispatch.policies)

    offered = await tap.next(RouteOffered, within=10)
    assert {s.shipment_id for s in offered.payload.stops} == {soon.shipment_id}
    assert report.dropped == 0 and report.flagged_at_risk == []
    assert await dispatch.pool_ids() == {evening.shipment_id}
    # Near its opening, it is planned, its drop-off not before the window opens.
    later = now + timedelta(hours=5, minutes=30)
    # Fresh drivers then: the first route, still on offer, counts on one of them.
    await dispatch.add_drivers(a_driver(at=later), a_driver(at=later))
    await usecases.plan_mall(dispatch.db, MALL.id, later, dispatch.policies)
    planned = await tap.next(
        RouteOffered, where=lambda p: evening.shipment_id in {s.shipment_id for s in p.stops}
    )
    dropoff = next(s for s in planned.payload.stops if s.kind.value == "dropoff")
    assert evening.window_starts_at is not None
    assert dropoff.deliver_from == evening.window_starts_at
    assert dropoff.eta >= evening.window_starts_at


async def online_count(dispatch: Dispatch, count: int) -> bool:
    async with dispatch.db.begin() as tx:
        return len(await drivers.online(tx)) == count


async def test_the_fleet_s_rate_is_told_when_drivers_come_and_go(
    dispatch: Dispatch, tap: EventTap
) -> None:
    now = clock.now()
    first, second = a_driver(), a_driver()
    await dispatch.add_drivers(first, second)

    told = await usecases.tell_fleet_rates(dispatch.db, now, dispatch.policies)
    again = await usecases.tell_fleet_rates(dispatch.db, now, dispatch.policies)
    await dispatch.publish(second.model_copy(update={"online": False}), key=str(second.driver_id))
    await eventually(lambda: online_count(dispatch, 1), within=15)
    fewer = await usecases.tell_fleet_rates(dispatch.db, now, dispatch.policies)

    per_driver = dispatch.settings.orders_per_driver_hour
    rates = [
        (await tap.next(ZoneCapacityChanged, where=lambda p: p.mall_id == MALL.id)).payload
        for _ in range(2)
    ]
    assert MALL.id in told and again == [] and MALL.id in fewer
    assert [r.orders_per_hour for r in rates] == [2 * per_driver, per_driver]
    assert all(r.same_day_enabled and r.promise_delay_minutes == 0 for r in rates)
