"""The shoppers: browse the same-day catalog, ask for a quote, pick a window, check out, and look
at their orders now and then."""

from __future__ import annotations

import asyncio
import contextlib
import random
import time
import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import httpx

from services.demo.base import DemoBase
from services.demo.options import EVENING_HOUR, TERMINAL
from services.demo.records import PlacedOrder
from services.demo.world import Customer


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


class Shoppers(DemoBase):
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
        app = self.storefront(self.customer_token(customer_id))
        wants_evening = rng.random() < self.evening_share
        browse = await app.same_day(c.point.lat, c.point.lng, limit=30)
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
            quote = await app.quote({"lines": lines, "address": address})
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
            checkout = await app.checkout(
                {
                    "lines": lines,
                    "address": address,
                    "contact": {"name": f"Demo Customer{c.index}", "phone": "+15550100"},
                    "quote_id": quote.json()["id"],
                    "window_id": choice.window_id,
                },
                idempotency_key=str(uuid.uuid4()),
            )
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
            token=app.token,
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
        response = await self.storefront(order.token).order(order.order_id)
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
