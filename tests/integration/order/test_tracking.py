"""The shopper's tracking page: reachable by its token only, the driver shown only once away from
the mall, the proof after delivery, and no store or mall in the page, its assets or its API."""

from __future__ import annotations

import hashlib
import re
import uuid
from datetime import UTC, datetime
from typing import Any
from urllib.parse import parse_qs, urlsplit
from uuid import UUID

import httpx

from shared import clock, proof_links
from shared.events.common import GeoPoint
from shared.events.dispatch import RouteAssigned
from shared.events.driver import DriverLocationUpdated, RouteStopDelivered, RouteStopPickedUp
from shared.geo import Point, haversine_m
from tests.integration.order.conftest import HOME, MALL, NORTH, SOUTH, OrderEnv
from tests.integration.order.test_lifecycle import DRIVER, ROUTE, CustomerLog, packaged_order, step
from tests.support import eventually

IDENTIFIERS = [
    value.casefold()
    for store in (NORTH, SOUTH)
    for value in (store.store_id, store.name, store.pickup_instructions, store.mall_name)
] + [MALL.id.casefold(), MALL.address.casefold()]
PLACES = [Point(NORTH.lat, NORTH.lng), Point(SOUTH.lat, SOUTH.lng), MALL.point]
NUMBER_PAIR = re.compile(r'"lat":\s*(-?\d+\.?\d*),\s*"lng":\s*(-?\d+\.?\d*)')


class Page:
    """What a shopper's browser fetches for the tracking page, each response scanned."""

    def __init__(self, env: OrderEnv, token: str) -> None:
        self.env = env
        self.token = token
        self.seen: list[httpx.Response] = []

    async def get(self, path: str) -> httpx.Response:
        response = await self.env.client.get(path)
        text = response.text.casefold()
        assert not [i for i in IDENTIFIERS if i in text], (path, response.text[:300])
        for lat, lng in NUMBER_PAIR.findall(response.text):
            point = Point(float(lat), float(lng))
            assert all(haversine_m(point, place) > 300 for place in PLACES), (path, point)
        self.seen.append(response)
        return response

    async def status(self) -> dict[str, Any]:
        response = await self.get(f"/t/{self.token}/status")
        assert response.status_code == 200, response.text
        assert response.headers["referrer-policy"] == "no-referrer"
        # The destination at least: the coordinate check above did look at the points.
        assert NUMBER_PAIR.findall(response.text)
        body: dict[str, Any] = response.json()
        return body


async def shown(page: Page) -> dict[str, Any] | None:
    status = await page.status()
    return status if status["driver"] is not None else None


async def moved_to(env: OrderEnv, where: GeoPoint) -> None:
    await env.publish(
        DriverLocationUpdated(driver_id=DRIVER, location=where, at=datetime.now(UTC)),
        key=str(DRIVER),
    )
    await eventually(
        lambda: env.scalar("SELECT lat FROM driver_positions WHERE driver_id = :d", d=DRIVER),
        within=15,
    )


async def test_the_tracking_page_follows_the_order_and_shows_the_driver_only_away_from_the_mall(
    env: OrderEnv,
) -> None:
    seen = CustomerLog()
    order_id, shipment = await packaged_order(env, seen)
    token = seen.responses[0].json()["tracking_token"]
    page = Page(env, token)
    await env.publish(
        RouteAssigned(
            route_id=ROUTE,
            offer_id=uuid.uuid4(),
            mall_id=MALL.id,
            driver_id=DRIVER,
            pay_cents=1200,
            order_ids=[UUID(order_id)],
        ),
        key=MALL.id,
    )
    await eventually(lambda: env.scalar("SELECT driver_id FROM orders"), within=15)

    html = await page.get(f"/t/{token}")
    script = await page.get("/t/assets/tracking.js")
    style = await page.get("/t/assets/tracking.css")
    assert html.status_code == 200 and html.headers["content-type"].startswith("text/html")
    assert "script-src 'self'" in html.headers["content-security-policy"]
    assert f'data-status-url="/t/{token}/status"' in html.text
    assert script.status_code == 200 and style.status_code == 200
    assert (await page.status())["status"] == "packaged"

    await moved_to(env, GeoPoint(lat=NORTH.lat, lng=NORTH.lng))
    await env.publish(step(RouteStopPickedUp, order_id, shipment, labels=["L1"]), key=str(ROUTE))
    await eventually(lambda: _status_is(page, "picked_up"), within=15)
    # Picked up, but still by the store: where the driver is would say which store it was.
    near_the_mall = GeoPoint(lat=NORTH.lat + 0.001, lng=NORTH.lng)
    await moved_to(env, near_the_mall)
    still_hidden = await page.status()
    assert still_hidden["driver"] is None
    assert still_hidden["destination"] == HOME

    on_the_way = GeoPoint(lat=(NORTH.lat + HOME["lat"]) / 2, lng=(NORTH.lng + HOME["lng"]) / 2)
    await moved_to(env, on_the_way)
    moving = await eventually(lambda: shown(page), within=15)
    assert (moving["driver"]["lat"], moving["driver"]["lng"]) == (on_the_way.lat, on_the_way.lng)
    assert moving["eta"] is not None and moving["proof"] is None

    photo = hashlib.sha256(b"at the door").hexdigest()
    await env.publish(
        step(RouteStopDelivered, order_id, shipment, proof_photo_sha256=photo), key=str(ROUTE)
    )
    delivered = await eventually(lambda: _status_is(page, "delivered"), within=15)
    assert delivered["driver"] is None and delivered["eta"] is None
    (url,) = delivered["proof"]["photo_urls"]
    query = parse_qs(urlsplit(url).query)
    assert proof_links.is_valid(
        env.settings.proof_url_secret.get_secret_value(),
        photo,
        int(query["expires"][0]),
        query["signature"][0],
        clock.now(),
    )
    assert [entry["status"] for entry in delivered["timeline"]][-1] == "delivered"


async def _status_is(page: Page, status: str) -> dict[str, Any] | None:
    body = await page.status()
    return body if body["status"] == status else None


async def test_an_unknown_or_malformed_token_finds_nothing(env: OrderEnv) -> None:
    unknown = await env.client.get("/t/" + "A" * 22)
    malformed = await env.client.get("/t/short")
    unknown_status = await env.client.get("/t/" + "A" * 22 + "/status")

    assert unknown.status_code == 404 and unknown_status.status_code == 404
    assert unknown.headers["content-type"] == "application/problem+json"
    assert malformed.status_code == 422


async def test_each_order_gets_its_own_unguessable_token(env: OrderEnv) -> None:
    env.catalog.add_offer("off-1", "sku-1", {NORTH: 9})

    tokens = {(await env.checkout(("off-1", 1))).json()["tracking_token"] for _ in range(5)}

    assert len(tokens) == 5
    assert all(len(t) >= 22 and re.fullmatch(r"[A-Za-z0-9_-]+", t) for t in tokens)
