"""The operator console in a real browser: Debian's Chromium, driven by Playwright, against the
four services of the e2e suite, everything created through their real APIs.

Where no browser can be had the test fails and says why; it never skips (`make test` installs
one with `make browser`).
"""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from playwright.async_api import Page

from services.browser import chromium_page, missing_reason
from services.clients import Storefront
from services.console_seed import BUSY_MALL, remove_busy_mall, seed_busy_mall
from services.leaks import LeakScanner
from services.suite import ROOT, SERVICES, Suite
from shared.malls import pilot_malls
from tests.e2e.actors import FASHION_SHOW, DriverApp, Json, Pos, expect
from tests.e2e.test_same_day_flow import (
    HOME,
    MALL,
    ON_THE_WAY,
    a_driver_takes_the_route,
    a_first_name,
    assert_no_leaks,
    pack,
    place_order,
    shipment_at_its_store,
)
from tests.support import eventually

SCREENSHOTS = ROOT / "out" / "console"
# Generous: two cores shared with other work; a real operator waits a second or two.
UI_MS = 30_000


def need_a_browser() -> None:
    reason = missing_reason()
    if reason is not None:
        pytest.fail(f"the console's browser test cannot run: {reason}", pytrace=False)


async def sign_in(page: Page, suite: Suite, token: str, mall_id: str) -> None:
    await page.goto(f"{suite.console_url()}#{mall_id}")
    await page.fill("#token", token)
    await page.click("#sign-in-form button[type=submit]")
    await page.wait_for_function(
        f"document.body.dataset.mall === '{mall_id}' && document.body.dataset.live === 'yes'",
        timeout=UI_MS,
    )


async def centre_of(page: Page, selector: str) -> tuple[float, float]:
    box = await page.locator(selector).bounding_box()
    assert box is not None, selector
    return box["x"] + box["width"] / 2, box["y"] + box["height"] / 2


async def same_day_items(http: httpx.AsyncClient, suite: Suite) -> Json:
    resp = await http.get(
        f"{suite.urls['catalog']}/v1/catalog/same-day", params={**HOME, "limit": 5}
    )
    assert resp.status_code == 200, resp.text
    found: Json = resp.json()
    return found


async def test_an_operator_watches_a_mall_live_and_pauses_its_same_day(
    suite: Suite,
    http: httpx.AsyncClient,
    storefront: Storefront,
    scanner: LeakScanner,
    pos_terminals: dict[str, Pos],
    dispatch_operator_token: str,
) -> None:
    need_a_browser()
    operator = {"Authorization": f"Bearer {dispatch_operator_token}"}
    console_api = f"{suite.urls['dispatch']}/v1/console"
    driver: DriverApp | None = None
    async with chromium_page() as page:
        try:
            await sign_in(page, suite, dispatch_operator_token, FASHION_SHOW)
            tabs = page.locator("#malls button")
            names = [await tabs.nth(i).get_attribute("data-mall-id") for i in range(4)]
            mall_label = await page.inner_text(".mall-label")
            outline = await page.locator("path.mall-outline").count()
            await page.wait_for_function(
                "document.querySelectorAll('path.store').length === 8", timeout=UI_MS
            )

            # An order packed while no driver is near the mall: it waits, its promise at risk.
            item = expect(await storefront.same_day(**HOME, limit=1), 200)["items"][0]
            first_name, postal_code = a_first_name(), "89107"
            order = await place_order(storefront, item["offer_id"], first_name, postal_code)
            pos, shipment = await shipment_at_its_store(pos_terminals, first_name)
            await pack(pos, shipment)
            shipment_id = shipment["shipment_id"]
            # Slack shrinks a minute a minute: under 30 at once, or within a minute or two.
            at_risk = page.locator(f'#exceptions li[data-id="at_risk:{shipment_id}"]')
            await at_risk.wait_for(timeout=150_000)
            at_risk_text = await at_risk.inner_text()
            waiting_dot = await page.locator(f"path.shipment-{shipment_id}").count()

            # A driver comes online near the mall; the operator runs a round from the console.
            driver = await DriverApp.register(http, suite.urls["driver"], "Console driver")
            await driver.go_online(**MALL)
            driver_dot = f"path.driver-{driver.driver_id}"
            await page.locator(driver_dot).wait_for(timeout=UI_MS)
            await page.click("#run-round")
            await page.wait_for_function(
                "document.getElementById('action-result').textContent.includes('planned')",
                timeout=UI_MS,
            )
            _, route = await a_driver_takes_the_route([driver], postal_code)
            route_id = route["route_id"]
            await page.locator(f"path.route-{route_id}").wait_for(timeout=UI_MS)
            await page.locator(f'#routes tr[data-id="{route_id}"][data-phase="accepted"]').wait_for(
                timeout=UI_MS
            )
            await page.click(f'#routes tr[data-id="{route_id}"] button:has-text("log")')
            await page.locator(
                f'#offer-log table[data-route-id="{route_id}"] td.answer:has-text("accepted")'
            ).wait_for(timeout=UI_MS)

            # The driver reports a position on the way: the dot moves on the map.
            before = await centre_of(page, driver_dot)
            await driver.report_position(**ON_THE_WAY)

            async def moved() -> tuple[float, float] | None:
                after = await centre_of(page, driver_dot)
                return after if abs(after[0] - before[0]) + abs(after[1] - before[1]) > 5 else None

            after = await eventually(moved, within=30, interval=0.2)
            position_cell = await page.inner_text(
                f'#drivers tr[data-id="{driver.driver_id}"] .position'
            )

            # Pausing same-day: the catalog stops promising today at this mall.
            await page.click("#pause")
            await page.wait_for_function(
                "document.getElementById('same-day').textContent.startsWith('same-day paused')",
                timeout=UI_MS,
            )

            # Paused today, the mall still offers tomorrow's windows (issue 16's windows).
            async def nothing_today() -> Json | None:
                answer = await same_day_items(http, suite)
                items = answer["items"]
                return (
                    answer
                    if all(i["promise"].startswith("Arrives tomorrow") for i in items)
                    else None
                )

            paused = await eventually(nothing_today, within=30, interval=0.5)
            SCREENSHOTS.mkdir(parents=True, exist_ok=True)
            await page.screenshot(path=str(SCREENSHOTS / "console.png"), full_page=True)

            await page.click("#resume")

            async def promising_again() -> Json | None:
                answer = await same_day_items(http, suite)
                items = answer["items"]
                return answer if items and items[0]["promise"].startswith("Arrives today") else None

            await eventually(promising_again, within=60, interval=0.5)
            await page.wait_for_function(
                "document.querySelectorAll('#audit li').length >= 3", timeout=UI_MS
            )
            audit = await page.inner_text("#audit")

            # Cancel and take offline through the console's API: the owning services do it.
            cancelled = await http.post(
                f"{console_api}/shipments/{shipment_id}/cancel",
                json={"reason": "browser test is over"},
                headers=operator,
            )
            await eventually(lambda: storefront.order_in(order["id"], "cancelled"), within=30)
            offline = await http.post(
                f"{console_api}/drivers/{driver.driver_id}/offline",
                json={"mall_id": FASHION_SHOW},
                headers=operator,
            )
            await page.locator(driver_dot).wait_for(state="detached", timeout=UI_MS)
        finally:
            # The tests after this one need the mall open and no idle driver near it.
            await http.post(f"{console_api}/malls/{FASHION_SHOW}/resume", headers=operator)
            if driver is not None:
                await driver.go_offline()

    assert names == [m.id for m in pilot_malls()]
    assert (mall_label, outline) == ("Fashion Show Mall", 1)
    assert "Promise at risk" in at_risk_text and "Las Vegas 89107" in at_risk_text
    assert waiting_dot == 1
    assert after != before
    assert f"{ON_THE_WAY['lat']:.4f}" in position_cell
    assert paused["items"] or "paused" in paused["reason"]
    assert "pause same day (done)" in audit and "resume same day (done)" in audit
    assert "run round (done)" in audit
    assert cancelled.status_code == 200, cancelled.text
    assert offline.status_code == 200, offline.text
    assert_no_leaks(scanner, at_least=3)


async def test_a_busy_mall_of_200_routes_and_500_shipments_renders_whole(
    suite: Suite, dispatch_operator_token: str
) -> None:
    need_a_browser()
    dispatch_db = suite.database_url(next(s for s in SERVICES if s.name == "dispatch"))
    seeded = await seed_busy_mall(dispatch_db, suite.clock().now(), mall_id=BUSY_MALL)
    loads: list[float] = []
    try:
        async with chromium_page() as page:
            await sign_in(page, suite, dispatch_operator_token, BUSY_MALL)
            counts = await rendered_counts(page, routes=200)
            for _ in range(2):
                await page.reload()
                await page.wait_for_function(
                    "document.body.dataset.rendered === 'yes'", timeout=UI_MS
                )
                loads.append(await page.evaluate(
                    "performance.getEntriesByName('board-rendered')[0].startTime"
                ))  # fmt: skip
            again = await rendered_counts(page, routes=200)
            SCREENSHOTS.mkdir(parents=True, exist_ok=True)
            await page.screenshot(path=str(SCREENSHOTS / "busy-mall.png"), full_page=True)
    finally:
        await remove_busy_mall(dispatch_db, seeded)

    expected = {
        "routes on the map": 200,
        "routes listed": 200,
        "drop-offs on the map": 400,
        "waiting on the map": 100,
        "waiting listed": 100,
        "drivers on the map": 200,
    }
    assert counts == expected
    assert again == expected
    # Speed is the benchmark's (bench/console.py); here only that each load finished.
    assert len(loads) == 2 and all(ms > 0 for ms in loads)


async def rendered_counts(page: Page, routes: int) -> dict[str, Any]:
    await page.wait_for_function(
        f"document.querySelectorAll('#routes tbody tr').length === {routes}", timeout=UI_MS
    )
    counted: dict[str, Any] = await page.evaluate(
        """() => ({
            "routes on the map": document.querySelectorAll("#map path.route").length,
            "routes listed": document.querySelectorAll("#routes tbody tr").length,
            // Drawn on a canvas (hundreds of them): the page counts its markers.
            "drop-offs on the map": Number(document.getElementById("map").dataset.dropoffs),
            "waiting on the map": document.querySelectorAll("#map path.shipment").length,
            "waiting listed": document.querySelectorAll("#waiting tbody tr").length,
            "drivers on the map": document.querySelectorAll("#map path.driver").length,
        })"""
    )
    return counted
