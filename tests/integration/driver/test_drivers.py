from __future__ import annotations

from datetime import timedelta

import httpx
from sqlalchemy import text

from shared import clock
from shared.events.driver import DriverAvailabilityChanged, DriverLocationUpdated
from tests.integration.driver.conftest import Service, register
from tests.support import EventTap


async def test_registration_gives_tokens_and_a_vehicle_capacity(api: httpx.AsyncClient) -> None:
    resp = await api.post(
        "/v1/drivers", json={"name": "Ana", "phone": "+17025550101", "vehicle_type": "van"}
    )

    assert resp.status_code == 201
    body = resp.json()
    assert body["driver"]["capacity_packages"] == 60
    assert body["driver"]["is_online"] is False
    me = await api.get(
        "/v1/drivers/me", headers={"Authorization": f"Bearer {body['tokens']['access_token']}"}
    )
    assert me.json()["id"] == body["driver"]["id"]


async def test_bad_registrations_are_refused_without_creating_anyone(
    api: httpx.AsyncClient,
) -> None:
    first = await api.post(
        "/v1/drivers", json={"name": "Ana", "phone": "+17025550102", "vehicle_type": "car"}
    )
    twice = await api.post(
        "/v1/drivers", json={"name": "Bo", "phone": "+17025550102", "vehicle_type": "car"}
    )
    bad = await api.post("/v1/drivers", json={"name": "", "phone": "555", "vehicle_type": "rocket"})

    assert first.status_code == 201
    assert (twice.status_code, twice.json()["code"]) == (409, "phone_taken")
    assert bad.status_code == 422
    assert {e["field"] for e in bad.json()["errors"]} == {"name", "phone", "vehicle_type"}
    assert bad.headers["content-type"] == "application/problem+json"


async def test_a_refresh_token_works_once(api: httpx.AsyncClient) -> None:
    driver = await register(api)

    fresh = await api.post("/v1/auth/token", json={"refresh_token": driver.refresh_token})
    replayed = await api.post("/v1/auth/token", json={"refresh_token": driver.refresh_token})
    access_as_refresh = await api.post(
        "/v1/auth/token", json={"refresh_token": driver.access_token}
    )

    assert fresh.status_code == 200
    new_access = fresh.json()["access_token"]
    me = await api.get("/v1/drivers/me", headers={"Authorization": f"Bearer {new_access}"})
    assert me.status_code == 200
    assert replayed.status_code == 401
    assert access_as_refresh.status_code == 401
    assert replayed.headers["WWW-Authenticate"].startswith("Bearer")


async def test_going_online_and_offline_publishes_availability(
    api: httpx.AsyncClient, tap: EventTap
) -> None:
    driver = await register(api)

    online = await api.post(
        "/v1/drivers/me/online",
        json={"location": {"lat": 36.13, "lng": -115.17}},
        headers=driver.headers,
    )
    offline = await api.post("/v1/drivers/me/offline", headers=driver.headers)

    assert online.json()["is_online"] is True
    assert offline.json()["is_online"] is False
    went_online = await tap.next(DriverAvailabilityChanged, within=15)
    went_offline = await tap.next(DriverAvailabilityChanged, within=15)
    assert (went_online.payload.online, went_offline.payload.online) == (True, False)
    assert went_online.payload.capacity_packages == 15
    assert went_online.payload.location is not None
    assert went_online.payload.driver_id == driver.id


async def test_location_updates_are_rate_limited_per_driver(
    service: Service, tap: EventTap
) -> None:
    api = service.client
    driver, other = await register(api, "A"), await register(api, "B")

    first = await api.post(
        "/v1/drivers/me/location", json={"lat": 36.1, "lng": -115.1}, headers=driver.headers
    )
    too_soon = await api.post(
        "/v1/drivers/me/location", json={"lat": 36.2, "lng": -115.2}, headers=driver.headers
    )
    someone_else = await api.post(
        "/v1/drivers/me/location", json={"lat": 36.3, "lng": -115.3}, headers=other.headers
    )
    off_the_map = await api.post(
        "/v1/drivers/me/location", json={"lat": 91, "lng": -115.3}, headers=other.headers
    )

    assert first.status_code == 200
    assert first.json()["location"]["is_stale"] is False
    assert too_soon.status_code == 429
    assert too_soon.json()["code"] == "too_many_updates"
    assert 1 <= int(too_soon.headers["Retry-After"]) <= 5
    assert someone_else.status_code == 200
    assert off_the_map.status_code == 422
    me = await api.get("/v1/drivers/me", headers=driver.headers)
    assert me.json()["location"]["lat"] == 36.1
    update = await tap.next(
        DriverLocationUpdated, within=15, where=lambda p: p.driver_id == driver.id
    )
    assert update.payload.location.lat == 36.1
    assert update.payload.route_id is None
    async with service.app.state.db.begin() as tx:
        written = await tx.execute(
            text("SELECT count(*) FROM outbox WHERE event_type = :t"),
            {"t": DriverLocationUpdated.TYPE},
        )
    assert written.scalar_one() == 2  # the refused update wrote no event


async def test_blocks_can_be_scheduled_listed_and_cancelled(api: httpx.AsyncClient) -> None:
    driver, other = await register(api, "A"), await register(api, "B")
    start = (clock.now() + timedelta(days=1)).replace(microsecond=0)
    block = {"mall_id": "fashion-show-las-vegas", "starts_at": start.isoformat(), "hours": 3}

    created = await api.post("/v1/drivers/me/blocks", json=block, headers=driver.headers)
    overlapping = await api.post(
        "/v1/drivers/me/blocks",
        json={**block, "starts_at": (start + timedelta(hours=2)).isoformat()},
        headers=driver.headers,
    )
    bad = await api.post(
        "/v1/drivers/me/blocks",
        json={
            "mall_id": "nowhere",
            "starts_at": (clock.now() - timedelta(hours=1)).isoformat(),
            "hours": 0,
        },
        headers=driver.headers,
    )

    assert created.status_code == 201
    assert created.json()["mall_name"] == "Fashion Show Mall"
    assert created.json()["hours"] == 3
    assert (overlapping.status_code, overlapping.json()["code"]) == (409, "block_overlaps")
    assert bad.status_code == 422
    assert {e["field"] for e in bad.json()["errors"]} == {"mall_id", "starts_at", "hours"}
    listed = await api.get("/v1/drivers/me/blocks", headers=driver.headers)
    assert [b["id"] for b in listed.json()] == [created.json()["id"]]

    block_id = created.json()["id"]
    not_theirs = await api.delete(f"/v1/drivers/me/blocks/{block_id}", headers=other.headers)
    cancelled = await api.delete(f"/v1/drivers/me/blocks/{block_id}", headers=driver.headers)

    assert not_theirs.status_code == 404
    assert cancelled.status_code == 204
    assert (await api.get("/v1/drivers/me/blocks", headers=driver.headers)).json() == []
