"""Who may touch what: every route of the four services that takes an object id, called by every
kind of caller. The owner gets 2xx; another principal of the route's kind gets 404, never 403
(which would confirm the object exists); anyone else, and every bad token, gets 401. A link
that is itself the credential (the shopper's tracking page, a signed proof-photo link) answers
whoever holds it, whatever else they send; a guessed or altered one is refused.

The routes come from the four OpenAPI documents, so a new object route without a row here fails
the test. The matrix of statuses received is printed (pytest -s shows it).
"""

from __future__ import annotations

import base64
import json
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import httpx
import jwt
from standardwebhooks import Webhook

from services.leaks import LeakScanner
from services.suite import ROOT, Suite
from tests.e2e.actors import (
    FASHION_SHOW,
    DriverApp,
    Json,
    Pos,
    Storefront,
    WebhookInbox,
    expect,
    stop_of,
)
from tests.e2e.conftest import JWT_SECRETS
from tests.e2e.test_same_day_flow import (
    HOME,
    MALL,
    a_first_name,
    pack,
    pick_up,
    place_order,
    shipment_at_its_store,
)
from tests.support import eventually

# Callers, as columns. "driver" and "store" are the row's owning driver and fulfilling store.
PRINCIPALS = (
    "customer",
    "other customer",
    "store",
    "other store",
    "driver",
    "other driver",
    "operator",
    "service",
    "storefront",
    "none",
)
BAD_TOKENS = (
    "alg none",
    "wrong key",
    "expired",
    "no exp",
    "wrong role",
    "wrong aud",
    "refresh as access",
)
CALLERS = PRINCIPALS + BAD_TOKENS
# Which callers are principals of each kind of route: the one that owns it gets 2xx, the others
# 404; any other caller is not a principal there at all (401).
KINDS = {
    "customer": ("customer", "other customer"),
    "store": ("store", "other store"),
    "driver": ("driver", "other driver"),
    "operator": ("operator",),
    "service": ("service",),
    "storefront": ("storefront",),
}
OWNER = {"customer": "customer", "store": "store", "driver": "driver"}


@dataclass
class World:
    """The objects and the callers' credentials the matrix runs against."""

    suite: Suite
    http: httpx.AsyncClient
    customers: list[str]
    customer_ids: list[str]
    pos: Pos
    other_pos: Pos
    retailer_keys: dict[str, str]
    store_retailer: str
    other_store_retailer: str
    drivers: dict[str, DriverApp] = field(default_factory=dict)
    refresh_token: str = ""
    order_operator: str = ""
    driver_operator: str = ""
    dispatch_operator: str = ""
    dispatch_claims: dict[str, Any] = field(default_factory=dict)
    ids: dict[str, Any] = field(default_factory=dict)
    # A store of another mall, with the POS credentials the admin row issues it.
    elsewhere_pos: Pos | None = None


@dataclass(frozen=True)
class Row:
    """One object route: how to call it, for whom, and what its owner gets."""

    service: str
    method: str
    template: str
    kind: str
    owner_status: int
    path: Callable[[World], str]
    body: Callable[[World], dict[str, Any]] = lambda world: {}
    # The driver who owns this row (the route's, or the offer's recipient).
    owning_driver: str = "assigned"
    # "another store": one of the same mall, or of another mall where a store of the same mall
    # may rightly hold the same thing (stock of a SKU is every holder's own).
    other_store: str = "same mall"


def jwt_none(claims: dict[str, Any]) -> str:
    def part(value: dict[str, Any]) -> str:
        return base64.urlsafe_b64encode(json.dumps(value).encode()).rstrip(b"=").decode()

    return f"{part({'alg': 'none', 'typ': 'JWT'})}.{part(claims)}."


def forged(world: World, kind: str, defect: str, row: Row) -> dict[str, str]:
    """A token for the route's kind of caller, wrong in exactly one way."""
    if defect == "refresh as access":
        return {"Authorization": f"Bearer {world.refresh_token}"}
    if kind == "driver":
        driver = world.drivers[row.owning_driver]
        secret = JWT_SECRETS["DRIVER_JWT_SECRET"]
        claims: dict[str, Any] = {
            "sub": driver.driver_id,
            "typ": "access",
            "jti": str(uuid.uuid4()),
            "exp": 4_102_444_800,
        }
        wrong_role = {**claims, "typ": "customer"}
    elif kind == "operator" and row.service == "dispatch":
        secret = JWT_SECRETS["DISPATCH_OPERATOR_JWT_SECRET"]
        claims = {**world.dispatch_claims, "exp": 4_102_444_800}
        wrong_role = {**claims, "role": "customer"}
    else:
        # Customer tokens; also what static-token routes get: any JWT is a wrong token there.
        secret = JWT_SECRETS["ORDER_JWT_SECRET"]
        claims = {"sub": world.customer_ids[0], "role": "customer", "exp": 4_102_444_800}
        wrong_role = {**claims, "role": "operator"}
    token = {
        "alg none": lambda: jwt_none(claims),
        "wrong key": lambda: jwt.encode(claims, "a-key-that-is-not-ours-0123456789abcdef"),
        "expired": lambda: jwt.encode({**claims, "exp": 1_000_000_000}, secret),
        "no exp": lambda: jwt.encode({k: v for k, v in claims.items() if k != "exp"}, secret),
        "wrong role": lambda: jwt.encode(wrong_role, secret),
        "wrong aud": lambda: jwt.encode({**claims, "aud": "another-service"}, secret),
    }[defect]()
    return {"Authorization": f"Bearer {token}"}


def headers_for(world: World, caller: str, row: Row) -> dict[str, str]:
    if caller in BAD_TOKENS:
        return forged(world, row.kind, caller, row)
    bearer = {
        "customer": lambda: world.customers[0],
        "other customer": lambda: world.customers[1],
        "driver": lambda: world.drivers[row.owning_driver].token,
        "other driver": lambda: world.drivers["other"].token,
        "operator": lambda: {
            "order": world.order_operator,
            "driver": world.driver_operator,
        }.get(row.service, world.dispatch_operator),
        "service": lambda: world.suite.env["CATALOG_INTERNAL_TOKEN"],
        "storefront": lambda: world.suite.storefront_token,
    }
    if caller in bearer:
        return {"Authorization": f"Bearer {bearer[caller]()}"}
    if caller in ("store", "other store"):
        # A store signs in to the catalog with its retailer's key, elsewhere with its POS key.
        if row.service == "catalog":
            retailer = world.store_retailer if caller == "store" else world.other_store_retailer
            return {"X-API-Key": world.retailer_keys[retailer]}
        if caller == "store":
            return {"X-API-Key": world.pos.api_key}
        if row.other_store == "elsewhere":
            assert world.elsewhere_pos is not None
            return {"X-API-Key": world.elsewhere_pos.api_key}
        return {"X-API-Key": world.other_pos.api_key}
    return {}


def expected(row: Row, caller: str) -> int:
    if row.kind == "link":
        return row.owner_status
    principals = KINDS[row.kind]
    if caller not in principals:
        return 401
    owner = OWNER.get(row.kind, principals[0])
    return row.owner_status if caller == owner else 404


async def call(world: World, row: Row, caller: str) -> httpx.Response:
    url = world.suite.urls[row.service] + row.path(world)
    headers = headers_for(world, caller, row)
    if row.template.endswith("/deliver"):
        form = {k: str(v) for k, v in row.body(world).items()}
        return await world.http.post(
            url,
            data=form,
            files={"photo": ("door.jpg", b"\xff\xd8\xff\xe0proof\xff\xd9", "image/jpeg")},
            headers=headers,
        )
    if row.template == "/v1/retailer/events":
        # Signed by the calling store's own secret, as its POS would; only its key differs.
        pos = world.other_pos if caller == "other store" else world.pos
        return await signed_event(world.http, pos, row.body(world), headers)
    body = row.body(world)
    if row.template.endswith("/stream"):
        # Server-Sent Events stay open: the status is all this needs.
        async with world.http.stream("GET", url, headers=headers) as streamed:
            return streamed
    return await world.http.request(
        row.method, url, json=body if row.method in ("POST", "PUT") else None, headers=headers
    )


async def signed_event(
    http: httpx.AsyncClient, pos: Pos, event: dict[str, Any], headers: dict[str, str]
) -> httpx.Response:
    raw = json.dumps(event)
    message_id = f"msg_{uuid.uuid4().hex}"
    at = datetime.now(UTC)
    return await http.post(
        f"{pos.order_url}/v1/retailer/events",
        content=raw.encode(),
        headers={
            **headers,
            "Content-Type": "application/json",
            "webhook-id": message_id,
            "webhook-timestamp": str(int(at.timestamp())),
            "webhook-signature": Webhook(pos.webhook_secret).sign(message_id, at, raw),
        },
    )


def console(template: str, kind: str = "", key: str = "") -> Callable[[World], str]:
    """A console path with the row's object id: a mall, or an id kept in `world.ids`."""
    return lambda w: template.format(w.ids[key] if key else w.ids["elsewhere_mall"])


def stop_path(world: World, route: str, kind: str, step: str) -> str:
    return f"/v1/routes/{world.ids[route]['route_id']}/stops/{world.ids[route][kind]}/{step}"


ROWS = [
    Row(
        "catalog",
        "GET",
        "/v1/offers/{offer_id}",
        "service",
        200,
        lambda w: f"/v1/offers/{w.ids['offer_id']}",
    ),
    Row(
        "order",
        "GET",
        "/v1/orders/{order_id}",
        "customer",
        200,
        lambda w: f"/v1/orders/{w.ids['order']}",
    ),
    Row(
        "order",
        "POST",
        "/v1/orders/{order_id}/cancel",
        "customer",
        200,
        lambda w: f"/v1/orders/{w.ids['cancel_order']}/cancel",
    ),
    Row(
        "order",
        "POST",
        "/v1/orders/{order_id}/tip",
        "customer",
        200,
        lambda w: f"/v1/orders/{w.ids['order']}/tip",
        lambda w: {"tip_cents": 300},
    ),
    Row(
        "order",
        "POST",
        "/v1/admin/stores/{store_id}/pos-credentials",
        "operator",
        201,
        lambda w: f"/v1/admin/stores/{w.ids['elsewhere_store']}/pos-credentials",
    ),
    Row(
        "order",
        "GET",
        "/v1/retailer/stock/{sku}",
        "store",
        200,
        lambda w: f"/v1/retailer/stock/{w.ids['sku']}",
        other_store="elsewhere",
    ),
    Row(
        "order",
        "POST",
        "/v1/retailer/events",
        "store",
        200,
        lambda w: "/v1/retailer/events",
        lambda w: {"type": "accepted", "shipment_id": w.ids["shipment"]},
    ),
    Row(
        "dispatch",
        "GET",
        "/v1/dispatch/malls/{mall_id}/pool",
        "operator",
        200,
        lambda w: f"/v1/dispatch/malls/{FASHION_SHOW}/pool",
    ),
    Row(
        "dispatch",
        "POST",
        "/v1/dispatch/malls/{mall_id}/rounds",
        "operator",
        200,
        lambda w: f"/v1/dispatch/malls/{w.ids['elsewhere_mall']}/rounds",
    ),
    Row(
        "dispatch",
        "GET",
        "/v1/dispatch/routes/{route_id}",
        "operator",
        200,
        lambda w: f"/v1/dispatch/routes/{w.ids['first']['route_id']}",
    ),
    Row(
        "dispatch",
        "GET",
        "/v1/dispatch/routes/{route_id}/offers",
        "operator",
        200,
        lambda w: f"/v1/dispatch/routes/{w.ids['first']['route_id']}/offers",
    ),
    Row(
        "driver",
        "DELETE",
        "/v1/drivers/me/blocks/{block_id}",
        "driver",
        204,
        lambda w: f"/v1/drivers/me/blocks/{w.ids['block']}",
    ),
    Row(
        "driver",
        "POST",
        "/v1/offers/{offer_id}/decline",
        "driver",
        204,
        lambda w: f"/v1/offers/{w.ids['first']['offer_id']}/decline",
        owning_driver="declining",
    ),
    Row(
        "driver",
        "POST",
        "/v1/offers/{offer_id}/accept",
        "driver",
        200,
        lambda w: f"/v1/offers/{w.ids['first']['offer_id']}/accept",
    ),
    Row(
        "driver",
        "GET",
        "/v1/routes/{route_id}",
        "driver",
        200,
        lambda w: f"/v1/routes/{w.ids['first']['route_id']}",
    ),
    Row(
        "driver",
        "POST",
        "/v1/routes/{route_id}/stops/{stop_id}/arrive",
        "driver",
        200,
        lambda w: stop_path(w, "first", "pickup", "arrive"),
        lambda w: {"position": w.ids["first"]["pickup_at"]},
    ),
    Row(
        "driver",
        "POST",
        "/v1/routes/{route_id}/stops/{stop_id}/pickup",
        "driver",
        200,
        lambda w: stop_path(w, "first", "pickup", "pickup"),
        lambda w: {"barcodes": w.ids["first"]["labels"]},
    ),
    Row(
        "driver",
        "POST",
        "/v1/routes/{route_id}/stops/{stop_id}/deliver",
        "driver",
        200,
        lambda w: stop_path(w, "first", "dropoff", "deliver"),
        lambda w: {**w.ids["first"]["dropoff_at"], "pin": w.ids["pin"]},
    ),
    Row(
        "driver",
        "POST",
        "/v1/routes/{route_id}/stops/{stop_id}/fail",
        "driver",
        200,
        lambda w: stop_path(w, "second", "dropoff", "fail"),
        lambda w: {"reason": "customer_absent"},
        owning_driver="second",
    ),
    Row(
        "driver",
        "POST",
        "/v1/routes/{route_id}/stops/{stop_id}/return",
        "driver",
        200,
        lambda w: stop_path(w, "second", "return", "return"),
        owning_driver="second",
    ),
    Row(
        "order",
        "POST",
        "/v1/admin/shipments/{shipment_id}/cancel",
        "operator",
        200,
        lambda w: f"/v1/admin/shipments/{w.ids['cancelled_shipment']}/cancel",
        lambda w: {"reason": "access matrix"},
    ),
    Row(
        "driver",
        "POST",
        "/v1/admin/drivers/{driver_id}/offline",
        "operator",
        200,
        lambda w: f"/v1/admin/drivers/{w.drivers['other'].driver_id}/offline",
    ),
    Row(
        "dispatch",
        "GET",
        "/v1/console/malls/{mall_id}/board",
        "operator",
        200,
        console("/v1/console/malls/{}/board"),
    ),
    Row(
        "dispatch",
        "GET",
        "/v1/console/malls/{mall_id}/stream",
        "operator",
        200,
        console("/v1/console/malls/{}/stream"),
    ),
    Row(
        "dispatch",
        "GET",
        "/v1/console/malls/{mall_id}/actions",
        "operator",
        200,
        console("/v1/console/malls/{}/actions"),
    ),
    Row(
        "dispatch",
        "POST",
        "/v1/console/malls/{mall_id}/rounds",
        "operator",
        200,
        console("/v1/console/malls/{}/rounds"),
    ),
    Row(
        "dispatch",
        "POST",
        "/v1/console/malls/{mall_id}/pause",
        "operator",
        200,
        console("/v1/console/malls/{}/pause"),
        lambda w: {"note": "access matrix"},
    ),
    Row(
        "dispatch",
        "POST",
        "/v1/console/malls/{mall_id}/resume",
        "operator",
        200,
        console("/v1/console/malls/{}/resume"),
    ),
    Row(
        "dispatch",
        "GET",
        "/v1/console/routes/{route_id}/offers",
        "operator",
        200,
        console("/v1/console/routes/{}/offers", key="offered_route"),
    ),
    Row(
        "dispatch",
        "POST",
        "/v1/console/routes/{route_id}/reoffer",
        "operator",
        200,
        console("/v1/console/routes/{}/reoffer", key="offered_route"),
        lambda w: {"boost_pct": 10},
    ),
    Row(
        "dispatch",
        "POST",
        "/v1/console/shipments/{shipment_id}/cancel",
        "operator",
        200,
        console("/v1/console/shipments/{}/cancel", key="cancelled_shipment"),
        lambda w: {"reason": "access matrix"},
    ),
    Row(
        "dispatch",
        "POST",
        "/v1/console/drivers/{driver_id}/offline",
        "operator",
        200,
        lambda w: f"/v1/console/drivers/{w.drivers['other'].driver_id}/offline",
    ),
    # The storefront's webhook endpoints and their deliveries: the storefront's token only.
    Row(
        "order",
        "POST",
        "/v1/storefront/webhook-endpoints/{endpoint_id}/rotate-secret",
        "storefront",
        200,
        lambda w: f"/v1/storefront/webhook-endpoints/{w.ids['endpoint']}/rotate-secret",
        lambda w: {"grace_seconds": 60},
    ),
    Row(
        "order",
        "POST",
        "/v1/storefront/webhook-endpoints/{endpoint_id}/replay-failed",
        "storefront",
        202,
        lambda w: f"/v1/storefront/webhook-endpoints/{w.ids['endpoint']}/replay-failed",
    ),
    Row(
        "order",
        "GET",
        "/v1/storefront/webhook-deliveries/{delivery_id}",
        "storefront",
        200,
        lambda w: f"/v1/storefront/webhook-deliveries/{w.ids['delivery']}",
    ),
    # The owner is told a delivered delivery is not replayed (only failed ones are): the check of
    # who asks comes first, so everyone else still gets 401 or 404.
    Row(
        "order",
        "POST",
        "/v1/storefront/webhook-deliveries/{delivery_id}/replay",
        "storefront",
        409,
        lambda w: f"/v1/storefront/webhook-deliveries/{w.ids['delivery']}/replay",
    ),
    Row(
        "order",
        "DELETE",
        "/v1/storefront/webhook-endpoints/{endpoint_id}",
        "storefront",
        204,
        lambda w: f"/v1/storefront/webhook-endpoints/{w.ids['endpoint']}",
    ),
    # Links that are their own credential: the tracking page (its token made at checkout) and a
    # proof photo (a signed, expiring link).
    Row("order", "GET", "/t/{token}", "link", 200, lambda w: f"/t/{w.ids['tracking']}"),
    Row(
        "order",
        "GET",
        "/t/{token}/status",
        "link",
        200,
        lambda w: f"/t/{w.ids['tracking']}/status",
    ),
    Row("order", "GET", "/t/assets/{name}", "link", 200, lambda w: "/t/assets/tracking.js"),
    Row(
        "driver",
        "GET",
        "/v1/proof-photos/{sha256}",
        "link",
        200,
        lambda w: w.ids["photo_link"],
    ),
]


def object_routes(documents: dict[str, Json]) -> set[tuple[str, str, str]]:
    """Operations that name an object: a path parameter, or a required `*_id` body field."""
    found = set()
    for service, document in documents.items():
        for path, item in document["paths"].items():
            for method, operation in item.items():
                if method not in ("get", "post", "put", "patch", "delete"):
                    continue
                body = operation.get("requestBody", {}).get("content", {})
                schema = body.get("application/json", {}).get("schema", {})
                required = schema.get("required", []) if "properties" in schema else []
                if "{" in path or any(name.endswith("_id") for name in required):
                    found.add((service, method.upper(), path))
    return found


SHORT = {
    "other customer": "other-cust",
    "other store": "other-store",
    "other driver": "other-drv",
    "refresh as access": "refresh-tok",
}


def render(matrix: dict[tuple[str, str, str], dict[str, int]]) -> str:
    width = max(len(f"{m} {t}") for (_, m, t) in matrix) + 10
    names = [SHORT.get(c, c.replace(" ", "-")) for c in CALLERS]
    head = "route".ljust(width) + "".join(f"{n:>12}" for n in names)
    lines = [head, "-" * len(head)]
    for (service, method, template), statuses in matrix.items():
        label = f"{service:<9}{method} {template}".ljust(width)
        lines.append(label + "".join(f"{statuses[c]:>12}" for c in CALLERS))
    return "\n".join(lines)


async def until_offered(driver: DriverApp, postal_code: str) -> Json | None:
    area = f"Las Vegas {postal_code}"
    offers = [o for o in await driver.offers(wait=1) if area in o["dropoff_areas"]]
    return offers[0] if offers else None


async def route_on_offer(world: World, shipment_id: str) -> str | None:
    """The id of the route on offer that carries the shipment, from the console's board."""
    board = expect(
        await world.http.get(
            f"{world.suite.urls['dispatch']}/v1/console/malls/{FASHION_SHOW}/board",
            headers={"Authorization": f"Bearer {world.dispatch_operator}"},
        ),
        200,
    )
    return next(
        (
            str(r["id"])
            for r in board["routes"]
            if r["phase"] == "offered" and any(s["shipment_id"] == shipment_id for s in r["stops"])
        ),
        None,
    )


async def offered_again(
    driver: DriverApp, postal_code: str, before: str, expected: str | None = None
) -> Json | None:
    """The driver's offer for the area once it is another than `before` (the `expected` one)."""
    area = f"Las Vegas {postal_code}"
    offers = [
        o
        for o in await driver.offers(wait=1)
        if area in o["dropoff_areas"]
        and o["offer_id"] != before
        and expected in (None, o["offer_id"])
    ]
    return offers[0] if offers else None


async def an_order_at_its_store(
    storefront: Storefront, pos_terminals: dict[str, Pos], postal_code: str
) -> tuple[Json, Pos, Json, str]:
    """A new order of the storefront's customer, its store's POS, its shipment, its offer."""
    page = expect(await storefront.same_day(**HOME, limit=5), 200)
    first_name = a_first_name()
    # Not the first item, which most end-to-end tests buy: the suite's stock of it runs low.
    offer_id = page["items"][1]["offer_id"]
    order = await place_order(storefront, offer_id, first_name, postal_code)
    pos, shipment = await shipment_at_its_store(pos_terminals, first_name)
    return order, pos, shipment, offer_id


async def run_row(
    world: World, row: Row, matrix: dict[tuple[str, str, str], dict[str, int]]
) -> httpx.Response:
    """Every non-owner first (each must change nothing), the owner last; the owner's answer."""
    owner = OWNER.get(row.kind, KINDS.get(row.kind, ("none",))[0])
    statuses = {}
    for caller in [c for c in CALLERS if c != owner] + [owner]:
        response = await call(world, row, caller)
        statuses[caller] = response.status_code
    matrix[(row.service, row.method, row.template)] = statuses
    return response


async def test_every_object_route_answers_each_caller_as_its_owner_or_not_at_all(
    suite: Suite,
    http: httpx.AsyncClient,
    customer_tokens: list[str],
    storefront: Storefront,
    dispatch_operator_token: str,
    pos_terminals: dict[str, Pos],
    directory: dict[str, Any],
    scanner: LeakScanner,
    webhook_inbox: WebhookInbox,
) -> None:
    documents = {
        name: expect(await http.get(f"{url}/openapi.json"), 200) for name, url in suite.urls.items()
    }
    rows = {(r.service, r.method, r.template) for r in ROWS}
    routes = object_routes(documents)
    assert routes - rows == set(), f"add a row to the access matrix for: {sorted(routes - rows)}"
    assert rows - routes == set(), f"rows for routes that no longer exist: {sorted(rows - routes)}"

    keys = json.loads((ROOT / ".local" / "e2e" / "catalog_retailer_keys.json").read_text())
    stores = {s["id"]: s for s in directory["stores"]}
    world = World(
        suite=suite,
        http=http,
        customers=customer_tokens,
        customer_ids=[jwt.decode(t, options={"verify_signature": False})["sub"] for t in
                      customer_tokens],
        pos=next(iter(pos_terminals.values())),
        other_pos=next(iter(pos_terminals.values())),
        retailer_keys=keys,
        store_retailer="",
        other_store_retailer="",
        order_operator=suite.env["ORDER_OPERATOR_TOKEN"],
        driver_operator=suite.env["DRIVER_OPERATOR_TOKEN"],
        dispatch_operator=dispatch_operator_token,
        dispatch_claims=jwt.decode(dispatch_operator_token, options={"verify_signature": False}),
    )  # fmt: skip
    assigned, declining, second, other = [
        await DriverApp.register(http, suite.urls["driver"], f"Matrix {name}")
        for name in ("assigned", "declining", "second", "other")
    ]
    world.drivers = {
        "assigned": assigned,
        "declining": declining,
        "second": second,
        "other": other,
    }
    world.refresh_token = (
        await http.post(
            f"{suite.urls['driver']}/v1/drivers",
            json={"name": "Refresher", "phone": f"+1702555{uuid.uuid4().int % 10**7:07d}",
                  "vehicle_type": "car"},
        )
    ).json()["tokens"]["refresh_token"]  # fmt: skip
    elsewhere = next(s for s in directory["stores"] if s["mall_id"] != FASHION_SHOW)
    world.ids.update(elsewhere_store=elsewhere["id"], elsewhere_mall=elsewhere["mall_id"])
    matrix: dict[tuple[str, str, str], dict[str, int]] = {}
    by_template = {(r.service, r.method, r.template): r for r in ROWS}

    def row(service: str, method: str, template: str) -> Row:
        return by_template[(service, method, template)]

    storefront_auth = {"Authorization": f"Bearer {suite.storefront_token}"}
    try:
        # The storefront's endpoint hears of the orders below.
        endpoint = expect(
            await http.post(
                f"{suite.urls['order']}/v1/storefront/webhook-endpoints",
                json={"url": webhook_inbox.storefront_endpoint("matrix")},
                headers=storefront_auth,
            ),
            201,
        )
        world.ids["endpoint"] = endpoint["id"]
        for driver in (assigned, declining):
            await driver.go_online(**MALL)
        # An order to cancel, and one to deliver.
        cancel_order, _, cancelled, _ = await an_order_at_its_store(
            storefront, pos_terminals, "89121"
        )
        world.ids["cancel_order"] = cancel_order["id"]
        # Cancelled by its customer below; an operator's cancel of it again changes nothing.
        world.ids["cancelled_shipment"] = cancelled["shipment_id"]
        order, pos, shipment, offer_id = await an_order_at_its_store(
            storefront, pos_terminals, "89123"
        )
        world.ids.update(order=order["id"], pin=order["delivery_pin"], offer_id=offer_id)
        world.ids["tracking"] = order["tracking_token"]
        world.ids["shipment"] = shipment["shipment_id"]
        world.ids["sku"] = shipment["lines"][0]["sku"]
        world.pos = pos
        world.other_pos = next(p for s, p in pos_terminals.items() if s != pos.store_id)
        world.store_retailer = stores[pos.store_id]["retailer_id"]
        world.other_store_retailer = stores[world.other_pos.store_id]["retailer_id"]
        for key in [
            ("catalog", "GET", "/v1/offers/{offer_id}"),
            ("order", "GET", "/v1/orders/{order_id}"),
            ("order", "POST", "/v1/orders/{order_id}/cancel"),
        ]:
            await run_row(world, row(*key), matrix)
        issued = await run_row(
            world, row("order", "POST", "/v1/admin/stores/{store_id}/pos-credentials"), matrix
        )
        credentials = expect(issued, 201)
        world.elsewhere_pos = Pos(
            http,
            suite.urls["order"],
            elsewhere["id"],
            credentials["api_key"],
            credentials["webhook_secret"],
        )
        for key in [
            ("order", "GET", "/v1/retailer/stock/{sku}"),
            ("order", "POST", "/v1/retailer/events"),  # the store accepts the shipment
        ]:
            await run_row(world, row(*key), matrix)
        labels = [f"MTX-{uuid.uuid4().hex[:8].upper()}"]
        assert (await pos.packaged(shipment["shipment_id"], labels))["status"] == "packaged"

        # Both online drivers are offered the route: one declines, the other accepts.
        offer = await eventually(lambda: until_offered(assigned, "89123"), within=60, interval=0)
        await eventually(lambda: until_offered(declining, "89123"), within=30, interval=0)
        # The console offers the route again (a new offer to the same drivers) while it waits.
        world.ids["offered_route"] = await eventually(
            lambda: route_on_offer(world, shipment["shipment_id"]), within=30
        )
        await run_row(world, row("dispatch", "GET", "/v1/console/routes/{route_id}/offers"), matrix)
        await run_row(
            world, row("dispatch", "POST", "/v1/console/routes/{route_id}/reoffer"), matrix
        )
        before = offer["offer_id"]
        offer = await eventually(
            lambda: offered_again(assigned, "89123", before), within=60, interval=0
        )
        await eventually(
            lambda: offered_again(declining, "89123", before, offer["offer_id"]),
            within=30,
            interval=0,
        )
        world.ids["first"] = {"offer_id": offer["offer_id"]}
        await run_row(world, row("driver", "POST", "/v1/offers/{offer_id}/decline"), matrix)
        won = await run_row(world, row("driver", "POST", "/v1/offers/{offer_id}/accept"), matrix)
        await declining.go_offline()
        route = await assigned.route(expect(won, 200)["route_id"])
        pickup, dropoff = stop_of(route, "pickup"), stop_of(route, "dropoff")
        world.ids["first"].update(
            route_id=route["route_id"],
            pickup=pickup["stop_id"],
            dropoff=dropoff["stop_id"],
            pickup_at={"lat": pickup["lat"], "lng": pickup["lng"]},
            dropoff_at={"lat": dropoff["lat"], "lng": dropoff["lng"]},
            labels=labels,
        )
        for key in [
            ("dispatch", "GET", "/v1/dispatch/malls/{mall_id}/pool"),
            ("dispatch", "POST", "/v1/dispatch/malls/{mall_id}/rounds"),
            ("dispatch", "GET", "/v1/dispatch/routes/{route_id}"),
            ("dispatch", "GET", "/v1/dispatch/routes/{route_id}/offers"),
            ("driver", "GET", "/v1/routes/{route_id}"),
            ("driver", "POST", "/v1/routes/{route_id}/stops/{stop_id}/arrive"),
            ("driver", "POST", "/v1/routes/{route_id}/stops/{stop_id}/pickup"),
            ("driver", "POST", "/v1/routes/{route_id}/stops/{stop_id}/deliver"),
        ]:
            await run_row(world, row(*key), matrix)
        # A tip is for a delivered order: once the order service has heard of the delivery.
        await eventually(lambda: storefront.order_in(order["id"], "delivered"), within=30)
        await run_row(world, row("order", "POST", "/v1/orders/{order_id}/tip"), matrix)

        # The shopper's links to the delivered order, and the storefront's view of its webhooks.
        tracked = expect(
            await http.get(f"{suite.urls['order']}/t/{world.ids['tracking']}/status"), 200
        )
        photo = urlsplit(tracked["proof"]["photo_urls"][0])
        world.ids["photo_link"] = f"{photo.path}?{photo.query}"

        async def a_delivered_delivery() -> str | None:
            # A list of deliveries, newest first.
            listed: Any = expect(
                await http.get(
                    f"{suite.urls['order']}/v1/storefront/webhook-deliveries",
                    params={"endpoint_id": world.ids["endpoint"], "status": "delivered"},
                    headers=storefront_auth,
                ),
                200,
            )
            return str(listed[0]["id"]) if listed else None

        world.ids["delivery"] = await eventually(a_delivered_delivery, within=30)
        for key in [
            ("order", "GET", "/t/{token}"),
            ("order", "GET", "/t/{token}/status"),
            ("order", "GET", "/t/assets/{name}"),
            ("driver", "GET", "/v1/proof-photos/{sha256}"),
            ("order", "POST", "/v1/storefront/webhook-endpoints/{endpoint_id}/rotate-secret"),
            ("order", "POST", "/v1/storefront/webhook-endpoints/{endpoint_id}/replay-failed"),
            ("order", "GET", "/v1/storefront/webhook-deliveries/{delivery_id}"),
            ("order", "POST", "/v1/storefront/webhook-deliveries/{delivery_id}/replay"),
            ("order", "DELETE", "/v1/storefront/webhook-endpoints/{endpoint_id}"),
        ]:
            await run_row(world, row(*key), matrix)
        # A guessed tracking token, or a photo link with its signature altered, is refused.
        guessed = await http.get(f"{suite.urls['order']}/t/{uuid.uuid4().hex}")
        link = dict(parse_qsl(photo.query))
        link["signature"] = ("1" if link["signature"][0] == "0" else "0") + link["signature"][1:]
        altered = await http.get(f"{suite.urls['driver']}{photo.path}", params=link)

        # A second route and driver, to fail the delivery and hand the package back.
        await assigned.go_offline()
        await second.go_online(**MALL)
        _, pos2, shipment2, _ = await an_order_at_its_store(storefront, pos_terminals, "89124")
        labels2 = await pack(pos2, shipment2)
        offer2 = await eventually(lambda: until_offered(second, "89124"), within=60, interval=0)
        route2_id = expect(await second.accept(offer2["offer_id"]), 200)["route_id"]
        route2 = await second.route(route2_id)
        await pick_up(second, route2, labels2)
        world.ids["second"] = {
            "route_id": route2_id,
            "dropoff": stop_of(route2, "dropoff")["stop_id"],
        }
        await run_row(
            world, row("driver", "POST", "/v1/routes/{route_id}/stops/{stop_id}/fail"), matrix
        )
        route2 = await second.route(route2_id)
        world.ids["second"]["return"] = stop_of(route2, "return")["stop_id"]
        await run_row(
            world, row("driver", "POST", "/v1/routes/{route_id}/stops/{stop_id}/return"), matrix
        )

        block = expect(
            await http.post(
                f"{suite.urls['driver']}/v1/drivers/me/blocks",
                json={
                    "mall_id": FASHION_SHOW,
                    "starts_at": "2026-11-27T17:00:00+00:00",
                    "hours": 3,
                },
                headers=assigned.auth,
            ),
            201,
        )
        world.ids["block"] = block["id"]
        await run_row(world, row("driver", "DELETE", "/v1/drivers/me/blocks/{block_id}"), matrix)

        # The console and the operator endpoints it goes through; the driver is never online.
        for key in [
            ("order", "POST", "/v1/admin/shipments/{shipment_id}/cancel"),
            ("driver", "POST", "/v1/admin/drivers/{driver_id}/offline"),
            ("dispatch", "GET", "/v1/console/malls/{mall_id}/board"),
            ("dispatch", "GET", "/v1/console/malls/{mall_id}/stream"),
            ("dispatch", "POST", "/v1/console/malls/{mall_id}/rounds"),
            ("dispatch", "POST", "/v1/console/malls/{mall_id}/pause"),
            ("dispatch", "POST", "/v1/console/malls/{mall_id}/resume"),
            ("dispatch", "GET", "/v1/console/malls/{mall_id}/actions"),
            ("dispatch", "POST", "/v1/console/shipments/{shipment_id}/cancel"),
            ("dispatch", "POST", "/v1/console/drivers/{driver_id}/offline"),
        ]:
            await run_row(world, row(*key), matrix)
    finally:
        # Drivers left online near the mall would be offered the next test's routes.
        for driver in (assigned, declining, second):
            await driver.go_offline()

    printed = "ACCESS MATRIX (status received per caller)\n" + render(matrix)
    print("\n" + printed)
    # Also kept, since pytest shows a passing test's output only with -s.
    (ROOT / ".local" / "access-matrix.txt").write_text(printed + "\n")
    wrong = [
        f"{service} {method} {template}: {caller} got {got}, expected {expected(r, caller)}"
        for (service, method, template), statuses in matrix.items()
        for r in [by_template[(service, method, template)]]
        for caller, got in statuses.items()
        if got != expected(r, caller)
    ]
    assert wrong == [], "\n".join(wrong)
    assert guessed.status_code == 404, guessed.text
    assert altered.status_code == 403, altered.text
    assert set(matrix) == rows
    assert all(403 not in statuses.values() for statuses in matrix.values())
