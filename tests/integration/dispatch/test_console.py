"""The operator console's API on the real broker and database: sign-in, boards from dispatch's
own data, the change stream, and the actions (each audited)."""

from __future__ import annotations

import asyncio
import re
import uuid
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

import httpx
import orjson
import pytest
from fastapi import FastAPI, Request, Response

from dispatch_service import usecases
from shared import clock
from shared.events import topics
from shared.events.catalog import StoreUpserted
from shared.events.common import GeoPoint
from shared.events.dispatch import (
    RouteOffered,
    RouteOfferExpired,
    RouteStop,
    StopKind,
    ZoneCapacityChanged,
)
from shared.events.driver import (
    DriverLocationUpdated,
    OfferAccepted,
    RouteStopDelivered,
    RouteStopFailed,
    RouteStopPickedUp,
    RouteStopReturned,
    RouteStopsChanged,
    RouteStopState,
    StopStatus,
)
from shared.events.envelope import Payload, encode, wrap
from shared.events.order import OrderPlaced, OrderReadyForPickup, PlacedShipment, ShipmentLine
from tests.integration.dispatch.conftest import (
    KM_LAT,
    MALL,
    Dispatch,
    a_driver,
    a_ready_shipment,
)
from tests.support import EventTap, eventually

Json = dict[str, Any]
BOARD = f"/v1/console/malls/{MALL.id}/board"


@pytest.fixture
def dispatch_overrides() -> dict[str, Any]:
    return {"console_refresh_seconds": 0.2, "console_stream_seconds": 4.0}


class Peers:
    """The order and driver services' operator endpoints, as far as the console uses them."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, str, Json | None]] = []
        self.answer = 200
        self.app = FastAPI()

        @self.app.post("/v1/admin/shipments/{shipment_id}/cancel")
        async def cancel(shipment_id: str, request: Request) -> Response:
            return await self._answer(request, {"shipment_id": shipment_id, "status": "cancelled"})

        @self.app.post("/v1/admin/drivers/{driver_id}/offline")
        async def offline(driver_id: str, request: Request) -> Response:
            return await self._answer(request, {"id": driver_id, "is_online": False})

    async def _answer(self, request: Request, body: Json) -> Response:
        raw = await request.body()
        self.calls.append(
            (
                request.url.path,
                request.headers.get("authorization", ""),
                orjson.loads(raw) if raw else None,
            )
        )
        problem = {
            "detail": "The shipment was already delivered or could not be; "
            "it can no longer be cancelled."
        }
        payload = body if self.answer == 200 else problem
        return Response(orjson.dumps(payload), self.answer, media_type="application/json")


@pytest.fixture
def peers() -> Peers:
    return Peers()


@pytest.fixture
def peer_transport(peers: Peers) -> httpx.AsyncBaseTransport:
    return httpx.ASGITransport(app=peers.app)


async def publish_at(dispatch: Dispatch, payload: Payload, *, key: str, at: datetime) -> None:
    """Publishes an event as its producer would have at `at` (its envelope's time)."""
    await dispatch.producer.send_and_wait(
        topics.resolve(payload.TOPIC, dispatch.suffix),
        value=encode(wrap(payload, key=key, producer="test", occurred_at=at)),
        key=key.encode(),
        headers=[("event_type", payload.TYPE.encode())],
    )


async def board(dispatch: Dispatch) -> Json:
    resp = await dispatch.api.get(BOARD, headers=dispatch.operator())
    assert resp.status_code == 200, resp.text
    found: Json = resp.json()
    return found


async def board_where(
    dispatch: Dispatch, check: Callable[[Json], bool], within: float = 15
) -> Json:
    async def matching() -> Json | None:
        current = await board(dispatch)
        return current if check(current) else None

    found: Json = await eventually(matching, within=within, interval=0.2)
    return found


def a_store(
    store_id: str = "store-fs-12", *, prep_minutes: int = 20, km_east: float = 0.1
) -> StoreUpserted:
    return StoreUpserted(
        store_id=store_id,
        retailer_id="ret-1",
        retailer_name="Lamp & Co",
        mall_id=MALL.id,
        mall_name=MALL.name,
        name=f"Lamp & Co {store_id}",
        location=GeoPoint(lat=MALL.lat, lng=MALL.lng + km_east * KM_LAT),
        timezone=MALL.timezone,
        pickup_instructions="Service desk",
        prep_minutes=prep_minutes,
    )


def sse(text: str) -> list[tuple[str, Json]]:
    events = []
    for block in text.strip().split("\n\n"):
        fields = dict(
            line.split(": ", 1)
            for line in block.splitlines()
            if ": " in line and not line.startswith(":")
        )
        if "data" in fields:
            events.append((fields.get("event", "message"), orjson.loads(fields["data"])))
    return events


def placed(shipment: OrderReadyForPickup) -> OrderPlaced:
    return OrderPlaced(
        order_id=shipment.order_id,
        mall_id=shipment.mall_id,
        shipments=[
            PlacedShipment(
                shipment_id=shipment.shipment_id,
                store_id=shipment.store_id,
                lines=[ShipmentLine(sku="sku-1", quantity=1)],
            )
        ],
        deliver_by=shipment.deliver_by,
    )


# --- credentials ------------------------------------------------------------------------------


def console_operations(spec: Json) -> list[tuple[str, str]]:
    return [
        (method.upper(), path)
        for path, item in spec["paths"].items()
        if path.startswith("/v1/console/")
        for method in item
    ]


def concrete(path: str) -> str:
    return (
        path.replace("{mall_id}", MALL.id)
        .replace("{route_id}", str(uuid.uuid4()))
        .replace("{shipment_id}", str(uuid.uuid4()))
        .replace("{driver_id}", str(uuid.uuid4()))
    )


async def test_every_console_endpoint_answers_401_without_an_operator_token(
    dispatch: Dispatch,
) -> None:
    spec = (await dispatch.api.get("/openapi.json")).json()
    operations = console_operations(spec)
    not_an_operator = "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJ4In0.c2lnbmF0dXJl"
    answers = {}
    for method, path in operations:
        for label, headers, cookies in (
            ("none", {}, {}),
            ("bad bearer", {"Authorization": f"Bearer {not_an_operator}"}, {}),
            ("bad cookie", {}, {"mth_console": not_an_operator}),
        ):
            async with httpx.AsyncClient(
                transport=dispatch.api._transport, base_url="http://testserver", cookies=cookies
            ) as stranger:
                resp = await stranger.request(method, concrete(path), headers=headers, json={})
            answers[(method, path, label)] = (resp.status_code, resp.headers.get("content-type"))

    assert len(operations) >= 12
    assert {a for a in answers.values()} == {(401, "application/problem+json")}, answers


async def test_signing_in_keeps_the_token_in_a_cookie_the_page_then_uses(
    dispatch: Dispatch,
) -> None:
    token = dispatch.operator()["Authorization"].removeprefix("Bearer ")
    async with httpx.AsyncClient(
        transport=dispatch.api._transport, base_url="http://testserver"
    ) as browser:
        wrong = await browser.post("/v1/console/session", json={"token": "not-a-token"})
        empty = await browser.post("/v1/console/session")
        signed_in = await browser.post("/v1/console/session", json={"token": token})
        me = await browser.get("/v1/console/session")
        malls = await browser.get("/v1/console/malls")
        out = await browser.delete("/v1/console/session")
        after = await browser.get("/v1/console/session")

    assert (wrong.status_code, empty.status_code) == (401, 401)
    assert "mth_console" not in wrong.headers.get("set-cookie", "")
    assert signed_in.status_code == 200
    cookie = signed_in.headers["set-cookie"]
    assert "HttpOnly" in cookie and "SameSite=strict" in cookie and "Path=/v1/console" in cookie
    assert me.json()["operator"] == "test-operator"
    assert [m["id"] for m in malls.json()["malls"]] == [
        "fashion-show-las-vegas",
        "chandler-fashion-center",
        "tysons-corner-center",
        "baybrook-friendswood",
    ]
    assert out.status_code == 204
    assert after.status_code == 401


async def test_the_page_and_its_map_library_come_from_the_project(dispatch: Dispatch) -> None:
    page = await dispatch.api.get("/console")
    leaflet = await dispatch.api.get("/console/vendor/leaflet/leaflet.js")
    script = await dispatch.api.get("/console/assets/console.js")

    assert page.status_code == 200
    assert '<script src="/console/vendor/leaflet/leaflet.js">' in page.text
    # No CDN: every script and stylesheet comes from this service.
    linked = [u for u in re.findall(r'(?:src|href)="([^"]+)"', page.text) if u != "data:,"]
    assert len(linked) == 4 and all(url.startswith("/console/") for url in linked)
    assert leaflet.status_code == 200 and "Leaflet" in leaflet.text[:2000]
    assert script.status_code == 200


# --- what the board shows ---------------------------------------------------------------------


async def test_a_waiting_shipment_with_little_slack_is_at_risk_next_to_its_store(
    dispatch: Dispatch,
) -> None:
    await dispatch.publish(a_store(), key="store-fs-12")
    relaxed = a_ready_shipment(due_in=timedelta(hours=3))
    tight = a_ready_shipment(due_in=timedelta(minutes=40))
    lost = a_ready_shipment(due_in=timedelta(minutes=5))
    await dispatch.add_shipments(relaxed, tight, lost)

    shown = await board_where(
        dispatch, lambda b: len(b["stores"]) == 1 and len(b["exceptions"]) == 2
    )

    assert [s["id"] for s in shown["shipments"]] == [
        str(s.shipment_id) for s in (lost, tight, relaxed)
    ]
    assert [(e["kind"], e["severity"], e["shipment_id"]) for e in shown["exceptions"]] == [
        ("at_risk", "critical", str(lost.shipment_id)),
        ("at_risk", "warning", str(tight.shipment_id)),
    ]
    assert "min of slack" in shown["exceptions"][1]["detail"]
    assert shown["stores"][0]["name"] == "Lamp & Co store-fs-12"
    assert shown["mall"]["name"] == MALL.name
    outline = shown["mall"]["outline"]
    assert len(outline) >= 8
    lats, lngs = [p[0] for p in outline], [p[1] for p in outline]
    assert min(lats) < MALL.lat < max(lats) and min(lngs) < MALL.lng < max(lngs)
    assert shown["same_day"]["status"] in {"open", "closed"}


async def test_a_route_moves_through_its_phases_and_the_day_counts_what_was_delivered(
    dispatch: Dispatch, tap: EventTap
) -> None:
    driver = a_driver(km_north=0.5)
    await dispatch.add_drivers(driver)
    delivered, failed = a_ready_shipment(km_north=2.0), a_ready_shipment(km_north=2.5)
    for shipment in (delivered, failed):
        # Envelopes carry the wall clock's time, which a simulated suite clock (the demo's
        # compressed day) does not follow: the day's figures must not take it.
        await publish_at(
            dispatch, placed(shipment), key=MALL.id, at=clock.now() - timedelta(days=6)
        )
    await dispatch.add_shipments(delivered, failed)

    report = await usecases.plan_mall(dispatch.db, MALL.id, clock.now(), dispatch.policies)
    offered = await tap.next(RouteOffered, within=10)
    route_id = report.planned[0]
    phase = await board_where(dispatch, lambda b: [r["phase"] for r in b["routes"]] == ["offered"])
    await dispatch.publish(
        OfferAccepted(
            offer_id=offered.payload.offer_id,
            route_id=route_id,
            mall_id=MALL.id,
            driver_id=driver.driver_id,
            pay_cents=offered.payload.pay_cents,
            at=clock.now(),
        ),
        key=str(route_id),
    )
    accepted = await board_where(dispatch, lambda b: b["routes"][0]["phase"] == "accepted")

    async def step(cls: type[Payload], shipment: OrderReadyForPickup, **more: Any) -> None:
        await dispatch.publish(
            cls(
                route_id=route_id,
                stop_id=uuid.uuid4(),
                mall_id=MALL.id,
                driver_id=driver.driver_id,
                order_id=shipment.order_id,
                shipment_id=shipment.shipment_id,
                at=clock.now(),
                **more,
            ),
            key=str(route_id),
        )

    await step(RouteStopPickedUp, delivered, labels=["MTH-1"])
    picking = await board_where(dispatch, lambda b: b["routes"][0]["phase"] == "picking_up")
    await step(RouteStopPickedUp, failed, labels=["MTH-1"])
    on_the_road = await board_where(dispatch, lambda b: b["routes"][0]["phase"] == "on_the_road")
    await step(RouteStopDelivered, delivered, proof_photo_sha256="ab" * 32)
    await step(RouteStopFailed, failed, reason="nobody home")
    returning = await board_where(dispatch, lambda b: b["routes"][0]["phase"] == "returning")
    await step(RouteStopReturned, failed, store_id="store-fs-12")
    done = await board_where(dispatch, lambda b: b["routes"] == [])

    assert phase["routes"][0]["offer_rounds"] == 1
    assert accepted["routes"][0]["driver_id"] == str(driver.driver_id)
    assert [s["state"] for s in picking["routes"][0]["stops"] if s["kind"] == "pickup"].count(
        "picked_up"
    ) == 1
    assert {s["state"] for s in on_the_road["routes"][0]["stops"] if s["kind"] == "dropoff"} == {
        "pending"
    }
    failures = [e for e in returning["exceptions"] if e["kind"] == "failed_delivery"]
    assert [(e["shipment_id"], e["detail"]) for e in failures] == [
        (str(failed.shipment_id), "Reason: nobody home")
    ]
    assert not [e for e in done["exceptions"] if e["kind"] == "failed_delivery"]
    day = done["day"]
    assert (day["orders"], day["delivered"], day["on_time_pct"]) == (2, 1, 100.0)
    assert day["median_minutes_to_door"] is not None and 0 <= day["median_minutes_to_door"] < 5
    assert day["pay_cents"] == offered.payload.pay_cents
    assert day["driver_hours"] >= 0


async def test_an_accepted_route_shows_the_driver_services_copy_of_its_stops(
    dispatch: Dispatch, tap: EventTap
) -> None:
    driver = a_driver(km_north=0.5)
    await dispatch.add_drivers(driver)
    kept, called_off = a_ready_shipment(km_north=2.0), a_ready_shipment(km_north=2.5)
    await dispatch.add_shipments(kept, called_off)
    report = await usecases.plan_mall(dispatch.db, MALL.id, clock.now(), dispatch.policies)
    offered = await tap.next(RouteOffered, within=10)
    route_id = report.planned[0]
    await dispatch.publish(
        OfferAccepted(
            offer_id=offered.payload.offer_id,
            route_id=route_id,
            mall_id=MALL.id,
            driver_id=driver.driver_id,
            pay_cents=offered.payload.pay_cents,
            at=clock.now(),
        ),
        key=str(route_id),
    )
    await board_where(dispatch, lambda b: b["routes"][0]["phase"] == "accepted")
    planned = list(offered.payload.stops)
    pickup = next(
        s for s in planned if s.kind is StopKind.PICKUP and s.shipment_id == called_off.shipment_id
    )
    back = pickup.model_copy(
        update={"stop_id": uuid.uuid4(), "sequence": len(planned), "kind": StopKind.RETURN}
    )

    def copy(revision: int, *, returned: bool) -> RouteStopsChanged:
        """Both picked up, one delivered; the other's order was cancelled on the way: the
        driver service replaced its drop-off with a return to its store."""

        def status(stop: RouteStop) -> StopStatus:
            if stop.kind is StopKind.PICKUP:
                return StopStatus.PICKED_UP
            if stop.kind is StopKind.RETURN:
                return StopStatus.RETURNED if returned else StopStatus.PENDING
            if stop.shipment_id == kept.shipment_id:
                return StopStatus.DELIVERED
            return StopStatus.CANCELLED

        return RouteStopsChanged(
            route_id=route_id,
            mall_id=MALL.id,
            driver_id=driver.driver_id,
            revision=revision,
            stops=[
                RouteStopState(**stop.model_dump(), status=status(stop))
                for stop in [*planned, back]
            ],
            is_completed=returned,
            at=clock.now(),
        )

    await dispatch.publish(copy(1, returned=False), key=str(route_id))
    returning = await board_where(dispatch, lambda b: b["routes"][0]["phase"] == "returning")
    await dispatch.publish(copy(2, returned=True), key=str(route_id))
    done = await board_where(dispatch, lambda b: b["routes"] == [])

    states = {(s["kind"], s["shipment_id"]): s["state"] for s in returning["routes"][0]["stops"]}
    assert states == {
        ("pickup", str(kept.shipment_id)): "picked_up",
        ("pickup", str(called_off.shipment_id)): "picked_up",
        ("dropoff", str(kept.shipment_id)): "delivered",
        ("dropoff", str(called_off.shipment_id)): "cancelled",
        ("return", str(called_off.shipment_id)): "pending",
    }
    # A completed route is off the map; the day counts its pay, and its driver's time ends when
    # the driver service completed it (moments after the accept here), not after a whole block.
    assert done["day"]["pay_cents"] == offered.payload.pay_cents
    assert done["day"]["driver_hours"] < 0.05


# No grace past a store's usual packing time, and a store that usually packs at once: an order
# still unpacked a moment after it was placed is late.
@pytest.mark.parametrize(
    "dispatch_overrides",
    [{"console_refresh_seconds": 0.2, "console_slow_pack_grace_minutes": 0}],
)
async def test_a_store_slow_to_pack_and_a_silent_driver_are_exceptions(dispatch: Dispatch) -> None:
    await dispatch.publish(a_store("store-slow", prep_minutes=0), key="store-slow")
    slow = a_ready_shipment()
    slow_order = OrderPlaced(
        order_id=slow.order_id,
        mall_id=MALL.id,
        shipments=[
            PlacedShipment(
                shipment_id=slow.shipment_id,
                store_id="store-slow",
                lines=[ShipmentLine(sku="sku-1", quantity=1)],
            )
        ],
        deliver_by=clock.now() + timedelta(minutes=50),
    )
    await dispatch.publish(slow_order, key=MALL.id)
    silent = a_driver(at=clock.now() - timedelta(minutes=30))
    await dispatch.add_drivers(silent)

    shown = await board_where(dispatch, lambda b: len(b["exceptions"]) == 2)

    kinds = {e["kind"]: e for e in shown["exceptions"]}
    assert kinds["slow_store"]["store_id"] == "store-slow"
    assert "1 order(s) unpacked, oldest 0 min (usually 0 min)" in kinds["slow_store"]["detail"]
    assert kinds["stale_driver"]["driver_id"] == str(silent.driver_id)
    assert kinds["stale_driver"]["severity"] == "notice"
    assert [e["kind"] for e in shown["exceptions"]] == ["slow_store", "stale_driver"]
    assert [d["is_stale"] for d in shown["drivers"]] == [True]
    assert shown["day"]["drivers_online"] == 0


async def test_a_dead_letter_of_any_topic_shows_in_the_exceptions(dispatch: Dispatch) -> None:
    await dispatch.producer.send_and_wait(
        topics.resolve(topics.ORDERS, dispatch.suffix),
        value=b'{"type": "order.ready_for_pickup", "payload": {"mall_id": "x"',
        key=MALL.id.encode(),
        headers=[("event_type", OrderReadyForPickup.TYPE.encode())],
    )

    shown = await board_where(
        dispatch, lambda b: any(e["kind"] == "dead_letters" for e in b["exceptions"]), within=30
    )

    dead = next(e for e in shown["exceptions"] if e["kind"] == "dead_letters")
    assert (
        dead["title"]
        == f"Messages in {topics.dead_letter(topics.resolve(topics.ORDERS, dispatch.suffix))}"
    )
    assert dead["detail"].startswith("1 message(s) a consumer gave up on; last: undecodable event")


# --- the stream -------------------------------------------------------------------------------


async def test_the_stream_sends_what_changed_not_the_whole_board(dispatch: Dispatch) -> None:
    await dispatch.publish(a_store(), key="store-fs-12")
    mover = a_driver(km_north=1.0)
    await dispatch.add_drivers(mover, a_driver(km_north=2.0))
    await dispatch.add_shipments(a_ready_shipment(), a_ready_shipment())
    before = await board_where(dispatch, lambda b: len(b["drivers"]) == 2 and len(b["stores"]) == 1)
    stream = asyncio.create_task(
        dispatch.api.get(
            f"/v1/console/malls/{MALL.id}/stream",
            params={"after": before["version"]},
            headers=dispatch.operator(),
            timeout=30,
        )
    )
    moved_to = GeoPoint(lat=MALL.lat + 1.5 * KM_LAT, lng=MALL.lng + 0.3 * KM_LAT)
    await dispatch.publish(
        DriverLocationUpdated(driver_id=mover.driver_id, location=moved_to, at=clock.now()),
        key=str(mover.driver_id),
    )

    resp = await stream

    assert resp.status_code == 200
    assert resp.headers["content-type"].startswith("text/event-stream")
    events = sse(resp.text)
    deltas = [data for kind, data in events if kind == "delta"]
    assert deltas, events
    moved = [
        d
        for delta in deltas
        for d in delta["upsert"].get("drivers", [])
        if d["id"] == str(mover.driver_id)
    ]
    assert moved and (moved[-1]["lat"], moved[-1]["lng"]) == (moved_to.lat, moved_to.lng)
    for delta in deltas:
        assert set(delta) == {"version", "now", "set", "upsert", "remove"}
        assert (delta["set"], delta["remove"]) == ({}, {})
        assert set(delta["upsert"]) == {"drivers"}
        assert [d["id"] for d in delta["upsert"]["drivers"]] == [str(mover.driver_id)]
    numbers = [int(delta["version"].rsplit(".", 1)[1]) for delta in deltas]
    assert numbers == sorted(numbers) and numbers[0] > int(before["version"].rsplit(".", 1)[1])


async def test_a_stream_from_an_unknown_version_says_reload(dispatch: Dispatch) -> None:
    resp = await dispatch.api.get(
        f"/v1/console/malls/{MALL.id}/stream",
        params={"after": "another-instance.7"},
        headers=dispatch.operator(),
        timeout=30,
    )

    events = sse(resp.text)
    assert events[0][0] == "reset"
    assert {kind for kind, _ in events} <= {"reset", "clock", "delta"}


# --- actions ----------------------------------------------------------------------------------


async def actions(dispatch: Dispatch) -> list[Json]:
    resp = await dispatch.api.get(
        f"/v1/console/malls/{MALL.id}/actions", headers=dispatch.operator()
    )
    assert resp.status_code == 200
    found: list[Json] = resp.json()["actions"]
    return found


@pytest.mark.parametrize("dispatch_overrides", [{"saturation_rounds": 1}])
async def test_pausing_stops_same_day_through_the_capacity_event_until_resumed(
    dispatch: Dispatch, tap: EventTap
) -> None:
    await dispatch.add_shipments(a_ready_shipment())
    await usecases.plan_mall(dispatch.db, MALL.id, clock.now(), dispatch.policies)
    nobody = await tap.next(ZoneCapacityChanged, within=10)
    pause = f"/v1/console/malls/{MALL.id}/pause"

    paused = await dispatch.api.post(
        pause, json={"note": "fire drill"}, headers=dispatch.operator()
    )
    again = await dispatch.api.post(pause, headers=dispatch.operator())
    signal = await tap.next(ZoneCapacityChanged, within=10)
    await dispatch.add_drivers(a_driver())
    await usecases.plan_mall(dispatch.db, MALL.id, clock.now(), dispatch.policies)
    shown = await board(dispatch)
    while_paused = await tap.collect(within=2.0)
    resumed = await dispatch.api.post(
        f"/v1/console/malls/{MALL.id}/resume", headers=dispatch.operator()
    )
    restored = await tap.next(ZoneCapacityChanged, within=10)

    assert nobody.payload.same_day_enabled is False
    assert (paused.status_code, paused.json()["outcome"]) == (200, "done")
    assert (again.status_code, again.json()["outcome"]) == (200, "unchanged")
    assert signal.payload.same_day_enabled is False
    assert signal.payload.reason == "paused by operator test-operator"
    assert signal.key == MALL.id
    assert shown["same_day"] == {
        "status": "paused",
        "delay_minutes": 0,
        "reason": "paused by test-operator",
        "is_paused_by_operator": True,
    }
    assert not [e for e in while_paused if isinstance(e.payload, ZoneCapacityChanged)]
    assert resumed.json()["outcome"] == "done"
    assert restored.payload.same_day_enabled is True
    assert restored.payload.reason.startswith("resumed by operator test-operator")
    logged = await actions(dispatch)
    assert [(a["action"], a["outcome"], a["operator"]) for a in logged] == [
        ("resume_same_day", "done", "test-operator"),
        ("pause_same_day", "unchanged", "test-operator"),
        ("pause_same_day", "done", "test-operator"),
    ]
    assert logged[2]["detail"] == {"note": "fire drill"}


async def test_a_route_offered_again_with_a_boost_pays_more_and_is_audited(
    dispatch: Dispatch, tap: EventTap
) -> None:
    await dispatch.add_drivers(a_driver(km_north=0.5), a_driver(km_north=1.0))
    await dispatch.add_shipments(a_ready_shipment())
    report = await usecases.plan_mall(dispatch.db, MALL.id, clock.now(), dispatch.policies)
    first = await tap.next(RouteOffered, within=10)
    route_id = report.planned[0]
    url = f"/v1/console/routes/{route_id}/reoffer"

    boosted = await dispatch.api.post(url, json={"boost_pct": 20}, headers=dispatch.operator())
    closed = await tap.next(RouteOfferExpired, within=10)
    second = await tap.next(RouteOffered, within=10)
    too_much = await dispatch.api.post(url, json={"boost_pct": 500}, headers=dispatch.operator())
    log = await dispatch.api.get(
        f"/v1/console/routes/{route_id}/offers", headers=dispatch.operator()
    )
    await dispatch.publish(
        OfferAccepted(
            offer_id=second.payload.offer_id,
            route_id=route_id,
            mall_id=MALL.id,
            driver_id=second.payload.driver_ids[0],
            pay_cents=second.payload.pay_cents,
            at=clock.now(),
        ),
        key=str(route_id),
    )
    await board_where(dispatch, lambda b: b["routes"][0]["phase"] == "accepted")
    late = await dispatch.api.post(url, json={"boost_pct": 20}, headers=dispatch.operator())

    assert boosted.status_code == 200, boosted.text
    assert closed.payload.offer_id == first.payload.offer_id
    assert second.payload.round == 2
    assert second.payload.pay_cents == -(-first.payload.pay_cents * 120 // 100)
    assert set(second.payload.driver_ids) == set(first.payload.driver_ids)
    assert too_much.status_code == 422
    assert [(r["round"], r["status"]) for r in log.json()["rounds"]] == [
        (1, "withdrawn"),
        (2, "open"),
    ]
    assert late.status_code == 409
    assert late.json()["code"] == "route_not_on_offer"
    logged = await actions(dispatch)
    assert [(a["action"], a["outcome"]) for a in logged] == [
        ("reoffer", "refused"),
        ("reoffer", "done"),
    ]
    assert logged[1]["detail"] == {"boost_pct": 20, "pay_cents": second.payload.pay_cents}


async def test_cancelling_and_taking_offline_go_through_the_owning_services(
    dispatch: Dispatch, peers: Peers
) -> None:
    shipment = a_ready_shipment()
    await dispatch.add_shipments(shipment)
    driver_id = uuid.uuid4()
    cancel = f"/v1/console/shipments/{shipment.shipment_id}/cancel"

    done = await dispatch.api.post(
        cancel, json={"reason": "duplicate order"}, headers=dispatch.operator()
    )
    peers.answer = 409
    refused = await dispatch.api.post(cancel, json={"reason": "again"}, headers=dispatch.operator())
    peers.answer = 503
    failed = await dispatch.api.post(
        f"/v1/console/drivers/{driver_id}/offline",
        json={"mall_id": MALL.id},
        headers=dispatch.operator(),
    )
    no_reason = await dispatch.api.post(cancel, json={}, headers=dispatch.operator())

    assert done.status_code == 200
    assert refused.status_code == 409
    assert "can no longer be cancelled" in refused.json()["detail"]
    assert failed.status_code == 502
    assert no_reason.status_code == 422
    settings = dispatch.settings
    assert peers.calls == [
        (
            f"/v1/admin/shipments/{shipment.shipment_id}/cancel",
            f"Bearer {settings.order_operator_token.get_secret_value()}",
            {"reason": "duplicate order"},
        ),
        (
            f"/v1/admin/shipments/{shipment.shipment_id}/cancel",
            f"Bearer {settings.order_operator_token.get_secret_value()}",
            {"reason": "again"},
        ),
        (
            f"/v1/admin/drivers/{driver_id}/offline",
            f"Bearer {settings.driver_operator_token.get_secret_value()}",
            None,
        ),
    ]
    logged = await actions(dispatch)
    assert [(a["action"], a["outcome"], a["target_id"]) for a in logged] == [
        ("driver_offline", "failed", str(driver_id)),
        ("cancel_shipment", "refused", str(shipment.shipment_id)),
        ("cancel_shipment", "done", str(shipment.shipment_id)),
    ]
