"""The shopper's tracking page in a real browser: Debian's Chromium, driven by Playwright, against
the four services of the e2e suite. The page shows the status, the promise and an ETA, the driver
on its map only once away from the mall, and the proof photo after delivery; nothing the browser
receives (page, script, style, API call, photo) names a store or mall or gives the mall's
coordinates.

Where no browser can be had the test fails and says why; it never skips (`make test` installs
one with `make browser`).
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass

import httpx
import pytest
from playwright.async_api import Error as PlaywrightError
from playwright.async_api import Page
from playwright.async_api import Response as BrowserResponse

from services.browser import chromium_page, missing_reason
from services.clients import Storefront
from services.leaks import LeakScanner
from services.suite import ROOT, Suite
from shared.malls import pilot_malls
from tests.e2e.actors import FASHION_SHOW, PROOF_PHOTO, Json, Pos, expect, stop_of
from tests.e2e.test_same_day_flow import (
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

SCREENSHOTS = ROOT / "out" / "tracking"
# Generous: two cores shared with other work. The page itself refreshes every 10 s.
UI_MS = 30_000


@dataclass(frozen=True)
class Received:
    """One response the browser had: the page, a script or style, an API call, a photo."""

    kind: str
    method: str
    url: str
    status: int
    headers: dict[str, str]
    body: bytes | None


def need_a_browser() -> None:
    reason = missing_reason()
    if reason is not None:
        pytest.fail(f"the tracking page's browser test cannot run: {reason}", pytrace=False)


def mall_coordinates() -> list[str]:
    """The mall's position as a page could spell it: 3 and 4 decimals (about 100 m and 10 m)."""
    (mall,) = [m for m in pilot_malls() if m.id == FASHION_SHOW]
    return [f"{value:.{places}f}" for value in (mall.lat, mall.lng) for places in (3, 4)]


async def shown(page: Page, status: str, driver: str) -> None:
    """Waits until the page has drawn the order in `status` with the driver shown or not."""
    await page.wait_for_function(
        "([status, driver]) => {"
        " const main = document.getElementById('tracking');"
        " return main.dataset.status === status && main.dataset.driverShown === driver; }",
        arg=[status, driver],
        timeout=UI_MS,
    )


async def label_outside_the_map(page: Page) -> list[list[float]]:
    """The corners of the driver's label that fall outside the round map, where it is cut off
    (issue 16: "Driver" was clipped when the driver was east of the door)."""
    corners: list[list[float]] = await page.evaluate(
        """() => {
          const map = document.getElementById('map').getBoundingClientRect();
          const label = document.getElementById('driver-label').getBoundingClientRect();
          const cx = map.left + map.width / 2, cy = map.top + map.height / 2;
          const r = Math.min(map.width, map.height) / 2;
          const corners = [[label.left, label.top], [label.right, label.top],
                           [label.left, label.bottom], [label.right, label.bottom]];
          return corners.filter(([x, y]) => Math.hypot(x - cx, y - cy) > r);
        }"""
    )
    return corners


async def test_the_tracking_page_in_a_browser_shows_the_driver_only_away_from_the_mall(
    suite: Suite,
    http: httpx.AsyncClient,
    storefront: Storefront,
    scanner: LeakScanner,
    pos_terminals: dict[str, Pos],
) -> None:
    need_a_browser()
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    drivers = await drivers_near_the_mall(suite, http, 2, "Tracked driver")
    seen: list[BrowserResponse] = []
    received: list[Received] = []

    async def keep(response: BrowserResponse) -> None:
        # Read now: a body is gone once the page navigates (each reload below).
        try:
            body: bytes | None = await response.body()
        except PlaywrightError:
            # Chromium keeps no copy of some bodies (the photo, from the driver service's
            # origin) and the page's CSP forbids Playwright fetching them again: asked below.
            body = None
        received.append(
            Received(
                response.request.resource_type,
                response.request.method,
                response.url,
                response.status,
                await response.all_headers(),
                body,
            )
        )

    try:
        # Not the first item, which most end-to-end tests buy: the suite's stock of it runs low.
        item = expect(await storefront.same_day(**HOME, limit=5), 200)["items"][2]
        first_name, postal_code = a_first_name(), "89103"
        order: Json = expect(
            await storefront.checkout(
                a_checkout(item["offer_id"], first_name, postal_code), str(uuid.uuid4())
            ),
            201,
        )
        async with chromium_page(width=480, height=900) as page:
            # Playwright wraps handlers by attribute: a bound builtin like list.append will not do.
            page.on("response", lambda response: seen.append(response))
            page.on("response", keep)
            await page.goto(order["tracking_url"])
            await shown(page, "placed", "no")
            assert await page.locator("#headline").inner_text()
            assert await page.locator("#promise").is_visible()
            assert await page.locator("#window-end").get_attribute("datetime")
            assert not await page.locator("#map-section").is_visible()
            assert not await page.locator("#proof").is_visible()

            pos, shipment = await shipment_at_its_store(pos_terminals, first_name)
            labels = await pack(pos, shipment)
            driver, route = await a_driver_takes_the_route(drivers, postal_code)
            await driver.report_position(**MALL)
            await pick_up(driver, route, labels)
            await driver.report_position(**MALL)
            await eventually(lambda: storefront.order_in(order["id"], "picked_up"), within=15)
            # With the goods but still at the mall: no map, so no hint of where the mall is.
            await page.reload()
            await shown(page, "picked_up", "no")
            assert not await page.locator("#map-section").is_visible()
            await page.screenshot(path=str(SCREENSHOTS / "at-the-mall.png"))

            await driver.report_position(**ON_THE_WAY)
            await page.reload()
            await shown(page, "picked_up", "yes")
            assert await page.locator("#map-section").is_visible()
            assert await page.locator("#eta").is_visible()
            assert "km away" in await page.locator("#distance").inner_text()
            assert await label_outside_the_map(page) == []
            await page.screenshot(path=str(SCREENSHOTS / "on-the-way.png"))

            dropoff = stop_of(route, "dropoff")
            view = await storefront.order_view(order["id"])
            await driver.deliver(route["route_id"], dropoff, view["delivery_pin"])
            await eventually(lambda: storefront.order_in(order["id"], "delivered"), within=15)
            await page.reload()
            await shown(page, "delivered", "no")
            assert await page.locator("#proof").is_visible()
            photo = page.locator("#photos img")
            await photo.first.wait_for(timeout=UI_MS)
            assert await photo.first.get_attribute("alt") == "Your order at the door"

            def photo_fetched() -> Received | None:
                return next((r for r in received if r.kind == "image"), None)

            # The test's photo is a bare JPEG marker, which the browser fetches but cannot draw.
            fetched = await eventually(photo_fetched, within=UI_MS / 1000)
            assert fetched.status == 200
            assert fetched.headers["content-type"] == "image/jpeg"
            await page.screenshot(path=str(SCREENSHOTS / "delivered.png"))
            # Every response the browser had, with its body: page, script, style, API, photo.
            await eventually(lambda: len(received) == len(seen), within=UI_MS / 1000)
    finally:
        await all_offline(drivers)

    kinds = {r.kind for r in received}
    assert {"document", "script", "stylesheet", "fetch", "image"} <= kinds, kinds
    coordinates = mall_coordinates()
    for r in received:
        body = r.body
        if body is None:
            assert r.method == "GET", r.url
            again = await http.get(r.url)
            assert again.status_code == r.status, r.url
            body = again.content
        if r.kind == "image":
            assert body == PROOF_PHOTO
        scanner.check(
            httpx.Response(
                r.status,
                content=body,
                headers=r.headers,
                request=httpx.Request(r.method, r.url),
            ),
            f"browser {r.kind} {r.url}",
        )
        if r.kind != "image":
            text = body.decode("utf-8", errors="replace")
            assert not [c for c in coordinates if c in text], r.url
    assert scanner.leaks == []
