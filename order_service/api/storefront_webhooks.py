"""The status webhooks the storefront receives, declared in the OpenAPI document's `webhooks`
section. Nothing here names a store or mall.
"""

from __future__ import annotations

from typing import Any, Literal
from uuid import UUID

from fastapi import APIRouter
from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

from order_service.api.order_views import ORDER_ID_EXAMPLE, TRACKING_TOKEN_EXAMPLE

_TRACKING_URL = f"https://track.example.com/t/{TRACKING_TOKEN_EXAMPLE}"


class WindowView(BaseModel):
    starts_at: AwareDatetime
    ends_at: AwareDatetime


class WebhookOrder(BaseModel):
    """What every status webhook says of the order."""

    model_config = ConfigDict(extra="forbid")

    order_id: UUID
    status: str
    tracking_token: str
    tracking_url: str
    window: WindowView
    deliver_by: AwareDatetime


class WebhookLine(BaseModel):
    model_config = ConfigDict(extra="forbid")

    offer_id: str
    title: str
    quantity: int
    unit_price_cents: int


class PlacedData(WebhookOrder):
    placed_at: AwareDatetime
    items_total_cents: int
    delivery_fee_cents: int
    currency: str
    lines: list[WebhookLine]


class OutForDeliveryData(WebhookOrder):
    eta: AwareDatetime


class ProofLocation(BaseModel):
    """The drop-off point the shopper gave: never the driver's own fix."""

    model_config = ConfigDict(extra="forbid")

    lat: float
    lng: float


class ProofPhoto(BaseModel):
    model_config = ConfigDict(extra="forbid")

    url: str = Field(
        description="Signed; stops working at expires_at. The tracking status"
        " (/t/{token}/status) has fresh ones."
    )
    expires_at: AwareDatetime


class Proof(BaseModel):
    model_config = ConfigDict(extra="forbid")

    delivered_at: AwareDatetime
    location: ProofLocation
    photos: list[ProofPhoto]


class DeliveredData(WebhookOrder):
    delivered_at: AwareDatetime
    proof: Proof


class EndedData(WebhookOrder):
    reason: str
    # Picked up before it ended: the driver takes the goods back, nothing is delivered.
    is_returning_goods: bool


class TipAddedData(WebhookOrder):
    tip_cents: int
    currency: str


class _Webhook(BaseModel):
    model_config = ConfigDict(extra="forbid")

    timestamp: AwareDatetime


class OrderPlacedWebhook(_Webhook):
    type: Literal["order.placed"]
    data: PlacedData


class OrderOutForDeliveryWebhook(_Webhook):
    type: Literal["order.out_for_delivery"]
    data: OutForDeliveryData


class OrderDeliveredWebhook(_Webhook):
    type: Literal["order.delivered"]
    data: DeliveredData


class OrderDeliveryFailedWebhook(_Webhook):
    type: Literal["order.delivery_failed"]
    data: EndedData


class OrderCancelledWebhook(_Webhook):
    type: Literal["order.cancelled"]
    data: EndedData


class OrderTipAddedWebhook(_Webhook):
    type: Literal["order.tip_added"]
    data: TipAddedData


WEBHOOK_MODELS: dict[str, type[_Webhook]] = {
    "order.placed": OrderPlacedWebhook,
    "order.out_for_delivery": OrderOutForDeliveryWebhook,
    "order.delivered": OrderDeliveredWebhook,
    "order.delivery_failed": OrderDeliveryFailedWebhook,
    "order.cancelled": OrderCancelledWebhook,
    "order.tip_added": OrderTipAddedWebhook,
}

_ORDER: dict[str, Any] = {
    "order_id": ORDER_ID_EXAMPLE,
    "tracking_token": TRACKING_TOKEN_EXAMPLE,
    "tracking_url": _TRACKING_URL,
    "window": {"starts_at": "2026-11-25T18:00:00-08:00", "ends_at": "2026-11-25T20:00:00-08:00"},
    "deliver_by": "2026-11-25T20:00:00-08:00",
}
WEBHOOK_EXAMPLES: dict[str, dict[str, Any]] = {
    "order.placed": {
        "type": "order.placed",
        "timestamp": "2026-11-25T21:02:11Z",
        "data": {
            **_ORDER,
            "status": "placed",
            "placed_at": "2026-11-25T21:02:11Z",
            "items_total_cents": 4998,
            "delivery_fee_cents": 399,
            "currency": "USD",
            "lines": [
                {
                    "offer_id": "q3ZkTj9xW1bYc2VhLWV4YW1wbGUtb2ZmZXItMDE",
                    "title": "Cotton crew-neck tee, black, M",
                    "quantity": 2,
                    "unit_price_cents": 2499,
                }
            ],
        },
    },
    "order.out_for_delivery": {
        "type": "order.out_for_delivery",
        "timestamp": "2026-11-26T02:33:50Z",
        "data": {**_ORDER, "status": "picked_up", "eta": "2026-11-25T18:52:00-08:00"},
    },
    "order.delivered": {
        "type": "order.delivered",
        "timestamp": "2026-11-26T02:51:12Z",
        "data": {
            **_ORDER,
            "status": "delivered",
            "delivered_at": "2026-11-26T02:51:12Z",
            "proof": {
                "delivered_at": "2026-11-26T02:51:12Z",
                "location": {"lat": 36.1605, "lng": -115.1237},
                "photos": [
                    {
                        "url": "https://photos.example.com/v1/proof-photos/"
                        "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08"
                        "?expires=1795840272&signature=6b3a55e0261b0304143f805a249b6f1e"
                        "1a2f0a5c9e1f1c3e3b7c5c0e1f2a3b4c",
                        "expires_at": "2026-11-28T02:51:12Z",
                    }
                ],
            },
        },
    },
    "order.delivery_failed": {
        "type": "order.delivery_failed",
        "timestamp": "2026-11-26T02:51:12Z",
        "data": {
            **_ORDER,
            "status": "delivery_failed",
            "reason": "customer_absent",
            "is_returning_goods": True,
        },
    },
    "order.cancelled": {
        "type": "order.cancelled",
        "timestamp": "2026-11-25T21:05:00Z",
        "data": {
            **_ORDER,
            "status": "cancelled",
            "reason": "customer_cancelled",
            "is_returning_goods": False,
        },
    },
    "order.tip_added": {
        "type": "order.tip_added",
        "timestamp": "2026-11-26T03:10:00Z",
        "data": {**_ORDER, "status": "delivered", "tip_cents": 500, "currency": "USD"},
    },
}

webhooks = APIRouter()

_RECEIVER_ANSWERS: dict[int | str, dict[str, Any]] = {
    200: {"description": "Any 2xx: received. Anything else, or no answer in 5 s, is retried."},
}
_HEADERS = (
    " Signed with Standard Webhooks: `webhook-id` (the same on every retry: de-duplicate on it),"
    " `webhook-timestamp`, `webhook-signature` (one `v1,` signature per live secret)."
)


def _declare(event_type: str, model: type[_Webhook], summary: str) -> None:
    async def receive(body: _Webhook) -> None:
        """Declared for the OpenAPI document; the storefront implements it."""

    # The body's schema is the event's own model (annotations are strings in this module).
    receive.__annotations__ = {"body": model, "return": None}
    receive.__name__ = event_type.replace(".", "_")
    webhooks.post(
        event_type,
        summary=summary,
        description=summary + _HEADERS,
        responses=_RECEIVER_ANSWERS,
        openapi_extra={
            "requestBody": {
                "content": {"application/json": {"example": WEBHOOK_EXAMPLES[event_type]}}
            }
        },
    )(receive)


for _type, _model, _summary in (
    ("order.placed", OrderPlacedWebhook, "An order was placed, with its tracking link."),
    (
        "order.out_for_delivery",
        OrderOutForDeliveryWebhook,
        "A driver has the order and is on the way, with an ETA.",
    ),
    (
        "order.delivered",
        OrderDeliveredWebhook,
        "Delivered, with the proof: time, photo links valid for a limited time, the drop-off.",
    ),
    (
        "order.delivery_failed",
        OrderDeliveryFailedWebhook,
        "The driver could not hand it over; the goods go back.",
    ),
    (
        "order.cancelled",
        OrderCancelledWebhook,
        "Cancelled, with the reason and whether goods are being returned.",
    ),
    ("order.tip_added", OrderTipAddedWebhook, "The shopper tipped the driver."),
):
    _declare(_type, _model, _summary)
