from __future__ import annotations

import hashlib
import uuid
from typing import Any

import httpx
from sqlalchemy import text

from driver_service import usecases
from shared.events.dispatch import RouteOffered
from shared.events.driver import (
    RouteStopDelivered,
    RouteStopFailed,
    RouteStopPickedUp,
    RouteStopReturned,
)
from tests.integration.driver.conftest import (
    HOME,
    HOME_ADDRESS,
    PIN,
    Driver,
    Service,
    an_offer,
    register,
)
from tests.support import EventTap

PHOTO = b"\x89PNG\r\n\x1a\n proof of delivery"


async def accepted_route(service: Service, **offer: Any) -> tuple[Driver, RouteOffered]:
    driver = await register(service.client)
    route_offer = an_offer([driver.id], **offer)
    async with service.app.state.db.begin() as tx:
        await usecases.record_offer(tx, route_offer)
    resp = await service.client.post(
        f"/v1/offers/{route_offer.offer_id}/accept", headers=driver.headers
    )
    assert resp.status_code == 200, resp.text
    return driver, route_offer


def stop_ids(offer: RouteOffered) -> tuple[uuid.UUID, uuid.UUID]:
    pickup, dropoff = offer.stops
    return pickup.stop_id, dropoff.stop_id


async def route_of(api: httpx.AsyncClient, driver: Driver, offer: RouteOffered) -> dict[str, Any]:
    resp = await api.get(f"/v1/routes/{offer.route_id}", headers=driver.headers)
    assert resp.status_code == 200, resp.text
    body: dict[str, Any] = resp.json()
    return body


async def deliver(
    api: httpx.AsyncClient,
    driver: Driver,
    offer: RouteOffered,
    *,
    lat: float = HOME.lat,
    lng: float = HOME.lng,
    pin: str | None = PIN,
    photo: bytes = PHOTO,
    content_type: str = "image/png",
) -> httpx.Response:
    data: dict[str, Any] = {"lat": str(lat), "lng": str(lng)}
    if pin is not None:
        data["pin"] = pin
    return await api.post(
        f"/v1/routes/{offer.route_id}/stops/{stop_ids(offer)[1]}/deliver",
        data=data,
        files={"photo": ("proof.png", photo, content_type)},
        headers=driver.headers,
    )


async def pick_up(
    api: httpx.AsyncClient, driver: Driver, offer: RouteOffered, barcodes: list[str], **extra: Any
) -> httpx.Response:
    return await api.post(
        f"/v1/routes/{offer.route_id}/stops/{stop_ids(offer)[0]}/pickup",
        json={"barcodes": barcodes, **extra},
        headers=driver.headers,
    )


async def test_an_accepted_route_shows_stores_then_full_addresses(service: Service) -> None:
    driver, offer = await accepted_route(service)

    route = await route_of(service.client, driver, offer)

    pickup, dropoff = route["stops"]
    assert (pickup["kind"], pickup["store_name"]) == ("pickup", "Zara")
    assert pickup["instructions"] == "Zara pickup desk by the north entrance"
    assert pickup["labels"] == ["PKG-1", "PKG-2"]
    assert (dropoff["kind"], dropoff["address"]) == ("dropoff", HOME_ADDRESS)
    assert dropoff["needs_pin"] is True
    assert dropoff["store_name"] is None


async def test_another_drivers_route_is_404_for_every_step(service: Service) -> None:
    owner, offer = await accepted_route(service)
    stranger = await register(service.client, "Stranger")
    pickup_id, dropoff_id = stop_ids(offer)
    base = f"/v1/routes/{offer.route_id}"

    answers = [
        await service.client.get(base, headers=stranger.headers),
        await pick_up(service.client, stranger, offer, ["PKG-1", "PKG-2"]),
        await deliver(service.client, stranger, offer),
        await service.client.post(
            f"{base}/stops/{dropoff_id}/fail",
            json={"reason": "unsafe"},
            headers=stranger.headers,
        ),
        await service.client.post(
            f"{base}/stops/{pickup_id}/arrive",
            json={"position": {"lat": HOME.lat, "lng": HOME.lng}},
            headers=stranger.headers,
        ),
    ]

    assert [a.status_code for a in answers] == [404] * 5
    assert all(a.json()["code"] == "not_found" for a in answers)
    route = await route_of(service.client, owner, offer)
    assert [s["status"] for s in route["stops"]] == ["pending", "pending"]


async def test_unknown_and_missing_labels_are_422_naming_them(service: Service) -> None:
    driver, offer = await accepted_route(service)

    unknown = await pick_up(service.client, driver, offer, ["PKG-1", "PKG-2", "PKG-9"])
    missing = await pick_up(service.client, driver, offer, ["PKG-1"])
    nothing = await pick_up(service.client, driver, offer, [])

    assert unknown.status_code == 422
    assert unknown.json()["code"] == "labels_mismatch"
    assert {"field": "barcodes", "message": "unknown label PKG-9"} in unknown.json()["errors"]
    assert missing.status_code == 422
    assert {"field": "barcodes", "message": "missing label PKG-2"} in missing.json()["errors"]
    assert "PKG-2" in missing.json()["detail"]
    assert nothing.status_code == 422
    route = await route_of(service.client, driver, offer)
    assert route["stops"][0]["status"] == "pending"


async def test_a_declared_partial_pickup_is_accepted_and_reported(
    service: Service, tap: EventTap
) -> None:
    driver, offer = await accepted_route(service)

    resp = await pick_up(service.client, driver, offer, ["PKG-2"], partial=True)

    assert resp.status_code == 200
    pickup = resp.json()["stops"][0]
    assert (pickup["status"], pickup["missing_labels"]) == ("picked_up", ["PKG-1"])
    event = await tap.next(RouteStopPickedUp, within=15)
    assert event.payload.labels == ["PKG-2"]
    assert event.payload.missing_labels == ["PKG-1"]
    assert event.payload.shipment_id == offer.stops[0].shipment_id


async def test_delivery_needs_position_pin_and_photo_then_publishes_the_proof(
    service: Service, tap: EventTap
) -> None:
    api = service.client
    driver, offer = await accepted_route(service)
    before_pickup = await deliver(api, driver, offer)
    assert (await pick_up(api, driver, offer, ["PKG-1", "PKG-2"])).status_code == 200

    far = await deliver(api, driver, offer, lat=HOME.lat + 0.01)
    wrong_pin = await deliver(api, driver, offer, pin="0000")
    no_pin = await deliver(api, driver, offer, pin=None)
    empty_photo = await deliver(api, driver, offer, photo=b"")
    not_an_image = await deliver(api, driver, offer, content_type="text/plain")

    assert before_pickup.status_code == 409
    assert (far.status_code, far.json()["code"]) == (422, "outside_geofence")
    assert far.json()["errors"][0]["field"] == "position"
    assert (wrong_pin.status_code, wrong_pin.json()["code"]) == (422, "wrong_pin")
    assert (no_pin.status_code, no_pin.json()["code"]) == (422, "wrong_pin")
    assert empty_photo.status_code == 422
    assert not_an_image.status_code == 422
    assert (await route_of(api, driver, offer))["stops"][1]["status"] == "pending"

    # 60 m from the door is inside the default 150 m geofence.
    done = await deliver(api, driver, offer, lat=HOME.lat + 0.00054)

    assert done.status_code == 200
    assert done.json()["stops"][1]["status"] == "delivered"
    assert done.json()["completed_at"] is not None
    delivered = await tap.next(RouteStopDelivered, within=15)
    assert delivered.payload.stop_id == offer.stops[1].stop_id
    digest = hashlib.sha256(PHOTO).hexdigest()
    assert delivered.payload.proof_photo_sha256 == digest
    async with service.app.state.db.begin() as tx:
        stored = await tx.execute(
            text("SELECT content FROM photos WHERE sha256 = :d"), {"d": digest}
        )
        assert stored.scalar_one() == PHOTO
    again = await deliver(api, driver, offer)
    assert again.status_code == 409


async def test_a_failed_delivery_goes_back_to_its_store_as_a_return_stop(
    service: Service, tap: EventTap
) -> None:
    api = service.client
    driver, offer = await accepted_route(service, pin=None)
    _, dropoff_id = stop_ids(offer)
    base = f"/v1/routes/{offer.route_id}/stops"
    assert (await pick_up(api, driver, offer, ["PKG-1", "PKG-2"])).status_code == 200

    bad_reason = await api.post(
        f"{base}/{dropoff_id}/fail", json={"reason": "bored"}, headers=driver.headers
    )
    assert bad_reason.status_code == 422
    failed = await api.post(
        f"{base}/{dropoff_id}/fail", json={"reason": "customer_absent"}, headers=driver.headers
    )

    assert failed.status_code == 200
    stops = failed.json()["stops"]
    assert [s["kind"] for s in stops] == ["pickup", "dropoff", "return"]
    assert stops[1]["status"] == "failed"
    back = stops[2]
    assert (back["store_name"], back["labels"], back["status"]) == (
        "Zara",
        ["PKG-1", "PKG-2"],
        "pending",
    )
    event = await tap.next(RouteStopFailed, within=15)
    assert event.payload.reason == "customer_absent"

    returned = await api.post(f"{base}/{back['stop_id']}/return", headers=driver.headers)

    assert returned.status_code == 200
    assert returned.json()["stops"][2]["status"] == "returned"
    assert returned.json()["completed_at"] is not None
    handed_back = await tap.next(RouteStopReturned, within=15)
    assert handed_back.payload.store_id == "store-fs-zara"
    assert handed_back.payload.shipment_id == offer.stops[1].shipment_id
