"""A customer's order the whole way: catalog, checkout, store, dispatch, driver, doorstep.

Only HTTP, as the storefront, a store's POS and a driver app would speak it; every response the
customer receives is scanned for store and mall identifiers.
"""

from __future__ import annotations

import uuid
from datetime import datetime

import httpx
from opentelemetry.proto.trace.v1.trace_pb2 import Span as OtlpSpan

from services.leaks import LeakScanner
from services.suite import Suite
from shared.events import topics
from shared.malls import pilot_malls
from tests.e2e.actors import (
    FASHION_SHOW,
    DriverApp,
    Json,
    Pos,
    Storefront,
    WebhookInbox,
    expect,
    stop_of,
)
from tests.e2e.collector import OtlpCollector
from tests.e2e.conftest import internal_auth
from tests.support import eventually

MALL = {
    "lat": next(m.lat for m in pilot_malls() if m.id == FASHION_SHOW),
    "lng": next(m.lng for m in pilot_malls() if m.id == FASHION_SHOW),
}
# A house about 2.5 km south-west of Fashion Show Mall.
HOME = {"lat": 36.1147, "lng": -115.1932}
# Half way home: where the driver reports in from after the pickup.
ON_THE_WAY = {"lat": 36.1210, "lng": -115.1820}

SERVER, CONSUMER = OtlpSpan.SPAN_KIND_SERVER, OtlpSpan.SPAN_KIND_CONSUMER

# Dispatch batches every few seconds; the slowest step is a round plus an offer round trip.
FLOW_SECONDS = 45.0


def a_checkout(offer_id: str, first_name: str, postal_code: str, quantity: int = 1) -> Json:
    return {
        "lines": [{"offer_id": offer_id, "quantity": quantity}],
        "address": {
            "line1": "4821 Wisteria Lane",
            "line2": "Apt 12",
            "city": "Las Vegas",
            "region": "NV",
            "postal_code": postal_code,
            "instructions": "Blue door, ring twice",
            **HOME,
        },
        "contact": {"name": f"{first_name} Tester", "phone": "+17025550100"},
    }


def instant(text: str) -> datetime:
    return datetime.fromisoformat(text)


def a_first_name() -> str:
    # The POS sees the customer's first name only: a unique one tells this test's order apart.
    return f"Rowan{uuid.uuid4().hex[:6]}"


async def drivers_near_the_mall(
    suite: Suite, http: httpx.AsyncClient, count: int, name: str
) -> list[DriverApp]:
    drivers = [
        await DriverApp.register(http, suite.urls["driver"], f"{name} {i + 1}")
        for i in range(count)
    ]
    for driver in drivers:
        assert (await driver.go_online(**MALL))["is_online"] is True
    return drivers


async def place_order(
    storefront: Storefront, offer_id: str, first_name: str, postal_code: str
) -> Json:
    body = a_checkout(offer_id, first_name, postal_code)
    return expect(await storefront.checkout(body, str(uuid.uuid4())), 201)


async def shipment_at_its_store(
    pos_terminals: dict[str, Pos], first_name: str, exclude: frozenset[str] = frozenset()
) -> tuple[Pos, Json]:
    """The store whose POS lists a new order for this customer, and that order."""

    async def look() -> tuple[Pos, Json] | None:
        for store_id, pos in pos_terminals.items():
            if store_id in exclude:
                continue
            found = await pos.orders_for(first_name)
            if found:
                assert len(found) == 1, found
                return pos, found[0]
        return None

    found: tuple[Pos, Json] = await eventually(look, within=15, interval=0.3)
    return found


async def pushed_to(pos: Pos, inbox: WebhookInbox, shipment: Json) -> Json:
    """The signed `order.created` webhook the store's endpoint received for this shipment."""
    event: Json = await eventually(
        lambda: pos.pushed(inbox, "order.created", shipment["shipment_id"]), within=15
    )
    pushed, pulled = dict(event["data"]), dict(shipment)
    # The same instant: the push renders it in the mall's offset, the pull in UTC.
    assert instant(pushed.pop("deliver_by")) == instant(pulled.pop("deliver_by"))
    assert pushed == pulled
    return event


async def pack(pos: Pos, shipment: Json) -> list[str]:
    labels = [f"E2E-{uuid.uuid4().hex[:10].upper()}"]
    assert (await pos.accept(shipment["shipment_id"]))["status"] == "accepted"
    assert (await pos.packaged(shipment["shipment_id"], labels))["status"] == "packaged"
    return labels


async def a_driver_takes_the_route(
    drivers: list[DriverApp], postal_code: str
) -> tuple[DriverApp, Json]:
    """The first driver offered a route to the test's delivery area accepts it; returns that
    driver and the route."""
    area = f"Las Vegas {postal_code}"

    async def offered() -> tuple[DriverApp, Json] | None:
        for driver in drivers:
            # A route a failed earlier test left behind may be on offer too: not ours.
            offers = [o for o in await driver.offers(wait=1) if area in o["dropoff_areas"]]
            if offers:
                return driver, offers[0]
        return None

    driver, offer = await eventually(offered, within=FLOW_SECONDS, interval=0)
    accepted = expect(await driver.accept(offer["offer_id"]), 200)
    route = await driver.route(accepted["route_id"])
    assert [stop["area"] for stop in route["stops"] if stop["kind"] == "dropoff"] == [area]
    return driver, route


async def offer_log_once_assigned(
    http: httpx.AsyncClient, suite: Suite, token: str, route_id: str
) -> Json | None:
    """Dispatch's offer visibility log of the route, once dispatch has assigned it."""
    log = expect(
        await http.get(
            f"{suite.urls['dispatch']}/v1/dispatch/routes/{route_id}/offers",
            headers={"Authorization": f"Bearer {token}"},
        ),
        200,
    )
    return log if log["route_status"] == "assigned" else None


async def pick_up(driver: DriverApp, route: Json, labels: list[str]) -> None:
    pickup = stop_of(route, "pickup")
    assert pickup["labels"] == labels
    await driver.arrive(route["route_id"], pickup)
    picked = await driver.pick_up(route["route_id"], pickup, labels)
    assert stop_of(picked, "pickup")["status"] == "picked_up"


async def all_offline(drivers: list[DriverApp]) -> None:
    # Idle drivers left online near the mall would be offered the next test's routes.
    for driver in drivers:
        await driver.go_offline()


def statuses(view: Json) -> list[str]:
    return [entry["status"] for entry in view["timeline"]]


def assert_no_leaks(scanner: LeakScanner, at_least: int) -> None:
    """No identifier in any response, and the scanner saw at least the test's fewest calls
    (polls may add more)."""
    assert scanner.leaks == []
    assert scanner.responses_checked >= at_least


async def test_an_order_reaches_the_door_and_no_customer_response_names_its_store(
    suite: Suite,
    http: httpx.AsyncClient,
    customer_tokens: list[str],
    storefront: Storefront,
    scanner: LeakScanner,
    pos_terminals: dict[str, Pos],
    webhook_inbox: WebhookInbox,
    dispatch_operator_token: str,
    otlp_collector: OtlpCollector,
) -> None:
    drivers = await drivers_near_the_mall(suite, http, 2, "Happy path driver")
    try:
        page = expect(await storefront.same_day(**HOME, limit=5), 200)
        assert len(page["items"]) == 5 and page["next_cursor"]
        more = expect(await storefront.same_day(**HOME, limit=5, cursor=page["next_cursor"]), 200)
        assert {i["offer_id"] for i in more["items"]}.isdisjoint(
            i["offer_id"] for i in page["items"]
        )
        expect(await storefront.same_day(**HOME, cursor="not-a-cursor"), 400)
        item = page["items"][0]
        first_name, postal_code = a_first_name(), "89102"
        body = a_checkout(item["offer_id"], first_name, postal_code)

        expect(await storefront.checkout(body, idempotency_key=None), 400)
        key = str(uuid.uuid4())
        placed = await storefront.checkout(body, key)
        order = expect(placed, 201)
        checkout_trace = placed.headers["x-trace-id"]
        retried = expect(await storefront.checkout(body, key), 200)
        unknown_offer = a_checkout("no-such-offer", first_name, postal_code)
        expect(await storefront.checkout(unknown_offer, str(uuid.uuid4())), 422)
        expect(await storefront.order(order["id"], token=customer_tokens[1]), 404)
        too_many = a_checkout(item["offer_id"], first_name, postal_code, quantity=50)
        expect(await storefront.checkout(too_many, str(uuid.uuid4())), 409)
        for docs in await storefront.api_docs():
            assert docs.status_code == 200

        assert retried["id"] == order["id"]
        assert order["status"] == "placed"
        assert [(line["offer_id"], line["quantity"]) for line in order["lines"]] == [
            (item["offer_id"], 1)
        ]
        assert order["total_cents"] == item["price_cents"]
        assert order["delivery_pin"] and order["delivery_pin"].isdigit()

        pos, shipment = await shipment_at_its_store(pos_terminals, first_name)
        assert [line["sku"] for line in shipment["lines"]] == [item["sku"]]
        await pushed_to(pos, webhook_inbox, shipment)
        labels = await pack(pos, shipment)
        await eventually(lambda: storefront.order_in(order["id"], "packaged"), within=15)

        driver, route = await a_driver_takes_the_route(drivers, postal_code)
        assert [s["kind"] for s in route["stops"]] == ["pickup", "dropoff"]
        log = await eventually(
            lambda: offer_log_once_assigned(
                http, suite, dispatch_operator_token, route["route_id"]
            ),
            within=15,
        )
        answers = {v["driver_id"]: v["answer"] for r in log["rounds"] for v in r["shown_to"]}
        assert answers.pop(driver.driver_id) == "accepted"
        # Anyone else shown the route is this test's other driver, who lost it to the first.
        assert set(answers) <= {d.driver_id for d in drivers}
        assert set(answers.values()) <= {"taken"}
        await pick_up(driver, route, labels)
        await eventually(lambda: storefront.order_in(order["id"], "picked_up"), within=15)

        await driver.report_position(**ON_THE_WAY)

        async def driver_shown() -> Json | None:
            view = await storefront.order_view(order["id"])
            return view if view["driver_location"] else None

        on_the_way = await eventually(driver_shown, within=15)
        assert on_the_way["driver_location"]["lat"] == ON_THE_WAY["lat"]
        dropoff = stop_of(route, "dropoff")
        assert dropoff["needs_pin"] is True
        view = await storefront.order_view(order["id"])
        delivered_route = await driver.deliver(route["route_id"], dropoff, view["delivery_pin"])
        assert stop_of(delivered_route, "dropoff")["status"] == "delivered"
        assert delivered_route["completed_at"] is not None

        delivered = await eventually(
            lambda: storefront.order_in(order["id"], "delivered"), within=15
        )
        assert statuses(delivered)[0] == "placed" and statuses(delivered)[-1] == "delivered"
        assert {"packaged", "picked_up"} <= set(statuses(delivered))
        assert delivered["driver_location"] is None and delivered["eta"] is None
        expect(await storefront.cancel(order["id"]), 409)
        assert [o["status"] for o in await pos.orders_for(first_name, "all")] == ["delivered"]

        # One checkout, one trace: dispatch took the order into its pool and offered its route,
        # the driver service received the offer, each in the checkout's trace.
        def traced_to_the_driver() -> bool:
            spans = otlp_collector.in_trace(checkout_trace)
            return {"dispatch", "driver"} <= {
                s.service.removeprefix("mall-to-home-") for s in spans if s.kind == CONSUMER
            }

        await eventually(traced_to_the_driver, within=15)
        spans = otlp_collector.in_trace(checkout_trace)
        # The checkout's call to the catalog (httpx) carried the trace to its server span too.
        assert {s.service for s in spans if s.kind == SERVER} == {
            "mall-to-home-order",
            "mall-to-home-catalog",
        }
        assert {s.name for s in spans if s.service == "mall-to-home-driver"} >= {
            f"process {topics.resolve(topics.ROUTES, suite.topic_suffix)}"
        }
    finally:
        await all_offline(drivers)
    assert_no_leaks(scanner, at_least=17)


async def two_stores_stock(
    http: httpx.AsyncClient, suite: Suite, items: list[Json]
) -> tuple[Json, set[str], httpx.Response]:
    """An item that at least two stores of the mall hold, those stores, and the catalog's
    internal resolution of its offer that names them."""
    for item in items:
        resolved = await http.get(
            f"{suite.urls['catalog']}/v1/offers/{item['offer_id']}", headers=internal_auth(suite)
        )
        holders = {
            s["store_id"]
            for s in expect(resolved, 200)["stores"]
            if s["quantity"] >= 1 and s["mall_id"] == FASHION_SHOW
        }
        if len(holders) >= 2:
            return item, holders, resolved
    raise AssertionError("no item near the mall is held by two of its stores")


async def test_an_item_the_store_lacks_goes_to_another_store_of_the_mall(
    suite: Suite,
    http: httpx.AsyncClient,
    storefront: Storefront,
    scanner: LeakScanner,
    pos_terminals: dict[str, Pos],
    webhook_inbox: WebhookInbox,
    directory: Json,
) -> None:
    drivers = await drivers_near_the_mall(suite, http, 2, "Re-route driver")
    try:
        page = expect(await storefront.same_day(**HOME, limit=100), 200)
        item, holders, resolved = await two_stores_stock(http, suite, page["items"])
        # The control: an internal response names stores, and the scanner does see them.
        assert set(LeakScanner(set(scanner.identifiers)).check(resolved)) >= holders
        first_name, postal_code = a_first_name(), "89103"
        order = await place_order(storefront, item["offer_id"], first_name, postal_code)
        first_pos, first = await shipment_at_its_store(pos_terminals, first_name)
        assert first_pos.store_id in holders

        lacking = expect(
            await first_pos.send(
                {
                    "type": "out_of_stock",
                    "shipment_id": first["shipment_id"],
                    "lines": [{"sku": item["sku"]}],
                }
            ),
            200,
        )
        assert lacking["status"] == "rejected_by_store"
        second_pos, second = await shipment_at_its_store(
            pos_terminals, first_name, exclude=frozenset({first_pos.store_id})
        )

        assert second_pos.store_id in holders - {first_pos.store_id}
        assert second["shipment_id"] != first["shipment_id"]
        await pushed_to(second_pos, webhook_inbox, second)
        assert [(line["sku"], line["quantity"]) for line in second["lines"]] == [(item["sku"], 1)]
        assert await first_pos.orders_for(first_name) == []
        view = await storefront.order_view(order["id"])
        assert view["status"] == "placed"
        assert [line["is_cancelled"] for line in view["lines"]] == [False]
        assert view["total_cents"] == order["total_cents"]

        labels = await pack(second_pos, second)
        driver, route = await a_driver_takes_the_route(drivers, postal_code)
        second_store = next(s for s in directory["stores"] if s["id"] == second_pos.store_id)
        assert stop_of(route, "pickup")["store_name"] == second_store["name"]
        await pick_up(driver, route, labels)
        await driver.deliver(route["route_id"], stop_of(route, "dropoff"), view["delivery_pin"])
        delivered = await eventually(
            lambda: storefront.order_in(order["id"], "delivered"), within=15
        )
        assert [line["is_cancelled"] for line in delivered["lines"]] == [False]
    finally:
        await all_offline(drivers)
    assert_no_leaks(scanner, at_least=4)


async def test_a_failed_delivery_goes_back_to_its_store(
    suite: Suite,
    http: httpx.AsyncClient,
    storefront: Storefront,
    scanner: LeakScanner,
    pos_terminals: dict[str, Pos],
    webhook_inbox: WebhookInbox,
) -> None:
    drivers = await drivers_near_the_mall(suite, http, 2, "Return driver")
    try:
        page = expect(await storefront.same_day(**HOME, limit=20), 200)
        first_name, postal_code = a_first_name(), "89146"
        order = await place_order(
            storefront, page["items"][-1]["offer_id"], first_name, postal_code
        )
        pos, shipment = await shipment_at_its_store(pos_terminals, first_name)
        await pushed_to(pos, webhook_inbox, shipment)
        labels = await pack(pos, shipment)
        driver, route = await a_driver_takes_the_route(drivers, postal_code)
        pickup = stop_of(route, "pickup")
        await pick_up(driver, route, labels)
        await eventually(lambda: storefront.order_in(order["id"], "picked_up"), within=15)

        failed = await driver.fail(route["route_id"], stop_of(route, "dropoff"), "customer_absent")
        assert stop_of(failed, "dropoff")["status"] == "failed"
        back = stop_of(failed, "return")
        assert (back["lat"], back["lng"], back["labels"]) == (pickup["lat"], pickup["lng"], labels)
        assert failed["completed_at"] is None
        await eventually(lambda: storefront.order_in(order["id"], "delivery_failed"), within=15)

        returned = await driver.hand_back(route["route_id"], back)
        assert stop_of(returned, "return")["status"] == "returned"
        assert returned["completed_at"] is not None
        view = await eventually(
            lambda: storefront.order_in(order["id"], "returned_to_store"), within=15
        )
        assert {"picked_up", "delivery_failed", "returned_to_store"} <= set(statuses(view))
        assert view["eta"] is None and view["driver_location"] is None
        at_the_store = await pos.orders_for(first_name, "all")
        assert [o["status"] for o in at_the_store] == ["returned_to_store"]
    finally:
        await all_offline(drivers)
    assert_no_leaks(scanner, at_least=5)
