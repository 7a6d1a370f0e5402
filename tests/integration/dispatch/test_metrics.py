"""Dispatch's business metrics move where their events happen: offers made, routes accepted,
and how long a route waited for its driver."""

from __future__ import annotations

from datetime import timedelta

from shared import clock
from shared.events.dispatch import RouteAssigned
from shared.events.driver import OfferAccepted
from tests.integration.dispatch.conftest import MALL, Dispatch, a_driver, a_ready_shipment
from tests.integration.dispatch.test_offers import plan_one_route
from tests.support import EventTap, metric_value, scrape


async def test_an_offer_and_its_accept_are_counted_with_the_time_it_took(
    dispatch: Dispatch, tap: EventTap
) -> None:
    driver = a_driver(km_north=0.5)
    await dispatch.add_drivers(driver)
    await dispatch.add_shipments(a_ready_shipment())
    before = await scrape(dispatch.api)

    _, offered = await plan_one_route(dispatch, tap, clock.now())
    offered_at = offered.payload.expires_at - dispatch.policies.offer_ttl
    await dispatch.publish(
        OfferAccepted(
            offer_id=offered.payload.offer_id,
            route_id=offered.payload.route_id,
            mall_id=MALL.id,
            driver_id=driver.driver_id,
            pay_cents=offered.payload.pay_cents,
            at=offered_at + timedelta(seconds=42),
        ),
        key=str(offered.payload.route_id),
    )
    await tap.next(RouteAssigned, within=15)

    after = await scrape(dispatch.api)

    def counted(name: str) -> float:
        return metric_value(after, name, mall=MALL.id) - metric_value(before, name, mall=MALL.id)

    assert counted("dispatch_offers_total") == 1
    assert counted("dispatch_offers_accepted_total") == 1
    assert counted("dispatch_time_to_accept_seconds_count") == 1
    assert counted("dispatch_time_to_accept_seconds_sum") == 42
