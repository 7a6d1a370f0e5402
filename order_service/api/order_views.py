"""What the customer is shown of an order, and the examples the API docs show. Never a store or
mall, in any field.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any
from uuid import UUID

from fastapi import Path
from pydantic import AwareDatetime, BaseModel

from order_service import usecases
from order_service.domain.checkout import Address
from order_service.outgoing import Outgoing

# Customer-facing: examples name no store or mall, not even in words, like the responses.
ORDER_ID_EXAMPLE = "3f2b9c1e-8d4a-4e6b-9a57-1c0d2e3f4a5b"
OFFER_ID_EXAMPLE = "q3ZkTj9xW1bYc2VhLWV4YW1wbGUtb2ZmZXItMDE"
ADDRESS_EXAMPLE: dict[str, Any] = {
    "line1": "1420 Desert Willow Dr",
    "line2": "Apt 12",
    "city": "Las Vegas",
    "region": "NV",
    "postal_code": "89104",
    "instructions": "Gate code 4512; leave with the concierge if no answer.",
}
TRACKING_TOKEN_EXAMPLE = "q8m3Zr1wKc5tLx0pVb7nJg"
PLACED_EXAMPLE: dict[str, Any] = {
    "id": ORDER_ID_EXAMPLE,
    "status": "placed",
    "placed_at": "2026-11-25T21:02:11Z",
    "deliver_by": "2026-11-25T20:30:00-08:00",
    "window": {"starts_at": "2026-11-25T13:02:11-08:00", "ends_at": "2026-11-25T20:30:00-08:00"},
    "tracking_token": TRACKING_TOKEN_EXAMPLE,
    "tracking_url": f"https://track.example.com/t/{TRACKING_TOKEN_EXAMPLE}",
    "eta": None,
    "is_delayed": False,
    "total_cents": 4998,
    "delivery_fee_cents": 599,
    "currency": "USD",
    "lines": [
        {
            "offer_id": OFFER_ID_EXAMPLE,
            "title": "Cotton crew-neck tee, black, M",
            "quantity": 2,
            "unit_price_cents": 2499,
            "is_cancelled": False,
        }
    ],
    "delivery_address": ADDRESS_EXAMPLE,
    "delivery_pin": "4821",
    "tip_cents": 0,
    "driver_location": None,
    "timeline": [{"at": "2026-11-25T21:02:11Z", "status": "placed", "message": "Order placed."}],
}
ORDER_EXAMPLES: dict[str, dict[str, Any]] = {
    "placed": {"summary": "Just placed", "value": PLACED_EXAMPLE},
    "on_its_way": {
        "summary": "Picked up: the driver's position is shown",
        "value": {
            **PLACED_EXAMPLE,
            "status": "picked_up",
            "eta": "2026-11-25T19:55:00-08:00",
            "driver_location": {"lat": 36.1583, "lng": -115.1521, "at": "2026-11-26T03:41:30Z"},
            "timeline": [
                *PLACED_EXAMPLE["timeline"],
                {
                    "at": "2026-11-25T21:04:40Z",
                    "status": "accepted",
                    "message": "Your order is being prepared.",
                },
                {
                    "at": "2026-11-26T03:12:05Z",
                    "status": "packaged",
                    "message": "Your order is packed and waiting for a driver.",
                },
                {
                    "at": "2026-11-26T03:33:50Z",
                    "status": "picked_up",
                    "message": "Your order is on its way.",
                },
            ],
        },
    },
}
CANCELLED_EXAMPLE: dict[str, Any] = {
    **PLACED_EXAMPLE,
    "status": "cancelled",
    "timeline": [
        *PLACED_EXAMPLE["timeline"],
        {
            "at": "2026-11-25T21:05:00Z",
            "status": "cancelled",
            "message": "Order cancelled; you will not be charged.",
        },
    ],
}
TIPPED_EXAMPLE: dict[str, Any] = {
    **PLACED_EXAMPLE,
    "status": "delivered",
    "tip_cents": 500,
    "timeline": [
        *PLACED_EXAMPLE["timeline"],
        {"at": "2026-11-26T03:56:12Z", "status": "delivered", "message": "Delivered."},
    ],
}
OrderId = Annotated[UUID, Path(examples=[ORDER_ID_EXAMPLE])]


class OrderLineView(BaseModel):
    offer_id: str
    title: str
    quantity: int
    unit_price_cents: int
    is_cancelled: bool


class TimelineView(BaseModel):
    at: datetime
    status: str
    message: str


class DriverLocationView(BaseModel):
    lat: float
    lng: float
    at: datetime


class DeliveryAddressView(BaseModel):
    line1: str
    line2: str
    city: str
    region: str
    postal_code: str
    instructions: str


class WindowView(BaseModel):
    starts_at: datetime
    ends_at: datetime


class OrderView(BaseModel):
    id: UUID
    status: str
    placed_at: datetime
    deliver_by: AwareDatetime
    # The promise: delivered within this window (its end is deliver_by).
    window: WindowView
    # The shopper's tracking page: share the link, not the order id.
    tracking_token: str
    tracking_url: str
    eta: datetime | None
    is_delayed: bool
    # The items; the delivery fee comes on top.
    total_cents: int
    delivery_fee_cents: int
    currency: str
    lines: list[OrderLineView]
    delivery_address: DeliveryAddressView
    # Read it to the driver at the door; None when orders need no PIN.
    delivery_pin: str | None
    tip_cents: int
    driver_location: DriverLocationView | None
    timeline: list[TimelineView]

    @classmethod
    def from_usecase(cls, found: usecases.CustomerOrder, outgoing: Outgoing) -> OrderView:
        order = found.order
        address = Address.model_validate(order.address)
        return cls(
            id=order.id,
            status=order.status.value,
            placed_at=order.created_at,
            deliver_by=order.deliver_by,
            window=WindowView(starts_at=order.window_start, ends_at=order.deliver_by),
            tracking_token=order.tracking_token,
            tracking_url=outgoing.tracking_url(order.tracking_token),
            eta=found.eta,
            is_delayed=order.is_at_risk,
            total_cents=order.total_cents,
            delivery_fee_cents=order.delivery_fee_cents,
            currency=order.currency,
            lines=[
                OrderLineView(
                    offer_id=line.offer_id,
                    title=line.title,
                    quantity=line.quantity,
                    unit_price_cents=line.unit_price_cents,
                    is_cancelled=line.is_cancelled,
                )
                for line in order.lines
            ],
            delivery_address=DeliveryAddressView(
                line1=address.line1,
                line2=address.line2,
                city=address.city,
                region=address.region,
                postal_code=address.postal_code,
                instructions=address.instructions,
            ),
            delivery_pin=order.pin,
            tip_cents=order.tip_cents,
            driver_location=(
                DriverLocationView(lat=found.driver.lat, lng=found.driver.lng, at=found.driver.at)
                if found.driver
                else None
            ),
            timeline=[
                TimelineView(at=e.at, status=e.status, message=e.message) for e in found.timeline
            ],
        )
