"""The services that own what some console actions change: the order service cancels a
shipment, the driver service takes a driver offline. Dispatch asks them over HTTP with their
operator tokens and follows the events they publish, like any other change.
"""

from __future__ import annotations

from typing import Any
from uuid import UUID

import httpx

from dispatch_service.settings import DispatchSettings


class PeerRefused(Exception):
    """The owning service answered no (4xx); `detail` is its reason."""

    def __init__(self, service: str, status_code: int, detail: str) -> None:
        super().__init__(f"{service}: {status_code} {detail}")
        self.service = service
        self.status_code = status_code
        self.detail = detail


class PeerUnavailable(Exception):
    """The owning service could not be reached or failed (5xx)."""

    def __init__(self, service: str, reason: str) -> None:
        super().__init__(f"{service}: {reason}")
        self.service = service
        self.reason = reason


class Peers:
    def __init__(
        self, settings: DispatchSettings, transport: httpx.AsyncBaseTransport | None = None
    ) -> None:
        self._http = httpx.AsyncClient(timeout=settings.peer_timeout_seconds, transport=transport)
        self._order = (
            settings.order_url.rstrip("/"),
            settings.order_operator_token.get_secret_value(),
        )
        self._driver = (
            settings.driver_url.rstrip("/"),
            settings.driver_operator_token.get_secret_value(),
        )

    async def close(self) -> None:
        await self._http.aclose()

    async def cancel_shipment(self, shipment_id: UUID, reason: str) -> dict[str, Any]:
        url, token = self._order
        return await self._post(
            "order service",
            f"{url}/v1/admin/shipments/{shipment_id}/cancel",
            token,
            {"reason": reason},
        )

    async def take_driver_offline(self, driver_id: UUID) -> dict[str, Any]:
        url, token = self._driver
        return await self._post(
            "driver service", f"{url}/v1/admin/drivers/{driver_id}/offline", token, None
        )

    async def _post(
        self, service: str, url: str, token: str, body: dict[str, Any] | None
    ) -> dict[str, Any]:
        try:
            response = await self._http.post(
                url, json=body, headers={"Authorization": f"Bearer {token}"}
            )
        except httpx.HTTPError as error:
            raise PeerUnavailable(service, f"unreachable ({type(error).__name__})") from None
        if response.status_code >= 500:
            raise PeerUnavailable(service, f"answered {response.status_code}")
        if response.status_code >= 400:
            raise PeerRefused(service, response.status_code, _detail(response))
        found: dict[str, Any] = response.json()
        return found


def _detail(response: httpx.Response) -> str:
    try:
        body = response.json()
    except ValueError:
        return response.text[:300]
    return str(body.get("detail") or body) if isinstance(body, dict) else str(body)[:300]
