"""Two lifecycles that used to strand goods, across the four processes, HTTP only: a cancel
after the pickup scan, and a store rejecting after a driver accepted. Every customer response is
scanned for store and mall identifiers."""

from __future__ import annotations

from typing import Any

import httpx

from services.clients import Storefront
from services.leaks import LeakScanner
from services.suite import Suite
from tests.e2e.actors import Json, Pos, WebhookInbox, expect, stop_of
from tests.e2e.test_same_day_flow import (
    FLOW_SECONDS,
    HOME,
    a_driver_takes_the_route,
    a_first_name,
    all_offline,
    assert_no_leaks,
    drivers_near_the_mall,
    offer_log_once_assigned,
    pack,
    pick_up,
    place_order,
    shipment_at_its_store,
    statuses,
    two_stores_stock,
)
from tests.support import eventually


def stops_of(route: Json, kind: str) -> list[Json]:
    return [s for s in route["stops"] if s["kind"] == kind]


async def test_a_cancel_after_the_pickup_scan_sends_the_package_back_and_restores_the_stock(
    suite: Suite,
    http: httpx.AsyncClient,
    storefront: Storefront,
    scanner: LeakScanner,
    pos_terminals: dict[str, Pos],
    webhook_inbox: WebhookInbox,
) -> None:
    drivers = await drivers_near_the_mall(suite, http, 2, "Cancel-return driver")
    try:
        page = expect(await storefront.same_day(**HOME, limit=30), 200)
        item = page["items"][7]
        first_name, postal_code = a_first_name(), "89117"
        order = await place_order(storefront, item["offer_id"], first_name, postal_code)
        pos, shipment = await shipment_at_its_store(pos_terminals, first_name)
        before: Json = await pos.stock(item["sku"])
        labels = await pack(pos, shipment)
        driver, route = await a_driver_takes_the_route(drivers, postal_code)
        pickup = stop_of(route, "pickup")
        await pick_up(driver, route, labels)
        await eventually(lambda: storefront.order_in(order["id"], "picked_up"), within=15)

        cancelled = expect(await storefront.cancel(order["id"]), 200)
        assert cancelled["status"] == "returning"
        assert cancelled["timeline"][-1]["message"] == (
            "Order cancelled; it is being returned and you will not be charged."
        )

        async def return_stop() -> Json | None:
            current = await driver.route(route["route_id"])
            backs = stops_of(current, "return")
            return current if backs and backs[0]["status"] == "pending" else None

        turned = await eventually(return_stop, within=FLOW_SECONDS)
        assert stop_of(turned, "dropoff")["status"] == "cancelled"
        back = stop_of(turned, "return")
        assert (back["lat"], back["lng"], back["labels"]) == (pickup["lat"], pickup["lng"], labels)
        assert turned["completed_at"] is None
        await eventually(
            lambda: pos.pushed(webhook_inbox, "order.returning", shipment["shipment_id"]),
            within=15,
        )

        handed = await driver.hand_back(route["route_id"], back)
        assert stop_of(handed, "return")["status"] == "returned"
        assert handed["completed_at"] is not None
        view = await eventually(
            lambda: storefront.order_in(order["id"], "returned_to_store"), within=15
        )
        assert {"picked_up", "returning", "returned_to_store"} <= set(statuses(view))
        assert view["driver_location"] is None and view["eta"] is None
        await eventually(
            lambda: pos.pushed(webhook_inbox, "order.returned", shipment["shipment_id"]),
            within=15,
        )
        [returned] = await pos.orders_for(first_name, "returned")
        assert returned["is_restock_due"] is True
        packed_out = await pos.stock(item["sku"])
        assert packed_out["quantity"] == before["quantity"] - 1

        assert (await pos.restocked(shipment["shipment_id"]))["status"] == "returned_to_store"

        after = await pos.stock(item["sku"])
        assert (after["quantity"], after["reserved"]) == (
            before["quantity"],
            before["reserved"] - 1,
        )
        [done] = await pos.orders_for(first_name, "returned")
        assert done["is_restock_due"] is False
        expect(await storefront.tip(order["id"], 300), 409)
    finally:
        await all_offline(drivers)
    assert_no_leaks(scanner, at_least=6)


async def test_a_store_rejecting_after_the_accept_adds_the_other_stores_pickup_to_the_route(
    suite: Suite,
    http: httpx.AsyncClient,
    storefront: Storefront,
    scanner: LeakScanner,
    pos_terminals: dict[str, Pos],
    directory: Json,
    dispatch_operator_token: str,
) -> None:
    drivers = await drivers_near_the_mall(suite, http, 2, "Re-route after accept driver")
    try:
        page = expect(await storefront.same_day(**HOME, limit=100), 200)
        # From the end of the page: the other re-route test takes the first such item, and
        # this one leaves its first store with none.
        item, holders, _ = await two_stores_stock(http, suite, page["items"][::-1])
        first_name, postal_code = a_first_name(), "89128"
        order = await place_order(storefront, item["offer_id"], first_name, postal_code)
        first_pos, first = await shipment_at_its_store(pos_terminals, first_name)
        assert first_pos.store_id in holders
        await pack(first_pos, first)
        driver, route = await a_driver_takes_the_route(drivers, postal_code)
        await eventually(
            lambda: offer_log_once_assigned(
                http, suite, dispatch_operator_token, route["route_id"]
            ),
            within=15,
        )

        rejected = await first_pos.out_of_stock(first["shipment_id"], [item["sku"]])
        assert rejected["status"] == "rejected_by_store"
        second_pos, second = await shipment_at_its_store(
            pos_terminals, first_name, exclude=frozenset({first_pos.store_id})
        )
        assert second_pos.store_id in holders - {first_pos.store_id}
        labels = await pack(second_pos, second)
        second_store = next(s for s in directory["stores"] if s["id"] == second_pos.store_id)

        async def gained_the_pickup() -> Json | None:
            current = await driver.route(route["route_id"])
            pending = [
                s
                for s in stops_of(current, "pickup")
                if s["status"] == "pending" and s["store_name"] == second_store["name"]
            ]
            return current if pending else None

        grown = await eventually(gained_the_pickup, within=FLOW_SECONDS)
        assert [s["status"] for s in stops_of(grown, "pickup")] == ["cancelled", "pending"]
        assert grown["completed_at"] is None
        new_pickup = next(s for s in stops_of(grown, "pickup") if s["status"] == "pending")
        assert new_pickup["labels"] == labels
        new_dropoff = next(s for s in stops_of(grown, "dropoff") if s["status"] == "pending")

        await driver.arrive(route["route_id"], new_pickup)
        await driver.pick_up(route["route_id"], new_pickup, labels)
        view = await storefront.order_view(order["id"])
        delivered_route = await driver.deliver(
            route["route_id"], new_dropoff, view["delivery_pin"]
        )
        assert delivered_route["completed_at"] is not None
        delivered = await eventually(
            lambda: storefront.order_in(order["id"], "delivered"), within=15
        )
        assert [line["is_cancelled"] for line in delivered["lines"]] == [False]
        tipped = expect(await storefront.tip(order["id"], 400), 200)
        assert tipped["tip_cents"] == 400

        async def tip_earned() -> Any:
            earnings = await http.get(f"{driver.url}/v1/drivers/me/earnings", headers=driver.auth)
            return expect(earnings, 200)["totals"]["tip_cents"] == 400

        await eventually(tip_earned, within=15)
    finally:
        await all_offline(drivers)
    # Browse, checkout, the order view, one look at it delivered (or more), the tip: 5 at least.
    assert_no_leaks(scanner, at_least=5)
