"""The delivery PIN allows five wrong tries per stop; then the stop needs an operator."""

from __future__ import annotations

import logging

import pytest
from sqlalchemy import text

from tests.integration.driver.conftest import PIN, Service
from tests.integration.driver.test_route_execution import (
    accepted_route,
    deliver,
    pick_up,
    route_of,
)


async def test_five_wrong_pins_lock_the_stop_and_are_kept_for_fraud_review(
    service: Service, caplog: pytest.LogCaptureFixture
) -> None:
    api = service.client
    driver, offer = await accepted_route(service)
    assert (await pick_up(api, driver, offer, ["PKG-1", "PKG-2"])).status_code == 200
    caplog.set_level(logging.WARNING, logger="driver_service.usecases")

    no_pin = await deliver(api, driver, offer, pin=None)
    wrong = [await deliver(api, driver, offer, pin=f"{n:04d}") for n in range(5)]
    right_but_locked = await deliver(api, driver, offer, pin=PIN)

    # A missing PIN is not a guess; each wrong one counts down.
    assert (no_pin.status_code, no_pin.json()["code"]) == (422, "wrong_pin")
    assert [r.status_code for r in wrong] == [422] * 5
    assert "4 tries left" in wrong[0].json()["detail"]
    assert "1 try left" in wrong[3].json()["detail"]
    assert "last try" in wrong[4].json()["detail"]
    assert right_but_locked.status_code == 429, right_but_locked.text
    assert right_but_locked.json()["code"] == "pin_locked"
    assert right_but_locked.headers["content-type"] == "application/problem+json"
    assert "operator" in right_but_locked.json()["detail"]
    assert (await route_of(api, driver, offer))["stops"][1]["status"] == "pending"
    async with service.app.state.db.begin() as tx:
        kept = (
            await tx.execute(
                text("SELECT driver_id, route_id FROM wrong_pins WHERE stop_id = :s"),
                {"s": offer.stops[1].stop_id},
            )
        ).all()
    assert kept == [(driver.id, offer.route_id)] * 5
    logged = [r for r in caplog.records if r.message == "wrong_delivery_pin"]
    assert len(logged) == 5
    assert all(PIN not in r.getMessage() and not hasattr(r, "pin") for r in logged)


async def test_the_right_pin_within_five_tries_delivers(service: Service) -> None:
    api = service.client
    driver, offer = await accepted_route(service)
    assert (await pick_up(api, driver, offer, ["PKG-1", "PKG-2"])).status_code == 200

    for n in range(4):
        assert (await deliver(api, driver, offer, pin=f"{n:04d}")).status_code == 422

    done = await deliver(api, driver, offer, pin=PIN)

    assert done.status_code == 200, done.text
    assert done.json()["stops"][1]["status"] == "delivered"
