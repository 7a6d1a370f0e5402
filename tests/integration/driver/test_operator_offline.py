"""An operator takes a driver who stopped reporting offline (dispatch's console asks)."""

from __future__ import annotations

import uuid

from shared.events.driver import DriverAvailabilityChanged
from tests.integration.driver.conftest import Service, register
from tests.support import EventTap


def operator(service: Service) -> dict[str, str]:
    return {"Authorization": f"Bearer {service.settings.operator_token.get_secret_value()}"}


async def test_an_operator_takes_a_silent_driver_offline_once(
    service: Service, tap: EventTap
) -> None:
    api = service.client
    driver = await register(api)
    await api.post(
        "/v1/drivers/me/online",
        json={"location": {"lat": 36.13, "lng": -115.17}},
        headers=driver.headers,
    )
    url = f"/v1/admin/drivers/{driver.id}/offline"

    taken = await api.post(url, headers=operator(service))
    again = await api.post(url, headers=operator(service))

    assert taken.status_code == again.status_code == 200
    assert taken.json()["is_online"] is False
    me = await api.get("/v1/drivers/me", headers=driver.headers)
    assert me.json()["is_online"] is False
    # Only this driver's events: the service's relay may publish an earlier test's unsent
    # outbox rows to this test's topics before the fixture empties the tables.
    def theirs(p: DriverAvailabilityChanged) -> bool:
        return p.driver_id == driver.id

    online = await tap.next(DriverAvailabilityChanged, within=15, where=theirs)
    offline = await tap.next(DriverAvailabilityChanged, within=15, where=theirs)
    assert (online.payload.online, offline.payload.online) == (True, False)
    assert offline.key == str(driver.id)
    later = await tap.collect(within=1.0)
    assert not [
        e
        for e in later
        if isinstance(e.payload, DriverAvailabilityChanged) and theirs(e.payload)
    ]


async def test_only_an_operator_may_and_only_a_known_driver(service: Service) -> None:
    api = service.client
    driver = await register(api)
    await api.post("/v1/drivers/me/online", json={}, headers=driver.headers)
    url = f"/v1/admin/drivers/{driver.id}/offline"

    stranger = await api.post(url)
    the_driver_themselves = await api.post(url, headers=driver.headers)
    unknown = await api.post(f"/v1/admin/drivers/{uuid.uuid4()}/offline", headers=operator(service))

    assert stranger.status_code == the_driver_themselves.status_code == 401
    assert stranger.headers["content-type"] == "application/problem+json"
    assert unknown.status_code == 404
    me = await api.get("/v1/drivers/me", headers=driver.headers)
    assert me.json()["is_online"] is True
