"""At the pickup the drop-off's ETA goes out with the scan; proof photos are served only at
links the order service signed, until they expire."""

from __future__ import annotations

import hashlib
from datetime import timedelta
from urllib.parse import urlsplit

from shared import clock, proof_links
from shared.events.driver import RouteStopDelivered, RouteStopPickedUp
from tests.integration.driver.conftest import HOME, Service
from tests.integration.driver.test_route_execution import (
    PHOTO,
    accepted_route,
    deliver,
    pick_up,
)
from tests.support import EventTap


async def test_the_pickup_scan_carries_the_drop_off_s_eta_moved_by_the_pickup_s_lateness(
    service: Service, tap: EventTap
) -> None:
    driver, offer = await accepted_route(service)
    planned_pickup, planned_dropoff = offer.stops[0].eta, offer.stops[1].eta

    assert (await pick_up(service.client, driver, offer, ["PKG-1", "PKG-2"])).status_code == 200

    event = await tap.next(RouteStopPickedUp, within=15)
    assert event.payload.dropoff_eta is not None
    lateness = event.payload.at - planned_pickup
    assert abs(event.payload.dropoff_eta - (planned_dropoff + lateness)) < timedelta(seconds=1)


async def test_a_proof_photo_is_served_at_a_signed_link_until_it_expires(
    service: Service, tap: EventTap
) -> None:
    api = service.client
    driver, offer = await accepted_route(service)
    await pick_up(api, driver, offer, ["PKG-1", "PKG-2"])
    assert (await deliver(api, driver, offer, lat=HOME.lat + 0.0005)).status_code == 200
    sha = (await tap.next(RouteStopDelivered, within=15)).payload.proof_photo_sha256
    secret = service.app.state.settings.proof_url_secret.get_secret_value()

    def link(expires_in: timedelta, key: str = secret, digest: str = sha) -> str:
        url = proof_links.photo_url("http://x", key, digest, clock.now() + expires_in)
        parts = urlsplit(url)
        return f"{parts.path}?{parts.query}"

    good = await api.get(link(timedelta(minutes=10)))
    expired = await api.get(link(timedelta(seconds=-1)))
    forged = await api.get(link(timedelta(minutes=10), key="not-the-secret-" * 3))
    missing = await api.get(link(timedelta(minutes=10), digest=hashlib.sha256(b"no").hexdigest()))
    bare = await api.get(f"{proof_links.PATH}/{sha}")

    assert good.status_code == 200 and good.content == PHOTO
    assert good.headers["content-type"].startswith("image/")
    assert (expired.status_code, expired.json()["code"]) == (403, "link_expired")
    assert forged.status_code == 403
    assert missing.status_code == 404
    assert bare.status_code == 422
