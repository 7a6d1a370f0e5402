"""What the demo's actors share: the run's options, the suite, the clients' credentials, what
happened so far, and the gates that keep a few calls at a time."""

from __future__ import annotations

import asyncio
import contextlib
import functools
from collections import Counter
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import jwt

from services.clients import Operator, Storefront
from services.demo.options import EVENING_SHARE, Options
from services.demo.records import DrivenRoute, DriverRecord, PlacedOrder
from services.leaks import LeakScanner
from services.suite import Suite


class DemoBase:
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
        self.directory: dict[str, Any] = {}
        # On the suite's clock: when the shoppers start, and when the demo stopped its shoppers,
        # stores and drivers (nothing moves after it, whatever the clock says).
        self.day_started_at = options.start
        self.stopped_at: datetime | None = None
        # Drop-off point -> order, and the orders a driver handed over: the order service hears
        # of a delivery through its events, which a busy machine delays.
        self.order_at: dict[tuple[float, float], str] = {}
        self.handed_over: set[str] = set()

    @functools.cached_property
    def operator(self) -> Operator:
        """The directory, POS credentials and dispatch's views, with the suite's own tokens
        (read when first needed: the suite has them once it has started)."""
        return Operator.of(self.http, self.suite)

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

    def storefront(self, token: str) -> Storefront:
        """A shopper's app; its order-service calls take turns at the shoppers' gate."""
        return Storefront(
            self.http,
            self.suite.urls["catalog"],
            self.suite.urls["order"],
            token,
            self.scanner,
            gate=self.order_gate,
        )
