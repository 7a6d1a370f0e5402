"""Valid credentials of every kind of caller for `make fuzz` (customer, store POS, retailer,
driver, operator, internal), and one real order so object routes have something to find.
"""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass

import httpx

from services.suite import Suite
from shared.malls import pilot_malls

# The catalog's seed writes the retailer keys it made to this file (its `--keys-file`).
KEYS_FILE = "catalog_retailer_keys.json"


@dataclass
class Callers:
    """Valid credentials of every kind of caller, and the identifiers no customer may see."""

    customer: str
    driver: str
    dispatch_operator: str
    order_operator: str
    driver_operator: str
    internal: str
    storefront: str
    retailer_key: str
    pos_key: str
    pos_secret: str
    identifiers: list[str]

    def by_tag(self, service: str) -> dict[str, dict[str, str]]:
        bearer = {
            "catalog": {"internal": self.internal},
            "order": {
                "orders": self.customer,
                "internal": self.order_operator,
                "storefront": self.storefront,
            },
            "dispatch": {"internal": self.dispatch_operator, "console": self.dispatch_operator},
            "driver": {
                **{tag: self.driver for tag in ("drivers", "offers", "routes", "earnings", "auth")},
                "internal": self.driver_operator,
            },
        }[service]
        tags = {tag: {"Authorization": f"Bearer {token}"} for tag, token in bearer.items()}
        if service == "catalog":
            tags["retailer"] = {"X-API-Key": self.retailer_key}
        if service == "order":
            tags["retailer"] = {"X-API-Key": self.pos_key}
        return tags


async def gather_callers(suite: Suite) -> Callers:
    internal = suite.env["CATALOG_INTERNAL_TOKEN"]
    operator = suite.env["ORDER_OPERATOR_TOKEN"]
    async with httpx.AsyncClient(timeout=30) as http:
        directory = (
            await http.get(
                f"{suite.urls['catalog']}/v1/stores",
                headers={"Authorization": f"Bearer {internal}"},
            )
        ).json()
        store = directory["stores"][0]
        pos = (
            await http.post(
                f"{suite.urls['order']}/v1/admin/stores/{store['id']}/pos-credentials",
                headers={"Authorization": f"Bearer {operator}"},
                json={},
            )
        ).json()
        registered = await http.post(
            f"{suite.urls['driver']}/v1/drivers",
            json={
                "name": "Fuzz Driver",
                "phone": f"+1702555{uuid.uuid4().int % 10_000_000:07d}",
                "vehicle_type": "car",
            },
        )
    keys: dict[str, str] = json.loads((suite.log_dir / KEYS_FILE).read_text())
    identifiers = [
        value
        for mall in directory["malls"]
        for value in (mall["id"], mall["name"], mall["address"])
    ] + [
        value
        for s in directory["stores"]
        for value in (
            s["id"],
            s["name"],
            s["address"],
            s["phone"],
            s["retailer_id"],
            s["retailer_name"],
            s["pickup_instructions"],
        )
    ]
    customer = suite.run_dev("order_service.dev", "token", "--customer", "fuzz-customer")
    operator_jwt = suite.run_dev("dispatch_service.dev", "token", "--subject", "fuzz")
    return Callers(
        customer=customer.strip(),
        driver=registered.json()["tokens"]["access_token"],
        dispatch_operator=operator_jwt.strip(),
        order_operator=operator,
        driver_operator=suite.env["DRIVER_OPERATOR_TOKEN"],
        internal=internal,
        storefront=suite.storefront_token,
        retailer_key=keys[store["retailer_id"]],
        pos_key=pos["api_key"],
        pos_secret=pos["webhook_secret"],
        identifiers=identifiers,
    )


async def place_an_order(suite: Suite, callers: Callers) -> str | None:
    """One real order of the fuzzing customer, so its object routes have something to find."""
    mall = pilot_malls()[0]
    async with httpx.AsyncClient(timeout=30) as http:
        page = await http.get(
            f"{suite.urls['catalog']}/v1/catalog/same-day",
            params={"lat": mall.lat + 0.01, "lng": mall.lng},
        )
        items = page.json().get("items", []) if page.status_code == 200 else []
        if not items:
            return None
        placed = await http.post(
            f"{suite.urls['order']}/v1/checkout",
            headers={
                "Authorization": f"Bearer {callers.customer}",
                "Idempotency-Key": uuid.uuid4().hex,
            },
            json={
                "lines": [{"offer_id": items[0]["offer_id"], "quantity": 1}],
                "address": {
                    "line1": "1 Fuzz Way",
                    "city": "Las Vegas",
                    "region": "NV",
                    "postal_code": "89109",
                    "lat": mall.lat + 0.01,
                    "lng": mall.lng,
                },
                "contact": {"name": "Fuzz Customer", "phone": "+17025550100"},
            },
        )
    return str(placed.json()["id"]) if placed.status_code == 201 else None
