"""The operator's and the services' own credentials: directory, POS credentials, dispatch's
view of a route."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass

import httpx

from services.clients.common import Json, expect, gated
from services.suite import Suite


def console_token(suite: Suite, subject: str) -> str:
    """An operator's token for dispatch's console and API, from dispatch's dev command."""
    return suite.run_dev("dispatch_service.dev", "token", "--subject", subject).strip()


@dataclass
class Operator:
    """The operator's and the services' own credentials: the store directory, POS credentials,
    dispatch's view of a route."""

    http: httpx.AsyncClient
    urls: dict[str, str]
    catalog_internal_token: str
    order_operator_token: str
    dispatch_token: str = ""

    @classmethod
    def of(cls, http: httpx.AsyncClient, suite: Suite, dispatch_token: str = "") -> Operator:
        return cls(
            http,
            dict(suite.urls),
            suite.env["CATALOG_INTERNAL_TOKEN"],
            suite.env["ORDER_OPERATOR_TOKEN"],
            dispatch_token,
        )

    async def directory(self) -> Json:
        """Every mall and store with their identifiers, from the catalog's internal endpoint."""
        response = await self.http.get(
            f"{self.urls['catalog']}/v1/stores",
            headers={"Authorization": f"Bearer {self.catalog_internal_token}"},
        )
        return expect(response, 200)

    async def pos_credentials(
        self, store_id: str, webhook_url: str | None = None, gate: asyncio.Semaphore | None = None
    ) -> Json:
        async with gated(gate):
            response = await self.http.post(
                f"{self.urls['order']}/v1/admin/stores/{store_id}/pos-credentials",
                headers={"Authorization": f"Bearer {self.order_operator_token}"},
                json=None if webhook_url is None else {"webhook_url": webhook_url},
            )
        return expect(response, 201)

    async def dispatch_route(self, route_id: str) -> tuple[Json, Json]:
        """Dispatch's plan of the route and its offer log; {} for what it does not answer."""
        auth = {"Authorization": f"Bearer {self.dispatch_token}"}
        url = f"{self.urls['dispatch']}/v1/dispatch/routes/{route_id}"
        route = await self.http.get(url, headers=auth)
        offers = await self.http.get(f"{url}/offers", headers=auth)
        return (
            route.json() if route.status_code == 200 else {},
            offers.json() if offers.status_code == 200 else {},
        )
