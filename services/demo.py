"""`make demo`: a simulated same-day at the four pilot malls, against a private copy of the suite.

It starts the four services (own databases, topics and ports) on a compressed clock, seeds the
catalog, and plays customers (browse, ask for a quote, pick a delivery window: about a third want
this evening's slot, the rest as soon as possible, and take the next window when their first
choice is full; check out, follow their order), a POS per store (pull new orders, accept, pack,
report packaged with labels over signed webhooks) and drivers (go online, long-poll offers,
accept, drive the route at the travel model's speed, wait for a drop-off's window to open, scan
labels, deliver with photo, position and PIN). Every customer-facing response goes through the
leak scanner. At the end: a table per mall, pictures in the output folder, and the SUMMARY line,
last.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import random
import secrets
import sys
import time
import uuid
from collections import Counter
from collections.abc import Awaitable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import jwt
from aiokafka.admin import AIOKafkaAdminClient
from aiokafka.errors import KafkaError
from standardwebhooks import Webhook

from services import demo_charts
from services.demo_baseline import (
    BaselineDriver,
    BaselineOrder,
    BaselineResult,
    ServiceTimes,
    one_order_per_trip,
)
from services.demo_report import (
    CONVENTIONS,
    Figures,
    OrderOutcome,
    Pay,
    RouteOutcome,
    figures,
    mall_table,
    summarize,
    summary_line,
)
from services.demo_world import Customer, Driver, along, make_customers, make_drivers
from services.leaks import LeakScanner
from services.suite import ROOT, Suite
from shared.clock import Clock, clock, now, set_clock
from shared.events import topics
from shared.geo import Point, TravelModel
from shared.malls import pilot_malls

# Wednesday 19:00 UTC: 11:00 in Las Vegas, 14:00 in Tysons; every pilot mall is open for hours.
DEFAULT_START = "2026-11-25T19:00:00+00:00"
TERMINAL = frozenset({"delivered", "cancelled", "rejected_by_store", "returned_to_store"})
PICKUP_SERVICE_S = 60
DELIVERY_SERVICE_S = 180
TRAVEL = TravelModel(road_factor=1.3, average_speed_kmh=40.0)
# Real seconds between a moving driver's positions: each one is an event every service reads.
DRIVER_TICK_S = 4.0
# A tiny valid JPEG header is enough for "a photo": the driver service stores the bytes.
PROOF_PHOTO = bytes.fromhex("ffd8ffe000104a46494600010100000100010000ffd9")
# Shoppers who want tonight's delivery pick the first slot opening at or after this local hour.
EVENING_HOUR = 17
EVENING_SHARE = 1 / 3


@dataclass(frozen=True)
class Options:
    customers: int
    demand: float
    stores_per_mall: int
    drivers_per_mall: int
    skus: int
    ordering_hours: float
    speed: float
    start: datetime
    batch_minutes: float
    prep_minutes: tuple[float, float]
    max_drain_hours: float
    seed: int
    out: Path
    base_port: int


def parse_options(argv: list[str] | None = None) -> Options:
    p = argparse.ArgumentParser(prog="python -m services.demo", description=__doc__)
    p.add_argument("--customers", type=int, default=100, help="shoppers (all malls)")
    p.add_argument(
        "--demand",
        type=float,
        default=1.0,
        help="multiplies the shoppers over the same hours, with the same fleet (2: twice)",
    )
    p.add_argument("--stores-per-mall", type=int, default=6)
    p.add_argument("--drivers-per-mall", type=int, default=6)
    p.add_argument("--skus", type=int, default=150)
    p.add_argument("--ordering-hours", type=float, default=0.75, help="simulated hours of orders")
    p.add_argument("--speed", type=float, default=20.0, help="simulated seconds per real second")
    p.add_argument("--start", default=DEFAULT_START, help="simulated start (ISO 8601)")
    p.add_argument(
        "--batch-minutes", type=float, default=10.0, help="dispatch's batching round interval"
    )
    p.add_argument("--prep-min", type=float, default=2.0, help="fastest store packing, minutes")
    p.add_argument("--prep-max", type=float, default=6.0, help="slowest store packing, minutes")
    p.add_argument(
        "--max-drain-hours",
        type=float,
        default=0.65,
        help="simulated hours to wait after the last order for deliveries",
    )
    p.add_argument("--seed", type=int, default=7)
    p.add_argument("--out", type=Path, default=Path("out/demo"))
    p.add_argument("--base-port", type=int, default=18100)
    a = p.parse_args(argv)
    if (
        a.customers < 1
        or a.demand <= 0
        or a.drivers_per_mall < 1
        or a.speed <= 0
        or a.prep_min > a.prep_max
    ):
        p.error(
            "need customers >= 1, demand > 0, drivers-per-mall >= 1, speed > 0,"
            " prep-min <= prep-max"
        )
    return Options(
        customers=max(1, round(a.customers * a.demand)),
        demand=a.demand,
        stores_per_mall=a.stores_per_mall,
        drivers_per_mall=a.drivers_per_mall,
        skus=a.skus,
        ordering_hours=a.ordering_hours,
        speed=a.speed,
        start=datetime.fromisoformat(a.start),
        batch_minutes=a.batch_minutes,
        prep_minutes=(a.prep_min, a.prep_max),
        max_drain_hours=a.max_drain_hours,
        seed=a.seed,
        out=a.out,
        base_port=a.base_port,
    )


def say(message: str) -> None:
    print(f"[demo] {message}", file=sys.stderr, flush=True)


@dataclass
class PlacedOrder:
    order_id: str
    token: str
    mall_id: str
    point: Point
    pin: str | None
    view: dict[str, Any]
    # Placed in a later window than the shopper's first choice.
    is_later_window: bool = False

    @property
    def status(self) -> str:
        return str(self.view["status"])

    @property
    def deliver_by(self) -> datetime:
        return datetime.fromisoformat(self.view["deliver_by"])

    @property
    def window_opens(self) -> datetime:
        return datetime.fromisoformat(self.view["window"]["starts_at"])


@dataclass(frozen=True)
class Choice:
    window_id: str
    is_later: bool


def choose_window(
    windows: list[dict[str, Any]], wants_evening: bool, listed_by: datetime
) -> Choice | None:
    """The shopper's first choice when the quote has it, else the next window after it."""
    if not windows:
        return None
    starts = [datetime.fromisoformat(w["starts_at"]) for w in windows]
    ends = [datetime.fromisoformat(w["ends_at"]) for w in windows]
    today = ends[0].date() if windows[0]["is_today"] else None
    if wants_evening:
        evening = [
            i
            for i, w in enumerate(windows)
            if w["kind"] == "scheduled" and starts[i].hour >= EVENING_HOUR
        ]
        if not evening:
            return Choice(windows[-1]["id"], is_later=True)
        first = evening[0]
        return Choice(windows[first]["id"], is_later=ends[first].date() != today)
    # As soon as possible: the listing's promise, or the first window after it.
    return Choice(windows[0]["id"], is_later=ends[0] > listed_by)


@dataclass
class DrivenRoute:
    route_id: str
    driver_id: str
    mall_id: str
    meters: float = 0.0
    # Simulated seconds of the drive back towards the mall before this route was accepted.
    returning_seconds: float = 0.0
    view: dict[str, Any] | None = None
    errors: list[str] = field(default_factory=list)


@dataclass
class DriverRecord:
    driver: Driver
    driver_id: str = ""
    access: str = ""
    refresh: str = ""


class Demo:
    def __init__(self, options: Options, suite: Suite, http: httpx.AsyncClient) -> None:
        self.o = options
        self.suite = suite
        self.http = http
        self.scanner = LeakScanner()
        self.orders: dict[str, PlacedOrder] = {}
        self.pins: dict[tuple[float, float], str] = {}
        self.routes: list[DrivenRoute] = []
        self.drivers: list[DriverRecord] = []
        self.counts: Counter[str] = Counter()
        self.problems: Counter[str] = Counter()
        self.customers_done = 0
        self.turned_away = 0
        self.order_gate = asyncio.Semaphore(8)
        # The stores' own: a store's POS does not queue behind the shoppers' calls in the demo's
        # client (on a busy machine they held it long enough for orders to expire unaccepted).
        self.store_gate = asyncio.Semaphore(8)
        # Shoppers who want tonight's slot (the rest want it as soon as possible).
        self.evening_share = EVENING_SHARE
        self.operator_token = ""
        self.directory: dict[str, Any] = {}
        # On the suite's clock: when the shoppers start, and when the demo stopped its shoppers,
        # stores and drivers (nothing moves after it, whatever the clock says).
        self.day_started_at = options.start
        self.stopped_at: datetime | None = None
        # Drop-off point -> order, and the orders a driver handed over: the order service hears
        # of a delivery through its events, which a busy machine delays.
        self.order_at: dict[tuple[float, float], str] = {}
        self.handed_over: set[str] = set()

    # --- helpers --------------------------------------------------------------------------

    def url(self, service: str, path: str) -> str:
        return f"{self.suite.urls[service]}{path}"

    def real(self, simulated_seconds: float) -> float:
        return simulated_seconds / self.o.speed

    @property
    def day_ends_at(self) -> datetime:
        """The simulated day: ordering, then the drain, from the first shopper's turn (the
        suite's clock already ran while the suite started)."""
        return self.day_started_at + timedelta(hours=self.o.ordering_hours + self.o.max_drain_hours)

    def note(self, what: str, response: httpx.Response | None = None) -> None:
        key = what if response is None else f"{what}: HTTP {response.status_code}"
        if response is not None and response.status_code >= 400:
            with contextlib.suppress(ValueError):
                key += f" {response.json().get('code', '')}"
        self.problems[key] += 1

    async def order_request(
        self, method: str, path: str, *, by_store: bool = False, **kwargs: Any
    ) -> httpx.Response:
        # A few calls at a time: on a busy machine more only queue for the service's DB pool.
        async with self.store_gate if by_store else self.order_gate:
            return await self.http.request(method, self.url("order", path), **kwargs)

    def customer_token(self, customer_id: str) -> str:
        # The demo plays the sign-in provider: the order service checks iat/exp on the wall clock.
        now = datetime.now(UTC)
        claims = {
            "sub": customer_id,
            "role": "customer",
            "iat": int(now.timestamp()),
            "exp": int((now + timedelta(hours=2)).timestamp()),
        }
        return jwt.encode(claims, self.suite.env["ORDER_JWT_SECRET"], algorithm="HS256")

    # --- setup ----------------------------------------------------------------------------

    async def load_directory(self) -> None:
        response = await self.http.get(
            self.url("catalog", "/v1/stores"),
            headers={"Authorization": f"Bearer {self.suite.env['CATALOG_INTERNAL_TOKEN']}"},
        )
        response.raise_for_status()
        self.directory = response.json()
        self.scanner.add(
            value
            for mall in self.directory["malls"]
            for value in (mall["id"], mall["name"], mall["address"])
        )
        self.scanner.add(
            value
            for store in self.directory["stores"]
            for value in (
                store["id"],
                store["name"],
                store["address"],
                store["phone"],
                store["retailer_id"],
                store["retailer_name"],
            )
        )

    async def operator_token_for_dispatch(self) -> None:
        output = await asyncio.to_thread(
            self.suite.run_dev, "dispatch_service.dev", "token", "--subject", "demo"
        )
        self.operator_token = output.strip()

    def show_console(self) -> None:
        """Where to watch the day live; the token goes to a file, not the terminal's history."""
        self.o.out.mkdir(parents=True, exist_ok=True)
        token_file = self.o.out / "console-token.txt"
        token_file.write_text(self.operator_token + "\n")
        token_file.chmod(0o600)
        say(
            f"operator console (live while the demo runs): {self.suite.console_url()}  "
            f"sign in with the token in {token_file}"
        )

    async def pos_credentials(self, store_id: str) -> dict[str, Any]:
        response = await self.order_request(
            "POST",
            f"/v1/admin/stores/{store_id}/pos-credentials",
            headers={"Authorization": f"Bearer {self.suite.env['ORDER_OPERATOR_TOKEN']}"},
        )
        response.raise_for_status()
        result: dict[str, Any] = response.json()
        return result

    # --- customers ------------------------------------------------------------------------

    async def customer(self, c: Customer, t0: float) -> None:
        try:
            await asyncio.sleep(max(0.0, t0 + self.real(c.arrives_after_s) - time.monotonic()))
            await self.shop(c)
        except httpx.HTTPError as error:
            self.note(f"customer {type(error).__name__}")
        finally:
            self.customers_done += 1

    async def shop(self, c: Customer) -> None:
        rng = random.Random(self.o.seed * 100_003 + c.index)
        customer_id = f"demo-customer-{c.index:04d}"
        auth = {"Authorization": f"Bearer {self.customer_token(customer_id)}"}
        wants_evening = rng.random() < self.evening_share
        browse = await self.http.get(
            self.url("catalog", "/v1/catalog/same-day"),
            params={"lat": c.point.lat, "lng": c.point.lng, "limit": 30},
        )
        self.scanner.check(browse, "GET /v1/catalog/same-day")
        if browse.status_code != 200:
            self.note("browse", browse)
            return
        items: list[dict[str, Any]] = browse.json()["items"]
        if not items:
            self.counts[f"no_same_day_offer ({browse.json()['reason']})"] += 1
            self.turned_away += 1
            return
        address = {
            "line1": f"{100 + c.index} Demo Lane",
            "city": "Demo City",
            "region": "NA",
            "postal_code": f"{10000 + c.index}",
            "lat": c.point.lat,
            "lng": c.point.lng,
            "instructions": "Leave at the door",
        }
        choice: Choice | None = None
        for _ in range(3):
            picks = rng.sample(items, k=min(len(items), rng.choice((1, 1, 2))))
            lines = [{"offer_id": p["offer_id"], "quantity": 1} for p in picks]
            quote = await self.order_request(
                "POST", "/v1/quotes", headers=auth, json={"lines": lines, "address": address}
            )
            self.scanner.check(quote, "POST /v1/quotes")
            if quote.status_code != 201:
                self.note("quote", quote)
                if quote.status_code not in (409, 422):
                    return
                items = [i for i in items if i not in picks]
                if not items:
                    return
                continue
            listed_by = max(datetime.fromisoformat(p["deliver_by"]) for p in picks)
            choice = choose_window(quote.json()["windows"], wants_evening, listed_by)
            if choice is None:
                self.counts["no_window_today_or_tomorrow"] += 1
                self.turned_away += 1
                return
            checkout = await self.order_request(
                "POST",
                "/v1/checkout",
                headers={**auth, "Idempotency-Key": str(uuid.uuid4())},
                json={
                    "lines": lines,
                    "address": address,
                    "contact": {"name": f"Demo Customer{c.index}", "phone": "+15550100"},
                    "quote_id": quote.json()["id"],
                    "window_id": choice.window_id,
                },
            )
            self.scanner.check(checkout, "POST /v1/checkout")
            if checkout.status_code == 201:
                break
            self.note("checkout", checkout)
            if checkout.status_code not in (409, 422):
                return
            # A window that just filled: quote again for the same items; else drop them.
            if checkout.json().get("code") != "window_full":
                items = [i for i in items if i not in picks]
                if not items:
                    return
        else:
            return
        assert choice is not None
        self.counts["window_" + ("later" if choice.is_later else "first_choice")] += 1
        view = checkout.json()
        order = PlacedOrder(
            order_id=view["id"],
            token=auth["Authorization"],
            mall_id=c.mall.id,
            point=c.point,
            pin=view.get("delivery_pin"),
            view=view,
            is_later_window=choice.is_later,
        )
        self.orders[order.order_id] = order
        self.order_at[(round(c.point.lat, 5), round(c.point.lng, 5))] = order.order_id
        if order.pin is not None:
            self.pins[(round(c.point.lat, 5), round(c.point.lng, 5))] = order.pin
        await self.read_order(order)

    async def read_order(self, order: PlacedOrder) -> None:
        response = await self.order_request(
            "GET",
            f"/v1/orders/{order.order_id}",
            headers={"Authorization": order.token},
        )
        self.scanner.check(response, "GET /v1/orders/{id}")
        if response.status_code == 200:
            order.view = response.json()
        else:
            self.note("read order", response)

    async def follow_orders(self, every_real_s: float) -> None:
        """Customers look at their open orders now and then, as the app would refresh."""
        # Two at a time: a sweep over every open order must not hold the shoppers' gate for
        # long on a busy machine (their quotes expired waiting behind it).
        gate = asyncio.Semaphore(2)

        async def one(order: PlacedOrder) -> None:
            async with gate:
                with contextlib.suppress(httpx.HTTPError):
                    await self.read_order(order)

        while True:
            await asyncio.sleep(every_real_s)
            open_orders = [o for o in self.orders.values() if o.status not in TERMINAL]
            await asyncio.gather(*(one(o) for o in open_orders))

    # --- stores ---------------------------------------------------------------------------

    async def pos(self, store: dict[str, Any], credentials: dict[str, Any], poll_s: float) -> None:
        api_key = {"X-API-Key": credentials["api_key"]}
        signer = Webhook(credentials["webhook_secret"])
        rng = random.Random(f"{self.o.seed}:{store['id']}")
        handled: set[str] = set()
        working: set[asyncio.Task[None]] = set()
        while True:
            try:
                response = await self.order_request(
                    "GET",
                    "/v1/retailer/orders",
                    by_store=True,
                    params={"status": "new"},
                    headers=api_key,
                )
                if response.status_code != 200:
                    self.note("pos list", response)
                for shipment in response.json() if response.status_code == 200 else []:
                    if shipment["shipment_id"] in handled:
                        continue
                    handled.add(shipment["shipment_id"])
                    prep = rng.uniform(*self.o.prep_minutes) * 60
                    task = asyncio.create_task(self.fill(api_key, signer, shipment, prep))
                    working.add(task)
                    task.add_done_callback(working.discard)
            except httpx.HTTPError as error:
                self.note(f"pos {type(error).__name__}")
            await asyncio.sleep(poll_s)

    async def fill(
        self,
        api_key: dict[str, str],
        signer: Webhook,
        shipment: dict[str, Any],
        prep_seconds: float,
    ) -> None:
        """A store's part of an order: accept it, pack it, report it packaged with its labels."""
        shipment_id = shipment["shipment_id"]
        accepted = {"type": "accepted", "shipment_id": shipment_id}
        if not await self.pos_event(api_key, signer, accepted):
            return
        await clock().sleep(prep_seconds)
        packages = max(1, min(len(shipment["lines"]), 3))
        short = shipment_id.replace("-", "")[:12].upper()
        labels = [f"PKG{short}{n + 1:02d}" for n in range(packages)]
        await self.pos_event(
            api_key,
            signer,
            {
                "type": "packaged",
                "shipment_id": shipment_id,
                "labels": labels,
                "package_count": packages,
            },
        )

    async def pos_event(
        self, api_key: dict[str, str], signer: Webhook, event: dict[str, Any]
    ) -> bool:
        body = json.dumps(event)
        message_id = f"msg_{uuid.uuid4().hex}"
        # Standard Webhooks timestamps are checked against the wall clock, whatever the suite's.
        signed_at = datetime.now(UTC)
        try:
            response = await self.order_request(
                "POST",
                "/v1/retailer/events",
                by_store=True,
                content=body.encode(),
                headers={
                    **api_key,
                    "content-type": "application/json",
                    "webhook-id": message_id,
                    "webhook-timestamp": str(int(signed_at.timestamp())),
                    "webhook-signature": signer.sign(message_id, signed_at, body),
                },
            )
        except httpx.HTTPError as error:
            self.note(f"pos event {type(error).__name__}")
            return False
        if response.status_code == 409 and _problem_code(response) == "webhook_replayed":
            # A retry of this very message after its answer was lost: it was received.
            self.counts[f"pos_{event['type']}_replayed"] += 1
            return True
        if response.status_code != 200:
            self.note(f"pos {event['type']}", response)
            return False
        self.counts[f"pos_{event['type']}"] += 1
        return True

    # --- drivers --------------------------------------------------------------------------

    async def driver_call(
        self, record: DriverRecord, method: str, path: str, **kwargs: Any
    ) -> httpx.Response:
        """One driver-app request; an expired access token is refreshed once and retried."""
        for attempt in range(2):
            headers = {**kwargs.pop("headers", {}), "Authorization": f"Bearer {record.access}"}
            response = await self.http.request(
                method, self.url("driver", path), headers=headers, **kwargs
            )
            if response.status_code != 401 or attempt:
                return response
            refreshed = await self.http.post(
                self.url("driver", "/v1/auth/token"), json={"refresh_token": record.refresh}
            )
            if refreshed.status_code != 200:
                return response
            tokens = refreshed.json()
            record.access, record.refresh = tokens["access_token"], tokens["refresh_token"]
        raise AssertionError("unreachable")

    async def send_position(self, record: DriverRecord, at: Point) -> None:
        response = await self.driver_call(
            record, "POST", "/v1/drivers/me/location", json={"lat": at.lat, "lng": at.lng}
        )
        if response.status_code not in (200, 429):
            self.note("location", response)

    async def register(self, record: DriverRecord) -> None:
        d = record.driver
        response = await self.http.post(
            self.url("driver", "/v1/drivers"),
            json={
                "name": f"Demo Driver {d.index + 1}",
                "phone": f"+1702555{d.index:04d}",
                "vehicle_type": "car",
            },
        )
        response.raise_for_status()
        body = response.json()
        record.driver_id = body["driver"]["id"]
        record.access = body["tokens"]["access_token"]
        record.refresh = body["tokens"]["refresh_token"]
        online = await self.driver_call(
            record,
            "POST",
            "/v1/drivers/me/online",
            json={"location": {"lat": d.home.lat, "lng": d.home.lng}},
        )
        online.raise_for_status()

    async def drive_driver(self, record: DriverRecord, tick_s: float, refresh_s: float) -> None:
        """Waits for offers (long polls), takes the first it can, drives it; between routes it
        heads back to its mall and keeps its position fresh for dispatch."""
        position = record.driver.home
        etag: str | None = None
        # The drive back towards the mall counts towards the next route, as the baseline counts
        # the drive from its previous drop-off to the next pickup; after a driver's last route,
        # like the baseline's last trip, it counts nowhere.
        returning_meters = 0.0
        last_step = last_sent = time.monotonic()
        while True:
            try:
                headers = {"If-None-Match": etag} if etag else {}
                polled = await self.driver_call(
                    record,
                    "GET",
                    "/v1/drivers/me/offers",
                    params={"wait": tick_s},
                    headers=headers,
                )
                offers = polled.json()["offers"] if polled.status_code == 200 else []
                route_id = None
                for offer in offers:
                    accepted = await self.driver_call(
                        record, "POST", f"/v1/offers/{offer['offer_id']}/accept"
                    )
                    if accepted.status_code == 200:
                        route_id = accepted.json()["route_id"]
                        break
                    self.note("accept", accepted)
                if route_id is not None:
                    etag = None
                    route = DrivenRoute(
                        route_id,
                        record.driver_id,
                        record.driver.mall.id,
                        meters=returning_meters,
                        returning_seconds=TRAVEL.seconds_for_meters(returning_meters),
                    )
                    returning_meters = 0.0
                    self.routes.append(route)
                    position = await self.run_route(record, route, position, tick_s)
                    last_step = last_sent = time.monotonic()
                    continue
                etag = polled.headers.get("etag") if offers else None
                now = time.monotonic()
                position, meters = self.towards_home(record, position, now - last_step)
                last_step = now
                returning_meters += meters
                if meters > 0 or now - last_sent >= refresh_s:
                    await self.send_position(record, position)
                    last_sent = now
            except httpx.HTTPError as error:
                self.note(f"driver {type(error).__name__}")
                await asyncio.sleep(tick_s)

    def towards_home(
        self, record: DriverRecord, position: Point, real_seconds: float
    ) -> tuple[Point, float]:
        """Idle drivers drive back towards their mall, to be near the next route's pickups."""
        home = record.driver.home
        remaining = TRAVEL.road_meters(position, home)
        if remaining < 50:
            return position, 0.0
        moved = min(remaining, TRAVEL.average_speed_kmh / 3.6 * real_seconds * self.o.speed)
        return along(position, home, moved / remaining), moved

    async def move(self, record: DriverRecord, start: Point, end: Point, tick_s: float) -> float:
        real_total = self.real(TRAVEL.travel_seconds(start, end))
        began = time.monotonic()
        while True:
            fraction = (time.monotonic() - began) / real_total if real_total > 0 else 1.0
            await self.send_position(record, along(start, end, fraction))
            if fraction >= 1.0:
                return TRAVEL.road_meters(start, end)
            await asyncio.sleep(min(tick_s, real_total * (1 - fraction)) + 0.01)

    async def run_route(
        self, record: DriverRecord, route: DrivenRoute, position: Point, tick_s: float
    ) -> Point:
        path = f"/v1/routes/{route.route_id}"
        view = (await self.driver_call(record, "GET", path)).json()
        while True:
            pending = sorted(
                (s for s in view["stops"] if s["status"] == "pending"), key=lambda s: s["sequence"]
            )
            if not pending:
                break
            stop = pending[0]
            target = Point(stop["lat"], stop["lng"])
            route.meters += await self.move(record, position, target, tick_s)
            position = target
            step = f"{path}/stops/{stop['stop_id']}"
            here = {"lat": target.lat, "lng": target.lng}
            if stop["kind"] == "pickup":
                arrived = await self.driver_call(
                    record, "POST", f"{step}/arrive", json={"position": here}
                )
                if arrived.status_code != 200:
                    self.note("arrive", arrived)
                await clock().sleep(PICKUP_SERVICE_S)
                response = await self.driver_call(
                    record, "POST", f"{step}/pickup", json={"barcodes": stop["labels"]}
                )
            elif stop["kind"] == "dropoff":
                opens = _at(stop.get("deliver_from"))
                if opens is not None and opens > clock().now():
                    # Early for the customer's window: the driver waits at the door.
                    await clock().sleep((opens - clock().now()).total_seconds())
                await clock().sleep(DELIVERY_SERVICE_S)
                pin = self.pins.get((round(target.lat, 5), round(target.lng, 5)))
                response = await self.driver_call(
                    record,
                    "POST",
                    f"{step}/deliver",
                    data={"lat": str(target.lat), "lng": str(target.lng)}
                    | ({"pin": pin} if pin else {}),
                    files={"photo": ("proof.jpg", PROOF_PHOTO, "image/jpeg")},
                )
            else:
                response = await self.driver_call(record, "POST", f"{step}/return")
            if response.status_code != 200:
                view = (await self.driver_call(record, "GET", path)).json()
                if _stop_status(view, stop["stop_id"]) != "pending":
                    # An earlier try went through and only its answer was lost: go on.
                    self.counts[f"driver_{stop['kind']}_already_done"] += 1
                    continue
                self.note(f"{stop['kind']} step", response)
                route.errors.append(f"{stop['kind']}: {response.status_code}")
                # A step the service refuses will not succeed on retry: leave the route.
                break
            view = response.json()
            self.counts[f"driver_{stop['kind']}"] += 1
            if stop["kind"] == "dropoff":
                handed = self.order_at.get((round(target.lat, 5), round(target.lng, 5)))
                if handed is not None:
                    self.handed_over.add(handed)
        route.view = (await self.driver_call(record, "GET", path)).json()
        return position

    # --- the run --------------------------------------------------------------------------

    def progress(self, total_customers: int) -> str:
        delivered = sum(o.status == "delivered" for o in self.orders.values())
        placed = len(self.orders)
        done = self.customers_done / total_customers
        width = 30
        bar = "#" * int(width * done) + "." * (width - int(width * done))
        simulated = clock().now()
        return (
            f"\r[demo] [{bar}] ~{simulated:%H:%M}Z shoppers {self.customers_done}/"
            f"{total_customers} orders {placed} delivered {delivered} routes {len(self.routes)}  "
        )

    async def run(self, customers: list[Customer], drivers: list[Driver]) -> None:
        await self.load_directory()
        await self.operator_token_for_dispatch()
        self.show_console()
        stores = [s for s in self.directory["stores"] if s["is_active"]]
        credentials = await asyncio.gather(*(self.pos_credentials(s["id"]) for s in stores))
        self.drivers = [DriverRecord(d) for d in drivers]
        await asyncio.gather(*(self.register(r) for r in self.drivers))
        say(
            f"{len(stores)} stores with POS credentials, {len(self.drivers)} drivers online, "
            f"{len(customers)} shoppers over {self.o.ordering_hours:g} simulated hours"
        )
        background: list[asyncio.Task[None]] = [
            asyncio.create_task(self.pos(s, c, poll_s=3.0))
            for s, c in zip(stores, credentials, strict=True)
        ]
        background += [
            asyncio.create_task(self.drive_driver(r, tick_s=DRIVER_TICK_S, refresh_s=15.0))
            for r in self.drivers
        ]
        background.append(asyncio.create_task(self.follow_orders(every_real_s=30.0)))
        t0 = time.monotonic()
        self.day_started_at = clock().now()
        shoppers = [asyncio.create_task(self.customer(c, t0)) for c in customers]
        all_shopped = asyncio.gather(*shoppers)
        # Cancelled with its shoppers at the stop: retrieved here, not printed as never retrieved.
        all_shopped.add_done_callback(lambda f: f.cancelled() or f.exception())
        drain_until = t0 + self.real((self.o.ordering_hours + self.o.max_drain_hours) * 3600)
        try:
            while True:
                print(self.progress(len(customers)), end="", file=sys.stderr, flush=True)
                # Orders promised for after the day are not waited for: they are later work.
                finished = all_shopped.done() and all(
                    o.status in TERMINAL or o.window_opens >= self.day_ends_at
                    for o in self.orders.values()
                )
                if finished or time.monotonic() > drain_until:
                    break
                await asyncio.sleep(1.0)
        finally:
            self.stopped_at = clock().now()
            print(file=sys.stderr)
            for task in [*background, *shoppers]:
                task.cancel()
            await asyncio.gather(*background, *shoppers, return_exceptions=True)
        if not all(o.status in TERMINAL for o in self.orders.values()):
            say("stopped waiting: the drain time ran out with orders still open")

    # --- results --------------------------------------------------------------------------

    async def await_deliveries_heard(self, real_seconds: float) -> None:
        """Until the order service shows every order a driver handed over as delivered (its
        record keeps the driver's time), or `real_seconds` pass: on a busy machine its events
        arrive late, and the results must not count a delivered order as still on its way."""
        deadline = time.monotonic() + real_seconds
        waiting = [self.orders[i] for i in sorted(self.handed_over)]
        while waiting and time.monotonic() < deadline:
            for order in waiting:
                with contextlib.suppress(httpx.HTTPError):
                    await self.read_order(order)
            waiting = [o for o in waiting if o.status not in TERMINAL]
            if waiting:
                await asyncio.sleep(2.0)
        if waiting:
            say(f"{len(waiting)} handed-over orders not yet shown delivered; judged as they stand")

    async def dispatch_route(self, route_id: str) -> tuple[dict[str, Any], dict[str, Any]]:
        auth = {"Authorization": f"Bearer {self.operator_token}"}
        route = await self.http.get(
            self.url("dispatch", f"/v1/dispatch/routes/{route_id}"), headers=auth
        )
        offers = await self.http.get(
            self.url("dispatch", f"/v1/dispatch/routes/{route_id}/offers"), headers=auth
        )
        return (
            route.json() if route.status_code == 200 else {},
            offers.json() if offers.status_code == 200 else {},
        )

    async def earnings(self, record: DriverRecord) -> Pay:
        response = await self.driver_call(
            record,
            "GET",
            "/v1/drivers/me/earnings",
            params={"period": "week", "day": self.o.start.date().isoformat()},
        )
        if response.status_code != 200:
            self.note("earnings", response)
            return Pay(0, 0)
        totals = response.json()["totals"]
        return Pay(int(totals["total_cents"]), round(float(totals["worked_minutes"]) * 60))


def _problem_code(response: httpx.Response) -> str:
    try:
        return str(response.json().get("code", ""))
    except ValueError:
        return ""


def _stop_status(route_view: dict[str, Any], stop_id: str) -> str:
    return next((s["status"] for s in route_view.get("stops", []) if s["stop_id"] == stop_id), "")


def _at(value: str | None) -> datetime | None:
    return datetime.fromisoformat(value) if value else None


def offer_accept_seconds(log_view: dict[str, Any]) -> float | None:
    """From the route's first offer to the accept that won it, on dispatch's clock."""
    rounds = log_view.get("rounds") or []
    if not rounds:
        return None
    first = min(_at(r["created_at"]) or datetime.max.replace(tzinfo=UTC) for r in rounds)
    answers = [
        _at(v["answered_at"])
        for r in rounds
        for v in r["shown_to"]
        if v["answer"] == "accepted" and v["answered_at"]
    ]
    accepted = min((a for a in answers if a is not None), default=None)
    return None if accepted is None else (accepted - first).total_seconds()


def order_outcome(
    order: PlacedOrder, day_ends_at: datetime, *, stopped_at: datetime | None = None
) -> OrderOutcome:
    """The order as judged when the demo stopped its actors (`stopped_at`; now if not given):
    reading the results back takes minutes of the suite's clock while nobody drives."""
    timeline = order.view.get("timeline", [])
    delivered = [_at(e["at"]) for e in timeline if e["status"] == "delivered"]
    placed_at = datetime.fromisoformat(order.view["placed_at"])
    window_start = _at(order.view.get("window", {}).get("starts_at"))
    return OrderOutcome(
        order_id=order.order_id,
        mall_id=order.mall_id,
        status=order.status,
        placed_at=placed_at,
        deliver_by=order.deliver_by,
        delivered_at=delivered[-1] if delivered else None,
        observed_at=stopped_at or now(),
        # An as-soon-as-possible window opens when the order is placed: no lower bound.
        window_start=window_start if window_start and window_start > placed_at else None,
        day_ends_at=day_ends_at,
        is_later_window=order.is_later_window,
    )


def ready_at(order: PlacedOrder) -> datetime:
    packed = [_at(e["at"]) for e in order.view.get("timeline", []) if e["status"] == "packaged"]
    found = [p for p in packed if p is not None]
    return found[0] if found else datetime.fromisoformat(order.view["placed_at"])


async def collect(demo: Demo) -> list[str]:
    """Reads what the services recorded, computes the figures, draws; returns the report."""
    o = demo.o
    gate = asyncio.Semaphore(8)

    async def limited(call: Awaitable[Any]) -> Any:
        async with gate:
            return await call

    await demo.await_deliveries_heard(real_seconds=120.0)
    await asyncio.gather(*(limited(demo.read_order(order)) for order in demo.orders.values()))
    dispatch_views = await asyncio.gather(
        *(limited(demo.dispatch_route(r.route_id)) for r in demo.routes)
    )
    pays = await asyncio.gather(*(limited(demo.earnings(r)) for r in demo.drivers))

    outcomes = [
        order_outcome(order, demo.day_ends_at, stopped_at=demo.stopped_at)
        for order in demo.orders.values()
    ]
    delivered_ids = {x.order_id for x in outcomes if x.is_delivered}
    # order -> shipment -> (sequence, store point): a shipment counts once, whatever re-planning.
    pickups: dict[str, dict[str, tuple[int, Point]]] = {}
    route_outcomes: list[RouteOutcome] = []
    for route, (planned, offer_log) in zip(demo.routes, dispatch_views, strict=True):
        for stop in planned.get("stops", []):
            if stop["kind"] == "pickup":
                pickups.setdefault(stop["order_id"], {})[stop["shipment_id"]] = (
                    stop["sequence"],
                    Point(stop["lat"], stop["lng"]),
                )
        view = route.view or {}
        stops = view.get("stops", [])
        floor = int(view.get("hourly_floor_cents") or 0)
        wait_cents = sum(int(s["wait_pay_cents"]) for s in stops if s["kind"] == "pickup")
        route_outcomes.append(
            RouteOutcome(
                route_id=route.route_id,
                driver_id=route.driver_id,
                mall_id=route.mall_id,
                accepted_at=_at(view.get("accepted_at")) or o.start,
                completed_at=_at(view.get("completed_at")),
                driven_meters=route.meters,
                returning_seconds=route.returning_seconds,
                offer_accept_seconds=offer_accept_seconds(offer_log),
                paid_wait_minutes=wait_cents * 60 / floor if floor else 0.0,
            )
        )
    baseline_orders = [
        BaselineOrder(
            order_id=order.order_id,
            mall_id=order.mall_id,
            ready_at=ready_at(order),
            pickups=tuple(
                p for _, p in sorted(pickups.get(order.order_id, {}).values(), key=lambda x: x[0])
            ),
            dropoff=order.point,
        )
        for order in demo.orders.values()
        if order.order_id in delivered_ids
    ]
    baseline_drivers = [
        BaselineDriver(r.driver_id, r.driver.mall.id, r.driver.home) for r in demo.drivers
    ]
    service = ServiceTimes(
        timedelta(seconds=PICKUP_SERVICE_S), timedelta(seconds=DELIVERY_SERVICE_S)
    )

    def baseline_for(mall_id: str | None) -> BaselineResult:
        return one_order_per_trip(
            [b for b in baseline_orders if mall_id in (None, b.mall_id)],
            [d for d in baseline_drivers if mall_id in (None, d.mall_id)],
            TRAVEL,
            service,
        )

    rows: list[tuple[str, Figures]] = []
    for mall in pilot_malls():
        rows.append(
            (
                mall.name,
                figures(
                    [x for x in outcomes if x.mall_id == mall.id],
                    [r for r in route_outcomes if r.mall_id == mall.id],
                    baseline_for(mall.id),
                ),
            )
        )
    baseline = baseline_for(None)
    summary = summarize(
        outcomes,
        route_outcomes,
        baseline,
        pays,
        len(demo.scanner.leaks),
        shoppers=o.customers,
        turned_away=demo.turned_away,
    )
    rows.append(("all malls", summary.figures))

    o.out.mkdir(parents=True, exist_ok=True)
    pictures = demo_charts.draw(
        o.out,
        malls=pilot_malls(),
        stores=demo.directory.get("stores", []),
        routes=[p for p, _ in dispatch_views if p],
        placed=[x.placed_at for x in outcomes],
        delivered=[x.delivered_at for x in outcomes if x.delivered_at is not None],
        after_day=summary.after_day,
    )
    report = [mall_table(rows), "", CONVENTIONS, ""]
    report.append(
        f"routes accepted {len(demo.routes)}; baseline trips {len(baseline.trips)}; "
        f"responses leak-checked {demo.scanner.responses_checked}; "
        f"orders still open at the end {sum(x.status not in TERMINAL for x in outcomes)}, "
        f"of them promised after the day {summary.after_day}; shoppers {o.customers} "
        f"(demand x{o.demand:g}), turned away {demo.turned_away}; shoppers without an order: "
        "see actions and refused calls below"
    )
    report.append("actions: " + ", ".join(f"{k} x{n}" for k, n in sorted(demo.counts.items())))
    if demo.problems:
        report.append(
            "refused or failed calls: " + ", ".join(f"{k} x{n}" for k, n in demo.problems.items())
        )
    report += [f"LEAK {leak}" for leak in demo.scanner.leaks[:20]]
    details = o.out / "orders.json"
    details.write_text(
        json.dumps(
            [
                {
                    "order_id": x.order_id,
                    "mall_id": x.mall_id,
                    "status": x.status,
                    "placed_at": x.placed_at.isoformat(),
                    "window_start": x.window_start.isoformat() if x.window_start else None,
                    "deliver_by": x.deliver_by.isoformat(),
                    "delivered_at": x.delivered_at.isoformat() if x.delivered_at else None,
                    "is_later_window": x.is_later_window,
                    "is_after_day": x.is_after_day,
                    # Where the time went: the order's own steps, on the suite's clock.
                    "window": demo.orders[x.order_id].view.get("window"),
                    "timeline": demo.orders[x.order_id].view.get("timeline", []),
                }
                for x in outcomes
            ],
            indent=1,
        )
    )
    routes_file = o.out / "routes.json"
    routes_file.write_text(
        json.dumps(
            [
                {"planned": planned, "offers": offer_log, "driven": route.view}
                for route, (planned, offer_log) in zip(demo.routes, dispatch_views, strict=True)
            ],
            indent=1,
        )
    )
    report.append(
        "pictures: " + ", ".join(str(p) for p in pictures) + f"; details: {details}, {routes_file}"
    )
    report.append(summary_line(summary))
    return report


def suite_env(o: Options, real_start: float) -> dict[str, str]:
    """The suite's settings for the demo: its clock, its secrets, and dispatch's batching window."""
    return {
        "MTH_CLOCK_START": o.start.isoformat(),
        "MTH_CLOCK_SPEED": f"{o.speed:g}",
        "MTH_CLOCK_REAL_START": f"{real_start:.3f}",
        "ORDER_JWT_SECRET": secrets.token_urlsafe(32),
        "ORDER_OPERATOR_TOKEN": secrets.token_urlsafe(24),
        "DISPATCH_OPERATOR_JWT_SECRET": secrets.token_urlsafe(32),
        # Every simulated shopper and driver calls from this one address: per-caller limits
        # meant for the internet would turn the simulated crowd away.
        "CATALOG_RATE_LIMIT_SAME_DAY": "1000000/minute",
        "ORDER_RATE_LIMIT_CHECKOUT": "1000000/minute",
        "ORDER_RATE_LIMIT_ORDERS": "1000000/minute",
        "DRIVER_RATE_LIMIT_SIGN_IN": "1000000/minute",
        # Driver sessions are timed on the suite clock: a 15-minute token is 15 real seconds.
        "DRIVER_ACCESS_TOKEN_SECONDS": str(12 * 3600),
        "DISPATCH_BATCH_INTERVAL_SECONDS": f"{o.batch_minutes * 60:g}",
        "DISPATCH_BATCH_SLACK_TRIGGER_MINUTES": "10",
        "DISPATCH_PICKUP_SERVICE_SECONDS": str(PICKUP_SERVICE_S),
        "DISPATCH_DELIVERY_SERVICE_SECONDS": str(DELIVERY_SERVICE_S),
        "DISPATCH_ROAD_FACTOR": f"{TRAVEL.road_factor:g}",
        "DISPATCH_AVERAGE_SPEED_KMH": f"{TRAVEL.average_speed_kmh:g}",
        "DISPATCH_SOLVE_SECONDS": "1",
        # Timeouts meant for people and shops, in simulated seconds, scaled for the compressed
        # clock: a 15-minute accept window would be 15 real seconds on a busy machine at x60.
        "ORDER_RESERVATION_TTL_SECONDS": f"{max(900.0, 60 * o.speed):g}",
        # A 5-minute quote lasts 15 real seconds at x20: a queued checkout would find it gone.
        "ORDER_QUOTE_TTL_SECONDS": f"{max(300.0, 60 * o.speed):g}",
        # A 60-second offer lasts one real second at x60, less than a busy round trip.
        "DISPATCH_OFFER_TTL_SECONDS": f"{max(60.0, 10 * o.speed):g}",
        # Idle drivers report every 15 real seconds to keep the event load down.
        "DISPATCH_POSITION_FRESH_SECONDS": f"{max(300.0, 25 * o.speed):g}",
    }


async def play(o: Options, suite: Suite) -> list[str]:
    rng = random.Random(o.seed)
    malls = pilot_malls()
    customers = make_customers(rng, malls, o.customers, o.ordering_hours * 3600)
    drivers = make_drivers(rng, malls, o.drivers_per_mall)
    limits = httpx.Limits(max_connections=64, max_keepalive_connections=32)
    async with httpx.AsyncClient(timeout=30, limits=limits) as http:
        demo = Demo(o, suite, http)
        await demo.run(customers, drivers)
        return await collect(demo)


def main(argv: list[str] | None = None) -> int:
    o = parse_options(argv)
    began = time.monotonic()
    real_start = time.time()
    # The demo paces its actors on the very clock the services run on.
    set_clock(Clock(o.start, o.speed, real_start))
    suite = Suite(
        label="demo",
        base_port=o.base_port,
        extra_env=suite_env(o, real_start),
        catalog_seed=("--stores-per-mall", str(o.stores_per_mall), "--skus", str(o.skus),
                   # The order service learns counts when it resolves offers: no event flood.
                   "--max-inventory-events", "0",
                   "--keys-file", str(ROOT / ".local" / "demo" / "catalog_keys.json")),
    )  # fmt: skip
    say(f"starting a private suite (logs in {suite.log_dir}), clock x{o.speed:g} from {o.start}")
    try:
        suite.start()
        say(f"suite ready in {time.monotonic() - began:.0f} s")
        report = asyncio.run(play(o, suite))
    finally:
        suite.stop()
        if suite.topic_suffix:
            asyncio.run(delete_topics(suite.env["KAFKA_BOOTSTRAP_SERVERS"], suite.topic_suffix))
    say(f"finished in {time.monotonic() - began:.0f} s real time")
    # The SUMMARY line is the report's last line, and the last line written.
    print("\n".join(report), flush=True)
    return 0


async def delete_topics(bootstrap_servers: str, suffix: str) -> None:
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap_servers)
    await admin.start()
    try:
        with contextlib.suppress(KafkaError):
            await admin.delete_topics(list(topics.all_topics(suffix)))
    finally:
        await admin.close()


if __name__ == "__main__":
    raise SystemExit(main())
