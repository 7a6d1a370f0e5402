"""A driver's app: sign-up, going online, long-polled offers, the route's steps, position."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any

import httpx

from services.clients.common import PROOF_PHOTO, Json, expect


@dataclass
class DriverApp:
    http: httpx.AsyncClient
    url: str
    driver_id: str
    token: str
    # With one, an expired access token is refreshed once and the call sent again (the demo's
    # long days); without, a 401 reaches the caller as it came (the tests check them).
    refresh_token: str = ""

    @classmethod
    async def register(
        cls,
        http: httpx.AsyncClient,
        url: str,
        name: str,
        phone: str | None = None,
        *,
        stay_signed_in: bool = False,
    ) -> DriverApp:
        # A number in the 555 fiction exchange, unique per run unless given.
        phone = phone or f"+1702555{uuid.uuid4().int % 10**7:07d}"
        registered = expect(
            await http.post(
                f"{url}/v1/drivers",
                json={"name": name, "phone": phone, "vehicle_type": "car"},
            ),
            201,
        )
        tokens = registered["tokens"]
        refresh = tokens["refresh_token"] if stay_signed_in else ""
        return cls(http, url, registered["driver"]["id"], tokens["access_token"], refresh)

    @property
    def auth(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}

    async def call(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        """One request as the driver; an expired access token is refreshed once and retried."""
        extra_headers = kwargs.pop("headers", {})
        for attempt in range(2):
            response = await self.http.request(
                method, f"{self.url}{path}", headers={**extra_headers, **self.auth}, **kwargs
            )
            if response.status_code != 401 or attempt or not self.refresh_token:
                return response
            refreshed = await self.http.post(
                f"{self.url}/v1/auth/token", json={"refresh_token": self.refresh_token}
            )
            if refreshed.status_code != 200:
                return response
            tokens = refreshed.json()
            self.token, self.refresh_token = tokens["access_token"], tokens["refresh_token"]
        raise AssertionError("unreachable: the second attempt returns")

    async def _post(self, path: str, status: int = 200, **kwargs: Any) -> Json:
        return expect(await self.call("POST", path, **kwargs), status)

    async def online(self, lat: float, lng: float) -> httpx.Response:
        return await self.call(
            "POST", "/v1/drivers/me/online", json={"location": {"lat": lat, "lng": lng}}
        )

    async def go_online(self, lat: float, lng: float) -> Json:
        return expect(await self.online(lat, lng), 200)

    async def go_offline(self) -> Json:
        return await self._post("/v1/drivers/me/offline")

    async def send_position(self, lat: float, lng: float) -> httpx.Response:
        return await self.call("POST", "/v1/drivers/me/location", json={"lat": lat, "lng": lng})

    async def report_position(self, lat: float, lng: float) -> Json:
        return expect(await self.send_position(lat, lng), 200)

    async def poll_offers(self, wait: float, etag: str | None = None) -> httpx.Response:
        """A long poll: answers when an offer comes or `wait` seconds pass (304 if the offers
        are still those of `etag`)."""
        headers = {"If-None-Match": etag} if etag else {}
        return await self.call(
            "GET", "/v1/drivers/me/offers", params={"wait": wait}, headers=headers
        )

    async def offers(self, wait: float) -> list[Json]:
        offers: list[Json] = expect(await self.poll_offers(wait), 200)["offers"]
        return offers

    async def accept(self, offer_id: str) -> httpx.Response:
        return await self.call("POST", f"/v1/offers/{offer_id}/accept")

    async def get_route(self, route_id: str) -> httpx.Response:
        return await self.call("GET", f"/v1/routes/{route_id}")

    async def route(self, route_id: str) -> Json:
        return expect(await self.get_route(route_id), 200)

    async def earnings(self, period: str, day: str) -> httpx.Response:
        return await self.call(
            "GET", "/v1/drivers/me/earnings", params={"period": period, "day": day}
        )

    def _stop(self, route_id: str, stop: Json) -> str:
        return f"/v1/routes/{route_id}/stops/{stop['stop_id']}"

    async def arrive_at(self, route_id: str, stop: Json) -> httpx.Response:
        return await self.call(
            "POST",
            f"{self._stop(route_id, stop)}/arrive",
            json={"position": {"lat": stop["lat"], "lng": stop["lng"]}},
        )

    async def arrive(self, route_id: str, stop: Json) -> Json:
        return expect(await self.arrive_at(route_id, stop), 200)

    async def scan(self, route_id: str, stop: Json, barcodes: list[str]) -> httpx.Response:
        return await self.call(
            "POST", f"{self._stop(route_id, stop)}/pickup", json={"barcodes": barcodes}
        )

    async def pick_up(self, route_id: str, stop: Json, barcodes: list[str]) -> Json:
        return expect(await self.scan(route_id, stop, barcodes), 200)

    async def hand_over(self, route_id: str, stop: Json, pin: str | None) -> httpx.Response:
        """Delivery with its proof: the photo, the position at the door, the PIN if asked."""
        form = {"lat": str(stop["lat"]), "lng": str(stop["lng"])}
        if pin is not None:
            form["pin"] = pin
        return await self.call(
            "POST",
            f"{self._stop(route_id, stop)}/deliver",
            data=form,
            files={"photo": ("doorstep.jpg", PROOF_PHOTO, "image/jpeg")},
        )

    async def deliver(self, route_id: str, stop: Json, pin: str | None) -> Json:
        return expect(await self.hand_over(route_id, stop, pin), 200)

    async def fail(self, route_id: str, stop: Json, reason: str) -> Json:
        return await self._post(f"{self._stop(route_id, stop)}/fail", json={"reason": reason})

    async def bring_back(self, route_id: str, stop: Json) -> httpx.Response:
        return await self.call("POST", f"{self._stop(route_id, stop)}/return")

    async def hand_back(self, route_id: str, stop: Json) -> Json:
        return expect(await self.bring_back(route_id, stop), 200)


def stop_of(route: Json, kind: str) -> Json:
    stops = [s for s in route["stops"] if s["kind"] == kind]
    assert len(stops) == 1, (kind, route["stops"])
    stop: Json = stops[0]
    return stop
