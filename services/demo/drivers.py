"""The drivers: sign up, go online, long-poll offers, take the first they can, drive the route at
the travel model's speed (waiting for a drop-off's window to open), scan labels, deliver with
photo, position and PIN; between routes they head back to their mall."""

from __future__ import annotations

import asyncio
import time
from typing import Any

import httpx

from services.clients import DriverApp
from services.demo.base import DemoBase
from services.demo.options import DELIVERY_SERVICE_S, PICKUP_SERVICE_S, TRAVEL
from services.demo.records import DrivenRoute, DriverRecord, at
from services.demo.report import Pay
from services.demo.world import along
from shared.clock import clock
from shared.geo import Point


class Drivers(DemoBase):
    async def send_position(self, record: DriverRecord, here: Point) -> None:
        response = await record.signed_up.send_position(here.lat, here.lng)
        if response.status_code not in (200, 429):
            self.note("location", response)

    async def register(self, record: DriverRecord) -> None:
        d = record.driver
        record.app = await DriverApp.register(
            self.http,
            self.suite.urls["driver"],
            f"Demo Driver {d.index + 1}",
            phone=f"+1702555{d.index:04d}",
            stay_signed_in=True,
        )
        (await record.app.online(d.home.lat, d.home.lng)).raise_for_status()

    async def drive_driver(self, record: DriverRecord, tick_s: float, refresh_s: float) -> None:
        """Waits for offers (long polls), takes the first it can, drives it; between routes it
        heads back to its mall and keeps its position fresh for dispatch."""
        app = record.signed_up
        position = record.driver.home
        etag: str | None = None
        # The drive back towards the mall counts towards the next route, as the baseline counts
        # the drive from its previous drop-off to the next pickup; after a driver's last route,
        # like the baseline's last trip, it counts nowhere.
        returning_meters = 0.0
        last_step = last_sent = time.monotonic()
        while True:
            try:
                polled = await app.poll_offers(tick_s, etag)
                offers = polled.json()["offers"] if polled.status_code == 200 else []
                route_id = None
                for offer in offers:
                    accepted = await app.accept(offer["offer_id"])
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
        app = record.signed_up
        view = (await app.get_route(route.route_id)).json()
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
            if stop["kind"] == "pickup":
                arrived = await app.arrive_at(route.route_id, stop)
                if arrived.status_code != 200:
                    self.note("arrive", arrived)
                await clock().sleep(PICKUP_SERVICE_S)
                response = await app.scan(route.route_id, stop, stop["labels"])
            elif stop["kind"] == "dropoff":
                opens = at(stop.get("deliver_from"))
                if opens is not None and opens > clock().now():
                    # Early for the customer's window: the driver waits at the door.
                    await clock().sleep((opens - clock().now()).total_seconds())
                await clock().sleep(DELIVERY_SERVICE_S)
                pin = self.pins.get((round(target.lat, 5), round(target.lng, 5)))
                response = await app.hand_over(route.route_id, stop, pin or None)
            else:
                response = await app.bring_back(route.route_id, stop)
            if response.status_code != 200:
                view = (await app.get_route(route.route_id)).json()
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
        route.view = (await app.get_route(route.route_id)).json()
        return position

    async def earnings(self, record: DriverRecord) -> Pay:
        response = await record.signed_up.earnings("week", self.o.start.date().isoformat())
        if response.status_code != 200:
            self.note("earnings", response)
            return Pay(0, 0)
        totals = response.json()["totals"]
        return Pay(int(totals["total_cents"]), round(float(totals["worked_minutes"]) * 60))


def _stop_status(route_view: dict[str, Any], stop_id: str) -> str:
    return next((s["status"] for s in route_view.get("stops", []) if s["stop_id"] == stop_id), "")
