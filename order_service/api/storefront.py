"""The storefront's side: its webhook endpoints (signing secrets, rotation), its deliveries
(failed ones kept and replayable), and the status webhooks it receives, declared in the OpenAPI
document's `webhooks` section. Nothing here names a store or mall."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Annotated, Any, Literal
from uuid import UUID

import orjson
from fastapi import APIRouter, Path, Query, Response
from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, HttpUrl

from order_service import usecases
from order_service.api.deps import OutgoingDep, StorefrontDep
from order_service.domain.order import StorefrontEvent
from order_service.store.webhooks import DeliveryStatus
from shared import clock
from shared.api import DbDep
from shared.problems import PROBLEM, Conflict, NotFound

router = APIRouter(prefix="/v1/storefront", tags=["storefront"])

_ENDPOINT_ID = "5d0f6c2a-9b7e-4e31-8a45-c2d1e0f9b3a7"
_DELIVERY_ID = "b8e2f4a1-6c3d-4f5e-9a7b-1d2c3e4f5a6b"
_ORDER_ID = "3f2b9c1e-8d4a-4e6b-9a57-1c0d2e3f4a5b"
_TOKEN = "q8m3Zr1wKc5tLx0pVb7nJg"
_TRACKING_URL = f"https://track.example.com/t/{_TOKEN}"
_SECRET = "whsec_O/rzKG8WTA1jQpD2gexLxt9EwTJr6B/hPoD0szsXgk0="
EVENT_TYPES = [e.value for e in StorefrontEvent]


# --- endpoints -------------------------------------------------------------------------------


class EndpointRequest(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "url": "https://shop.example/hooks/mall-to-home",
                    "event_types": None,
                    "description": "order status to the shop's backend",
                }
            ]
        }
    )

    url: HttpUrl
    # None: every event type.
    event_types: list[StorefrontEvent] | None = Field(None, min_length=1)
    description: str = Field("", max_length=200)


class EndpointView(BaseModel):
    id: UUID
    url: str
    event_types: list[str] | None
    description: str
    created_at: datetime


class NewEndpointView(EndpointView):
    # Shown once: verify our signatures with it (Standard Webhooks).
    secret: str


_ENDPOINT_EXAMPLE: dict[str, Any] = {
    "id": _ENDPOINT_ID,
    "url": "https://shop.example/hooks/mall-to-home",
    "event_types": None,
    "description": "order status to the shop's backend",
    "created_at": "2026-11-25T18:00:00Z",
}


@router.post(
    "/webhook-endpoints",
    status_code=201,
    summary="Register a webhook endpoint; the answer holds its signing secret (shown once)",
    responses={
        201: {
            "content": {"application/json": {"example": {**_ENDPOINT_EXAMPLE, "secret": _SECRET}}}
        },
        401: PROBLEM,
        422: PROBLEM,
    },
)
async def register_endpoint(body: EndpointRequest, db: DbDep, _: StorefrontDep) -> NewEndpointView:
    async with db.begin() as tx:
        endpoint, secret = await usecases.register_endpoint(
            tx,
            url=str(body.url),
            event_types=None if body.event_types is None else [e.value for e in body.event_types],
            description=body.description,
            now=clock.now(),
        )
    return NewEndpointView(**_endpoint_view(endpoint).model_dump(), secret=secret)


def _endpoint_view(endpoint: usecases.EndpointRow) -> EndpointView:
    return EndpointView(
        id=endpoint.id,
        url=endpoint.url,
        event_types=endpoint.event_types,
        description=endpoint.description,
        created_at=endpoint.created_at,
    )


@router.get(
    "/webhook-endpoints",
    summary="The storefront's webhook endpoints",
    responses={
        200: {"content": {"application/json": {"example": [_ENDPOINT_EXAMPLE]}}},
        401: PROBLEM,
    },
)
async def list_endpoints(db: DbDep, _: StorefrontDep) -> list[EndpointView]:
    async with db.begin() as tx:
        return [_endpoint_view(e) for e in await usecases.storefront_endpoints(tx)]


EndpointId = Annotated[UUID, Path(examples=[_ENDPOINT_ID])]


@router.delete(
    "/webhook-endpoints/{endpoint_id}",
    status_code=204,
    summary="Remove an endpoint; its pending deliveries are kept as failed",
    responses={204: {"description": "Removed"}, 401: PROBLEM, 404: PROBLEM},
)
async def remove_endpoint(endpoint_id: EndpointId, db: DbDep, _: StorefrontDep) -> Response:
    async with db.begin() as tx:
        if not await usecases.remove_endpoint(tx, endpoint_id, clock.now()):
            raise NotFound("webhook endpoint")
    return Response(status_code=204)


class RotateRequest(BaseModel):
    model_config = ConfigDict(json_schema_extra={"examples": [{"grace_seconds": 86400}]})

    # The current secret keeps signing beside the new one this long (at most a week).
    grace_seconds: int = Field(86_400, ge=0, le=7 * 86_400)


class RotatedView(BaseModel):
    id: UUID
    secret: str
    previous_secret_expires_at: datetime


@router.post(
    "/webhook-endpoints/{endpoint_id}/rotate-secret",
    summary="A new signing secret; the previous one keeps signing beside it for the grace period",
    responses={
        200: {
            "content": {
                "application/json": {
                    "example": {
                        "id": _ENDPOINT_ID,
                        "secret": "whsec_3yq0tXj2cF8kR1nWm9bVz4sLp6dGh7aE5uQi2oYx0rA=",
                        "previous_secret_expires_at": "2026-11-26T18:00:00Z",
                    }
                }
            }
        },
        401: PROBLEM,
        404: PROBLEM,
        422: PROBLEM,
    },
)
async def rotate_secret(
    endpoint_id: EndpointId, db: DbDep, _: StorefrontDep, body: RotateRequest | None = None
) -> RotatedView:
    grace = timedelta(seconds=(body or RotateRequest()).grace_seconds)
    now = clock.now()
    async with db.begin() as tx:
        secret = await usecases.rotate_endpoint_secret(tx, endpoint_id, now, grace)
    if secret is None:
        raise NotFound("webhook endpoint")
    return RotatedView(id=endpoint_id, secret=secret, previous_secret_expires_at=now + grace)


# --- deliveries ------------------------------------------------------------------------------


class AttemptView(BaseModel):
    at: datetime
    status_code: int | None
    error: str | None
    duration_ms: int | None


class DeliveryView(BaseModel):
    id: UUID = Field(description="The webhook-id header of every attempt of this delivery.")
    endpoint_id: UUID
    order_id: UUID | None
    event_type: str
    status: Literal["pending", "delivered", "failed"]
    attempts: int
    created_at: datetime
    next_attempt_at: datetime | None
    delivered_at: datetime | None
    failed_at: datetime | None
    last_status_code: int | None
    last_error: str | None


class DeliveryDetailView(DeliveryView):
    payload: dict[str, Any]
    attempt_log: list[AttemptView]


_DELIVERY_EXAMPLE: dict[str, Any] = {
    "id": _DELIVERY_ID,
    "endpoint_id": _ENDPOINT_ID,
    "order_id": _ORDER_ID,
    "event_type": "order.out_for_delivery",
    "status": "failed",
    "attempts": 97,
    "created_at": "2026-11-25T19:33:50Z",
    "next_attempt_at": None,
    "delivered_at": None,
    "failed_at": "2026-11-26T19:34:02Z",
    "last_status_code": 503,
    "last_error": "Service Unavailable",
}


def _delivery_view(row: usecases.DeliveryRow) -> DeliveryView:
    return DeliveryView(
        id=row.id,
        endpoint_id=row.endpoint_id,
        order_id=UUID(row.order_id) if row.order_id else None,
        event_type=row.event_type,
        status=row.status.value,
        attempts=row.attempts,
        created_at=row.created_at,
        next_attempt_at=row.next_attempt_at,
        delivered_at=row.delivered_at,
        failed_at=row.failed_at,
        last_status_code=row.last_status_code,
        last_error=row.last_error,
    )


@router.get(
    "/webhook-deliveries",
    summary="Deliveries to the storefront's endpoints, newest first (e.g. the failed ones)",
    responses={
        200: {"content": {"application/json": {"example": [_DELIVERY_EXAMPLE]}}},
        401: PROBLEM,
        422: PROBLEM,
    },
)
async def list_deliveries(
    db: DbDep,
    _: StorefrontDep,
    status: Annotated[
        Literal["pending", "delivered", "failed"] | None, Query(examples=["failed"])
    ] = None,
    endpoint_id: Annotated[UUID | None, Query(examples=[_ENDPOINT_ID])] = None,
    limit: Annotated[int, Query(ge=1, le=500, examples=[100])] = 100,
) -> list[DeliveryView]:
    async with db.begin() as tx:
        rows = await usecases.storefront_deliveries(
            tx,
            status=None if status is None else DeliveryStatus(status),
            endpoint_id=endpoint_id,
            limit=limit,
        )
    return [_delivery_view(row) for row in rows]


DeliveryId = Annotated[UUID, Path(examples=[_DELIVERY_ID])]


@router.get(
    "/webhook-deliveries/{delivery_id}",
    summary="One delivery: its payload and every attempt",
    responses={
        200: {
            "content": {
                "application/json": {
                    "example": {
                        **_DELIVERY_EXAMPLE,
                        "payload": {
                            "type": "order.out_for_delivery",
                            "timestamp": "2026-11-25T19:33:50Z",
                            "data": {"order_id": _ORDER_ID, "status": "picked_up"},
                        },
                        "attempt_log": [
                            {
                                "at": "2026-11-25T19:33:51Z",
                                "status_code": 503,
                                "error": "Service Unavailable",
                                "duration_ms": 41,
                            }
                        ],
                    }
                }
            }
        },
        401: PROBLEM,
        404: PROBLEM,
    },
)
async def get_delivery(delivery_id: DeliveryId, db: DbDep, _: StorefrontDep) -> DeliveryDetailView:
    async with db.begin() as tx:
        found = await usecases.storefront_delivery(tx, delivery_id)
    if found is None:
        raise NotFound("delivery")
    row, attempts = found
    return DeliveryDetailView(
        **_delivery_view(row).model_dump(),
        payload=orjson.loads(row.body),
        attempt_log=[
            AttemptView(
                at=a.at, status_code=a.status_code, error=a.error, duration_ms=a.duration_ms
            )
            for a in attempts
        ],
    )


@router.post(
    "/webhook-deliveries/{delivery_id}/replay",
    status_code=202,
    summary="Send a failed delivery again (same webhook-id and payload), before its order's "
    "later deliveries",
    responses={
        202: {
            "content": {"application/json": {"example": {**_DELIVERY_EXAMPLE, "status": "pending"}}}
        },
        401: PROBLEM,
        404: PROBLEM,
        409: PROBLEM,
    },
)
async def replay_delivery(
    delivery_id: DeliveryId, db: DbDep, outgoing: OutgoingDep, _: StorefrontDep
) -> DeliveryView:
    try:
        async with db.begin() as tx:
            outcome = await usecases.replay_delivery(tx, delivery_id, clock.now(), outgoing)
    except usecases.EndpointRemoved:
        raise Conflict(
            "endpoint_removed",
            "This delivery's endpoint was removed; register an endpoint to receive new events.",
        ) from None
    if outcome is None:
        raise NotFound("delivery")
    if outcome.status is not DeliveryStatus.PENDING:
        raise Conflict(
            "not_failed",
            f"This delivery is {outcome.status.value}; only failed deliveries are replayed.",
        )
    return _delivery_view(outcome)


class ReplayedView(BaseModel):
    replayed: int


@router.post(
    "/webhook-endpoints/{endpoint_id}/replay-failed",
    status_code=202,
    summary="Send every failed delivery of an endpoint again, each order's in their order",
    responses={
        202: {"content": {"application/json": {"example": {"replayed": 3}}}},
        401: PROBLEM,
        404: PROBLEM,
    },
)
async def replay_failed(
    endpoint_id: EndpointId, db: DbDep, outgoing: OutgoingDep, _: StorefrontDep
) -> ReplayedView:
    async with db.begin() as tx:
        replayed = await usecases.replay_failed(tx, endpoint_id, clock.now(), outgoing)
    if replayed is None:
        raise NotFound("webhook endpoint")
    return ReplayedView(replayed=replayed)


# --- the webhooks the storefront receives ----------------------------------------------------


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
    "order_id": _ORDER_ID,
    "tracking_token": _TOKEN,
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
