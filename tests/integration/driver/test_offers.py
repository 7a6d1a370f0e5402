from __future__ import annotations

import asyncio
import time
import uuid
from datetime import timedelta

import httpx
from aiokafka import AIOKafkaProducer

from driver_service import usecases
from shared.events.dispatch import RouteOfferExpired
from shared.events.driver import OfferAccepted, OfferDeclined
from tests.integration.driver.conftest import (
    HOME_ADDRESS,
    Driver,
    Service,
    an_offer,
    publish,
    register,
)
from tests.support import EventTap, eventually


async def offers_of(api: httpx.AsyncClient, driver: Driver) -> list[dict[str, object]]:
    resp = await api.get("/v1/drivers/me/offers", headers=driver.headers)
    assert resp.status_code == 200, resp.text
    offers: list[dict[str, object]] = resp.json()["offers"]
    return offers


async def test_a_long_poll_returns_the_offer_published_on_kafka_before_its_wait_ends(
    api: httpx.AsyncClient, producer: AIOKafkaProducer, topic_suffix: str
) -> None:
    driver = await register(api)
    wait = 20.0
    started = time.monotonic()
    poll = asyncio.create_task(
        api.get("/v1/drivers/me/offers", params={"wait": wait}, headers=driver.headers)
    )
    await asyncio.sleep(0)  # the poll is parked on the hub before the offer exists
    offer = an_offer([driver.id])
    await publish(producer, topic_suffix, offer, key=offer.mall_id)

    resp = await poll

    assert resp.status_code == 200
    assert time.monotonic() - started < wait
    [seen] = resp.json()["offers"]
    assert seen["offer_id"] == str(offer.offer_id)
    assert seen["pickup_mall_name"] == "Fashion Show Mall"
    assert seen["store_names"] == ["Zara"]
    assert seen["stop_count"] == 2
    assert seen["expected_miles"] == 6.5
    assert seen["block_minutes"] == 60
    assert seen["pay_cents"] == 2400
    assert seen["dropoff_areas"] == ["Las Vegas 89109"]
    assert resp.headers["ETag"]


async def test_an_offer_shows_customer_areas_only_and_only_to_its_drivers(
    api: httpx.AsyncClient, producer: AIOKafkaProducer, topic_suffix: str
) -> None:
    mine, other = await register(api, "A"), await register(api, "B")
    offer = an_offer([mine.id])
    await publish(producer, topic_suffix, offer, key=offer.mall_id)

    await eventually(lambda: offers_of(api, mine), within=15)

    resp = await api.get("/v1/drivers/me/offers", headers=mine.headers)
    assert HOME_ADDRESS not in resp.text
    assert "2000 Example" not in resp.text
    assert await offers_of(api, other) == []


async def test_an_unchanged_list_answers_304_to_its_etag(
    api: httpx.AsyncClient, producer: AIOKafkaProducer, topic_suffix: str
) -> None:
    driver = await register(api)
    offer = an_offer([driver.id])
    await publish(producer, topic_suffix, offer, key=offer.mall_id)
    await eventually(lambda: offers_of(api, driver), within=15)
    first = await api.get("/v1/drivers/me/offers", headers=driver.headers)

    again = await api.get(
        "/v1/drivers/me/offers",
        params={"wait": 0.3},
        headers={**driver.headers, "If-None-Match": first.headers["ETag"]},
    )

    assert again.status_code == 304
    assert again.headers["ETag"] == first.headers["ETag"]
    assert again.content == b""


async def test_an_etag_poll_wakes_when_the_offer_expires_on_kafka(
    api: httpx.AsyncClient, producer: AIOKafkaProducer, topic_suffix: str
) -> None:
    driver = await register(api)
    offer = an_offer([driver.id])
    await publish(producer, topic_suffix, offer, key=offer.mall_id)
    await eventually(lambda: offers_of(api, driver), within=15)
    tag = (await api.get("/v1/drivers/me/offers", headers=driver.headers)).headers["ETag"]
    wait = 20.0
    started = time.monotonic()
    poll = asyncio.create_task(
        api.get(
            "/v1/drivers/me/offers",
            params={"wait": wait},
            headers={**driver.headers, "If-None-Match": tag},
        )
    )
    await asyncio.sleep(0)

    expired = RouteOfferExpired(
        offer_id=offer.offer_id, route_id=offer.route_id, mall_id=offer.mall_id
    )
    await publish(producer, topic_suffix, expired, key=offer.mall_id)
    resp = await poll

    assert resp.status_code == 200
    assert time.monotonic() - started < wait
    assert resp.json()["offers"] == []


async def test_the_first_accept_wins_and_publishes_offer_accepted(
    service: Service, producer: AIOKafkaProducer, topic_suffix: str, tap: EventTap
) -> None:
    api = service.client
    first, second = await register(api, "A"), await register(api, "B")
    offer = an_offer([first.id, second.id])
    await publish(producer, topic_suffix, offer, key=offer.mall_id)
    await eventually(lambda: offers_of(api, first), within=15)

    won = await api.post(f"/v1/offers/{offer.offer_id}/accept", headers=first.headers)
    lost = await api.post(f"/v1/offers/{offer.offer_id}/accept", headers=second.headers)

    assert won.status_code == 200
    assert won.json()["route_id"] == str(offer.route_id)
    assert lost.status_code == 409
    assert lost.headers["content-type"] == "application/problem+json"
    assert lost.json()["code"] == "already_taken"
    accepted = await tap.next(OfferAccepted, within=15)
    assert accepted.payload.driver_id == first.id
    assert accepted.payload.offer_id == offer.offer_id
    assert accepted.payload.pay_cents == 2400
    # The taken offer leaves both drivers' lists.
    await eventually(lambda: _no_offers(api, second), within=5)


async def _no_offers(api: httpx.AsyncClient, driver: Driver) -> bool:
    return await offers_of(api, driver) == []


async def test_accepting_an_offer_made_to_someone_else_is_404(service: Service) -> None:
    api = service.client
    owner, stranger = await register(api, "A"), await register(api, "B")
    offer = an_offer([owner.id])
    async with service.app.state.db.begin() as tx:
        await usecases.record_offer(tx, offer)

    resp = await api.post(f"/v1/offers/{offer.offer_id}/accept", headers=stranger.headers)
    unknown = await api.post(f"/v1/offers/{uuid.uuid4()}/accept", headers=stranger.headers)

    assert resp.status_code == 404
    assert resp.json()["code"] == "not_found"
    assert unknown.status_code == 404
    declined = await api.post(f"/v1/offers/{offer.offer_id}/decline", headers=stranger.headers)
    assert declined.status_code == 404
    still_open = await api.post(f"/v1/offers/{offer.offer_id}/accept", headers=owner.headers)
    assert still_open.status_code == 200


async def test_accepting_an_expired_offer_is_410_and_takes_nothing(service: Service) -> None:
    api = service.client
    driver = await register(api)
    late = an_offer([driver.id], expires_in=timedelta(seconds=-1))
    withdrawn = an_offer([driver.id])
    async with service.app.state.db.begin() as tx:
        await usecases.record_offer(tx, late)
        await usecases.record_offer(tx, withdrawn)
        await usecases.expire_offer(tx, withdrawn.offer_id)

    for offer in (late, withdrawn):
        resp = await api.post(f"/v1/offers/{offer.offer_id}/accept", headers=driver.headers)
        assert resp.status_code == 410
        assert resp.json()["code"] == "offer_expired"
        declined = await api.post(f"/v1/offers/{offer.offer_id}/decline", headers=driver.headers)
        assert declined.status_code == 410
        route = await api.get(f"/v1/routes/{offer.route_id}", headers=driver.headers)
        assert route.status_code == 404


async def test_a_decline_is_published_and_hides_the_offer_from_that_driver(
    service: Service, tap: EventTap
) -> None:
    api = service.client
    declining, other = await register(api, "A"), await register(api, "B")
    offer = an_offer([declining.id, other.id])
    async with service.app.state.db.begin() as tx:
        await usecases.record_offer(tx, offer)
    await eventually(lambda: offers_of(api, declining), within=5)

    resp = await api.post(f"/v1/offers/{offer.offer_id}/decline", headers=declining.headers)

    assert resp.status_code == 204
    declined = await tap.next(OfferDeclined, within=15)
    assert declined.payload.driver_id == declining.id
    assert declined.payload.route_id == offer.route_id
    await eventually(lambda: _no_offers(api, declining), within=5)
    assert len(await offers_of(api, other)) == 1
    again = await api.post(f"/v1/offers/{offer.offer_id}/accept", headers=declining.headers)
    assert again.status_code == 409
    assert again.json()["code"] == "offer_declined"


async def test_offers_need_a_valid_access_token(api: httpx.AsyncClient) -> None:
    missing = await api.get("/v1/drivers/me/offers")
    forged = await api.get("/v1/drivers/me/offers", headers={"Authorization": "Bearer not-a-token"})

    assert missing.status_code == 401
    assert forged.status_code == 401
    assert forged.json()["code"] == "unauthorized"
