from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import httpx
import pytest

from driver_service import usecases
from shared import clock
from shared.clock import Clock, set_clock
from shared.events.driver import RoutePickupWait
from tests.integration.driver.conftest import (
    HOME,
    PIN,
    STORE_POINT,
    Driver,
    Service,
    an_offer,
    register,
)
from tests.support import EventTap

START = datetime(2026, 11, 25, 17, 0, tzinfo=UTC)


class ManualClock(Clock):
    """Stands still until the test moves it, so amounts do not depend on test speed."""

    def __init__(self, at: datetime) -> None:
        super().__init__(start=at)
        self.at = at

    def now(self) -> datetime:
        return self.at


async def refreshed(api: httpx.AsyncClient, driver: Driver) -> Driver:
    """Access tokens last 15 minutes of the (moved) clock: trade the refresh token."""
    resp = await api.post("/v1/auth/token", json={"refresh_token": driver.refresh_token})
    assert resp.status_code == 200, resp.text
    body = resp.json()
    return Driver(driver.id, body["access_token"], body["refresh_token"])


@pytest.fixture
def manual_clock() -> Iterator[ManualClock]:
    previous = clock.clock()
    manual = ManualClock(START)
    set_clock(manual)
    yield manual
    set_clock(previous)


async def test_wait_pay_and_the_hourly_floor_show_in_earnings(
    service: Service, tap: EventTap, manual_clock: ManualClock
) -> None:
    api = service.client
    driver = await register(api)
    # $24 for a planned 60-minute block, floor $18/h.
    offer = an_offer([driver.id], now=START)
    async with service.app.state.db.begin() as tx:
        await usecases.record_offer(tx, offer)
    assert (
        await api.post(f"/v1/offers/{offer.offer_id}/accept", headers=driver.headers)
    ).status_code == 200
    pickup, dropoff = offer.stops
    base = f"/v1/routes/{offer.route_id}/stops"

    manual_clock.at = START + timedelta(minutes=10)
    driver = await refreshed(api, driver)
    far_away = await api.post(
        f"{base}/{pickup.stop_id}/arrive",
        json={"position": {"lat": HOME.lat, "lng": HOME.lng}},
        headers=driver.headers,
    )
    assert (far_away.status_code, far_away.json()["code"]) == (422, "outside_geofence")
    arrived = await api.post(
        f"{base}/{pickup.stop_id}/arrive",
        json={"position": {"lat": STORE_POINT.lat, "lng": STORE_POINT.lng}},
        headers=driver.headers,
    )
    assert arrived.status_code == 200
    # Handed over 25 minutes after check-in: 15 minutes past the free 10, at $18/h = $4.50.
    manual_clock.at = START + timedelta(minutes=35)
    driver = await refreshed(api, driver)
    picked = await api.post(
        f"{base}/{pickup.stop_id}/pickup",
        json={"barcodes": ["PKG-1", "PKG-2"]},
        headers=driver.headers,
    )
    assert picked.json()["stops"][0]["wait_pay_cents"] == 450
    # Delivered 2 h after accepting: the floor is $36, pay plus wait pay $28.50, top-up $7.50.
    manual_clock.at = START + timedelta(hours=2)
    driver = await refreshed(api, driver)
    delivered = await api.post(
        f"{base}/{dropoff.stop_id}/deliver",
        data={"lat": str(HOME.lat), "lng": str(HOME.lng), "pin": PIN},
        files={"photo": ("p.jpg", b"jpeg bytes", "image/jpeg")},
        headers=driver.headers,
    )
    assert delivered.status_code == 200

    daily = await api.get("/v1/drivers/me/earnings", headers=driver.headers)
    weekly = await api.get(
        "/v1/drivers/me/earnings",
        params={"period": "week", "day": "2026-11-27"},
        headers=driver.headers,
    )
    next_week = await api.get(
        "/v1/drivers/me/earnings",
        params={"period": "week", "day": "2026-12-02"},
        headers=driver.headers,
    )

    assert daily.status_code == 200
    totals = daily.json()["totals"]
    assert totals == {
        "pay_cents": 2400,
        "wait_pay_cents": 450,
        "floor_top_up_cents": 750,
        "tip_cents": 0,
        "total_cents": 3600,
        "worked_minutes": 120.0,
    }
    assert weekly.json()["starts_at"].startswith("2026-11-23")
    assert weekly.json()["totals"] == totals
    assert next_week.json()["routes"] == 0
    wait = await tap.next(RoutePickupWait, within=15)
    assert (wait.payload.paid_cents, wait.payload.paid_minutes) == (450, 15.0)
    assert wait.payload.store_id == "store-fs-zara"


async def test_a_route_done_within_its_block_is_paid_as_offered_with_raised_pay(
    service: Service, manual_clock: ManualClock
) -> None:
    api = service.client
    driver = await register(api)
    offer = an_offer([driver.id], now=START, pin=None, pay_cents=3100, round=2)
    async with service.app.state.db.begin() as tx:
        await usecases.record_offer(tx, offer)
    await api.post(f"/v1/offers/{offer.offer_id}/accept", headers=driver.headers)
    pickup, dropoff = offer.stops
    base = f"/v1/routes/{offer.route_id}/stops"
    manual_clock.at = START + timedelta(minutes=20)
    driver = await refreshed(api, driver)
    await api.post(
        f"{base}/{pickup.stop_id}/pickup",
        json={"barcodes": ["PKG-1", "PKG-2"]},
        headers=driver.headers,
    )
    manual_clock.at = START + timedelta(minutes=45)
    driver = await refreshed(api, driver)
    await api.post(
        f"{base}/{dropoff.stop_id}/deliver",
        data={"lat": str(HOME.lat), "lng": str(HOME.lng)},
        files={"photo": ("p.jpg", b"jpeg", "image/jpeg")},
        headers=driver.headers,
    )

    daily = await api.get("/v1/drivers/me/earnings", headers=driver.headers)

    [route] = daily.json()["by_route"]
    assert route["route_id"] == str(offer.route_id)
    assert (route["pay_cents"], route["floor_top_up_cents"], route["total_cents"]) == (
        3100,
        0,
        3100,
    )
