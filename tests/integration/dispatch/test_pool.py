from __future__ import annotations

from datetime import timedelta
from uuid import uuid4

import pytest

from dispatch_service import usecases
from shared import clock
from shared.events.dispatch import OrderPromiseAtRisk, ZoneCapacityChanged
from shared.events.order import OrderCancelled
from tests.integration.dispatch.conftest import MALL, Dispatch, a_driver, a_ready_shipment
from tests.support import EventTap


async def test_a_ready_shipment_enters_its_mall_pool(dispatch: Dispatch) -> None:
    ready = a_ready_shipment(packages=2)

    await dispatch.add_shipments(ready)

    resp = await dispatch.api.get(f"/v1/dispatch/malls/{MALL.id}/pool", headers=dispatch.operator())
    [pooled] = resp.json()["shipments"]
    assert pooled["order_id"] == str(ready.order_id)
    assert pooled["store_name"] == "Lamp & Co"
    assert pooled["package_count"] == 2
    assert pooled["is_at_risk"] is False


async def test_a_cancelled_order_leaves_the_pool(dispatch: Dispatch) -> None:
    order_id = uuid4()
    first, second = a_ready_shipment(order_id=order_id), a_ready_shipment(order_id=order_id)
    other = a_ready_shipment()
    await dispatch.add_shipments(first, second, other)

    await dispatch.publish(
        OrderCancelled(
            order_id=order_id, mall_id=MALL.id, shipment_ids=[], reason="customer cancelled"
        ),
        key=MALL.id,
    )

    await dispatch.wait_for_pool({other.shipment_id})


async def test_a_shipment_that_cannot_make_its_promise_is_flagged_once(
    dispatch: Dispatch, tap: EventTap
) -> None:
    # 30 km out and due in 20 minutes: no route can make it.
    lost = a_ready_shipment(km_north=30, due_in=timedelta(minutes=20))
    await dispatch.add_shipments(lost)

    first = await usecases.plan_mall(dispatch.db, MALL.id, clock.now(), dispatch.policies)
    second = await usecases.plan_mall(dispatch.db, MALL.id, clock.now(), dispatch.policies)

    flagged = await tap.next(OrderPromiseAtRisk, within=10)
    assert flagged.payload.shipment_id == lost.shipment_id
    assert flagged.payload.order_id == lost.order_id
    assert flagged.key == MALL.id
    assert first.flagged_at_risk == [lost.shipment_id]
    assert second.flagged_at_risk == []
    assert await dispatch.pool_ids() == {lost.shipment_id}


@pytest.mark.parametrize("dispatch_overrides", [{"saturation_rounds": 2}])
async def test_a_mall_without_drivers_stops_same_day_and_resumes_when_drivers_return(
    dispatch: Dispatch, tap: EventTap
) -> None:
    await dispatch.add_shipments(a_ready_shipment())

    for _ in range(2):
        await usecases.plan_mall(dispatch.db, MALL.id, clock.now(), dispatch.policies)

    off = await tap.next(ZoneCapacityChanged, within=10)
    assert off.payload.mall_id == MALL.id
    assert off.payload.same_day_enabled is False
    assert off.key == MALL.id

    await dispatch.add_drivers(a_driver())
    reports = [
        await usecases.plan_mall(dispatch.db, MALL.id, clock.now(), dispatch.policies)
        for _ in range(2)
    ]

    on = await tap.next(ZoneCapacityChanged, within=10)
    assert on.payload.same_day_enabled is True
    assert on.payload.promise_delay_minutes == 0
    assert len(reports[0].planned) == 1


async def test_a_driver_coming_free_pulls_a_round_forward_for_shipments_left_behind(
    dispatch: Dispatch,
) -> None:
    # Due in hours, so neither the pool's size nor a shipment's slack would pull a round.
    left_behind = a_ready_shipment(due_in=timedelta(hours=3))
    await dispatch.add_shipments(left_behind)
    first = await usecases.run_due_rounds(dispatch.db, clock.now(), dispatch.policies)
    assert [(r.mall_id, r.planned, r.dropped) for r in first] == [(MALL.id, [], 1)]
    soon_after = clock.now() + dispatch.policies.round_min_gap

    assert await usecases.run_due_rounds(dispatch.db, soon_after, dispatch.policies) == []

    await dispatch.add_drivers(a_driver())
    [pulled] = await usecases.run_due_rounds(dispatch.db, soon_after, dispatch.policies)
    assert pulled.mall_id == MALL.id
    assert len(pulled.planned) == 1
    assert await dispatch.pool_ids() == set()


@pytest.mark.parametrize("dispatch_overrides", [{"saturation_rounds": 2}])
async def test_orders_left_waiting_for_the_only_driver_delay_the_promise_then_recover(
    dispatch: Dispatch, tap: EventTap
) -> None:
    # Opposite sides of the mall, each due in 40 minutes: one driver cannot take both.
    north = a_ready_shipment(km_north=9, due_in=timedelta(minutes=40))
    south = a_ready_shipment(km_north=-9, due_in=timedelta(minutes=40))
    await dispatch.add_drivers(a_driver())
    await dispatch.add_shipments(north, south)

    first = await usecases.plan_mall(dispatch.db, MALL.id, clock.now(), dispatch.policies)
    second = await usecases.plan_mall(dispatch.db, MALL.id, clock.now(), dispatch.policies)

    delayed = await tap.next(ZoneCapacityChanged, within=10)
    assert (len(first.planned), first.dropped) == (1, 1)
    assert (second.planned, second.dropped) == ([], 1)
    assert delayed.payload.same_day_enabled is True
    assert delayed.payload.promise_delay_minutes == dispatch.policies.capacity.promise_delay_minutes
    assert delayed.payload.promise_delay_minutes > 0

    await dispatch.add_drivers(a_driver(km_north=-1))
    for _ in range(2):
        await usecases.plan_mall(dispatch.db, MALL.id, clock.now(), dispatch.policies)

    restored = await tap.next(ZoneCapacityChanged, within=10)
    assert restored.payload.same_day_enabled is True
    assert restored.payload.promise_delay_minutes == 0
