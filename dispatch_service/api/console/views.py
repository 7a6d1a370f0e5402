"""The console API's request and response models."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any
from uuid import UUID

from fastapi import Path
from pydantic import BaseModel, ConfigDict, Field

from dispatch_service.api.console.access import CURRENCY, pilot_mall
from dispatch_service.api.console.examples import MALL, ROUTE_ID
from dispatch_service.store.console import ActionRecord
from shared.malls import Mall
from shared.text import RequestModel

MallId = Annotated[str, Path(examples=[MALL])]
RouteId = Annotated[UUID, Path(examples=[ROUTE_ID])]


async def known_mall(mall_id: MallId) -> Mall:
    return pilot_mall(mall_id)


class SessionRequest(RequestModel):
    model_config = ConfigDict(
        json_schema_extra={"examples": [{"token": "eyJhbGciOiJIUzI1NiJ9.e30.c2ln"}]}
    )

    # Empty is a sign-in without a token: refused like a wrong one (401), not as bad input.
    token: str = Field("", max_length=4096)


class SessionView(BaseModel):
    operator: str
    tile_url: str
    tile_attribution: str
    currency: str


SESSION_EXAMPLE: dict[str, Any] = {
    "operator": "maria",
    "tile_url": "",
    "tile_attribution": "",
    "currency": CURRENCY,
}


class SameDayView(BaseModel):
    status: str
    delay_minutes: int
    reason: str
    is_paused_by_operator: bool


class DayView(BaseModel):
    orders: int
    delivered: int
    on_time_pct: float | None
    median_minutes_to_door: float | None
    drivers_online: int
    driver_hours: float
    orders_per_driver_hour: float | None
    pay_cents: int
    pay_per_hour_cents: int | None
    currency: str


class MallView(BaseModel):
    id: str
    name: str
    address: str
    lat: float
    lng: float
    timezone: str
    # [lat, lng] corners: the hull of the mall's stores, padded.
    outline: list[tuple[float, float]]


class StoreView(BaseModel):
    id: str
    name: str
    lat: float
    lng: float
    prep_minutes: int
    is_active: bool


class WaitingShipmentView(BaseModel):
    id: UUID
    order_id: UUID
    store_id: str
    store_name: str
    package_count: int
    ready_at: datetime
    deliver_by: datetime
    dropoff_area: str
    lat: float
    lng: float


class BoardStopView(BaseModel):
    sequence: int
    kind: str
    state: str
    shipment_id: UUID
    order_id: UUID
    store_id: str
    store_name: str
    area: str
    lat: float
    lng: float
    eta: datetime
    deliver_by: datetime


class BoardRouteView(BaseModel):
    id: UUID
    phase: str
    driver_id: UUID | None
    pay_cents: int
    currency: str
    offer_rounds: int
    planned_miles: float
    planned_minutes: int
    depart_at: datetime
    latest_start_at: datetime
    stops: list[BoardStopView]


class BoardDriverView(BaseModel):
    id: UUID
    lat: float | None
    lng: float | None
    position_at: datetime | None
    is_stale: bool
    route_id: UUID | None
    capacity_packages: int


class ExceptionView(BaseModel):
    id: str
    kind: str
    severity: str
    title: str
    detail: str
    due_at: datetime | None
    shipment_id: UUID | None
    order_id: UUID | None
    route_id: UUID | None
    driver_id: UUID | None
    store_id: str | None


class BoardView(BaseModel):
    version: str
    now: datetime
    mall: MallView
    same_day: SameDayView
    day: DayView
    stores: list[StoreView]
    shipments: list[WaitingShipmentView]
    routes: list[BoardRouteView]
    drivers: list[BoardDriverView]
    exceptions: list[ExceptionView]


class BoardSections(BaseModel):
    mall: MallView | None = None
    same_day: SameDayView | None = None
    day: DayView | None = None


class BoardItems(BaseModel):
    stores: list[StoreView] | None = None
    shipments: list[WaitingShipmentView] | None = None
    routes: list[BoardRouteView] | None = None
    drivers: list[BoardDriverView] | None = None
    exceptions: list[ExceptionView] | None = None


class BoardRemovals(BaseModel):
    stores: list[str] | None = None
    shipments: list[str] | None = None
    routes: list[str] | None = None
    drivers: list[str] | None = None
    exceptions: list[str] | None = None


class BoardDeltaView(BaseModel):
    """The data of a `delta` event: only what changed since the previous version."""

    version: str
    now: datetime
    set: BoardSections = Field(default_factory=BoardSections)
    upsert: BoardItems = Field(default_factory=BoardItems)
    remove: BoardRemovals = Field(default_factory=BoardRemovals)


class MallSummaryView(BaseModel):
    id: str
    name: str
    timezone: str
    same_day: SameDayView
    day: DayView
    exceptions: int
    critical: int
    version: str


class MallListView(BaseModel):
    malls: list[MallSummaryView]


class ActionView(BaseModel):
    action_id: UUID
    at: datetime
    operator: str
    action: str
    mall_id: str | None
    target_id: str | None
    outcome: str
    message: str
    detail: dict[str, Any]

    @classmethod
    def of(cls, record: ActionRecord) -> ActionView:
        # The record has each of the view's fields under the same name.
        return cls.model_validate(record, from_attributes=True)


class ActionLogView(BaseModel):
    actions: list[ActionView]


class PauseRequest(RequestModel):
    model_config = ConfigDict(json_schema_extra={"examples": [{"note": "fire alarm in the mall"}]})

    note: str = Field("", max_length=200)


class ReofferRequest(RequestModel):
    model_config = ConfigDict(json_schema_extra={"examples": [{"boost_pct": 20}]})

    boost_pct: int = Field(ge=1, le=100, description="pay raise on top of any surge, in percent")


class CancelShipmentRequest(RequestModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [{"reason": "customer called: no longer needed", "mall_id": MALL}]
        }
    )

    reason: str = Field(min_length=1, max_length=200)
    # Which mall's log the action goes to, when dispatch has not heard of the shipment yet.
    mall_id: str | None = None


class DriverOfflineRequest(RequestModel):
    model_config = ConfigDict(json_schema_extra={"examples": [{"mall_id": MALL}]})

    # Which mall's log the action goes to.
    mall_id: str | None = None
