"""The storefront's view of an order across the four processes: a quote, checkout in an evening
window, signed status webhooks in order, and the tracking page, which shows the driver only
once away from the mall. No response, webhook, page or script names a store or mall."""

from __future__ import annotations

import time
import uuid
from datetime import datetime, timedelta
from typing import Any

import httpx
import orjson
from standardwebhooks import Webhook

from services.clients import Storefront
from services.leaks import LeakScanner
from services.suite import Suite
from tests.e2e.actors import Json, Pos, WebhookInbox, expect, stop_of
from tests.e2e.test_same_day_flow import (
    FLOW_SECONDS,
    HOME,
    MALL,
    ON_THE_WAY,
    a_checkout,
    a_driver_takes_the_route,
    a_first_name,
    all_offline,
    drivers_near_the_mall,
    pack,
    pick_up,
    shipment_at_its_store,
)
from tests.support import eventually

EVENING_LABEL = "6–8 PM"


async def register_endpoint(
    http: httpx.AsyncClient, suite: Suite, inbox: WebhookInbox, name: str
) -> str:
    """The storefront's backend registers its endpoint; returns the signing secret."""
    created = expect(
        await http.post(
            f"{suite.urls['order']}/v1/storefront/webhook-endpoints",
            json={"url": inbox.storefront_endpoint(name)},
            headers={"Authorization": f"Bearer {suite.storefront_token}"},
        ),
        201,
    )
    secret: str = created["secret"]
    return secret


def verified_events(
    inbox: WebhookInbox, name: str, secret: str, scanner: LeakScanner, order_id: str
) -> list[Json]:
    """The order's webhooks at the endpoint, each checked by the Standard Webhooks library and
    scanned for store and mall identifiers like any response."""
    events = []
    for delivery in inbox.storefront:
        if delivery.store_id != name:
            continue
        event: Json = Webhook(secret).verify(delivery.body, delivery.headers)
        scanner.check(
            httpx.Response(
                204,
                content=delivery.body,
                headers=delivery.headers,
                request=httpx.Request("POST", inbox.storefront_endpoint(name)),
            ),
            f"webhook {event['type']}",
        )
        if event["data"]["order_id"] == order_id:
            events.append(event)
    return events


def suite_now(suite: Suite) -> datetime:
    """The suite's clock, as its processes read it (shared.clock)."""
    start = datetime.fromisoformat(suite.env["MTH_CLOCK_START"])
    speed = float(suite.env.get("MTH_CLOCK_SPEED", "1"))
    elapsed = time.time() - float(suite.env["MTH_CLOCK_REAL_START"])
    return start + timedelta(seconds=elapsed * speed)


async def tracking_status(storefront: Any, token: str) -> Json:
    return expect(await storefront.tracking(f"/t/{token}/status"), 200)


async def test_a_quoted_evening_order_reaches_the_storefront_signed_and_in_order_and_is_tracked(
    suite: Suite,
    http: httpx.AsyncClient,
    storefront: Storefront,
    scanner: LeakScanner,
    pos_terminals: dict[str, Pos],
    webhook_inbox: WebhookInbox,
) -> None:
    endpoint = f"shop-{uuid.uuid4().hex[:8]}"
    secret = await register_endpoint(http, suite, webhook_inbox, endpoint)
    drivers = await drivers_near_the_mall(suite, http, 2, "Evening driver")
    try:
        item = expect(await storefront.same_day(**HOME, limit=5), 200)["items"][0]
        first_name, postal_code = a_first_name(), "89103"
        body = a_checkout(item["offer_id"], first_name, postal_code)

        quote = expect(await storefront.quote(body), 201)
        evening = next((w for w in quote["windows"] if w["label"] == EVENING_LABEL), None)
        assert evening is not None, quote["windows"]
        order = expect(
            await storefront.checkout(
                {**body, "quote_id": quote["id"], "window_id": evening["id"]},
                str(uuid.uuid4()),
            ),
            201,
        )

        assert quote["can_arrive_today"] is True
        assert evening["kind"] == "scheduled" and evening["is_today"] is True
        starts_at = datetime.fromisoformat(evening["starts_at"])
        assert (starts_at.hour, datetime.fromisoformat(evening["ends_at"]).hour) == (18, 20)
        assert datetime.fromisoformat(order["window"]["starts_at"]) == starts_at
        assert order["delivery_fee_cents"] == evening["delivery_fee_cents"]
        token = order["tracking_token"]
        html = await storefront.tracking(f"/t/{token}")
        assert html.status_code == 200 and token in html.text
        for asset in ("/t/assets/tracking.js", "/t/assets/tracking.css"):
            assert (await storefront.tracking(asset)).status_code == 200

        pos, shipment = await shipment_at_its_store(pos_terminals, first_name)
        labels = await pack(pos, shipment)
        driver, route = await a_driver_takes_the_route(drivers, postal_code)
        dropoff = stop_of(route, "dropoff")
        assert datetime.fromisoformat(dropoff["deliver_from"]) == starts_at
        await driver.report_position(**MALL)
        await pick_up(driver, route, labels)
        await eventually(lambda: storefront.order_in(order["id"], "picked_up"), within=15)
        # Out with the goods, but still at the mall: the page must not show where.
        await driver.report_position(**MALL)
        at_the_mall = await tracking_status(storefront, token)
        assert at_the_mall["status"] == "picked_up" and at_the_mall["driver"] is None

        await driver.report_position(**ON_THE_WAY)

        async def driver_on_the_map() -> Json | None:
            status = await tracking_status(storefront, token)
            return status if status["driver"] else None

        away = await eventually(driver_on_the_map, within=15)
        assert (away["driver"]["lat"], away["driver"]["lng"]) == (
            ON_THE_WAY["lat"],
            ON_THE_WAY["lng"],
        )
        assert away["eta"] is not None
        view = await storefront.order_view(order["id"])
        # Early for the window, the driver waits at the door for it to open (the suite's clock
        # starts a minute before six).
        await eventually(lambda: suite_now(suite) >= starts_at, within=90, interval=0.5)
        await driver.deliver(route["route_id"], dropoff, view["delivery_pin"])
        delivered = await eventually(
            lambda: storefront.order_in(order["id"], "delivered"), within=15
        )

        async def three_webhooks() -> list[Json] | None:
            events = verified_events(webhook_inbox, endpoint, secret, scanner, order["id"])
            return events if len(events) >= 3 else None

        events = await eventually(three_webhooks, within=FLOW_SECONDS)
        assert [e["type"] for e in events] == [
            "order.placed",
            "order.out_for_delivery",
            "order.delivered",
        ]
        placed, out, done = events
        assert placed["data"]["tracking_url"] == order["tracking_url"]
        assert datetime.fromisoformat(out["data"]["eta"]) <= datetime.fromisoformat(
            order["deliver_by"]
        )
        assert done["data"]["proof"]["location"] == HOME
        (photo,) = done["data"]["proof"]["photos"]
        picture = await http.get(photo["url"])
        assert picture.status_code == 200 and picture.headers["content-type"] == "image/jpeg"
        finished = await tracking_status(storefront, token)
        assert finished["driver"] is None and finished["proof"]["photo_urls"]
        delivered_at = datetime.fromisoformat(delivered["timeline"][-1]["at"])
        assert starts_at <= delivered_at <= datetime.fromisoformat(order["deliver_by"])
        scanned = orjson.dumps(events).decode().casefold()
        assert all(identifier not in scanned for identifier in scanner.identifiers)
    finally:
        await all_offline(drivers)
    assert scanner.leaks == []
