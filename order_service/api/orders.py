"""The customer API: checkout, order status, cancel. Never a store or mall, in any field."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Annotated, Any
from uuid import UUID

from fastapi import APIRouter, Depends, Header, Path, Response
from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, model_validator

from order_service import usecases
from order_service.api.deps import (
    CatalogDep,
    CustomerDep,
    OutgoingDep,
    SettingsDep,
    limit_checkout,
    limit_orders,
)
from order_service.catalog_client import CatalogClient, CatalogUnavailable, Offer, OfferNotFound
from order_service.domain.checkout import Address, CartLine, Contact
from order_service.domain.errors import (
    DomainError,
    NotCancellable,
    QuoteExpired,
    QuoteMismatch,
    SoldOut,
    TipAlreadyGiven,
    TipNotAllowed,
    UnknownWindow,
    WindowFull,
)
from order_service.domain.quote import SCHEDULED, Fees
from order_service.outgoing import Outgoing
from order_service.settings import OrderSettings
from order_service.store import orders as order_store
from shared import clock
from shared.api import DbDep
from shared.db import Tx
from shared.problems import PROBLEM, Conflict, FieldError, NotFound, ProblemError, Unprocessable
from shared.text import RequestModel

router = APIRouter(tags=["orders"])

# Customer-facing: examples name no store or mall, not even in words, like the responses.
_ORDER_ID = "3f2b9c1e-8d4a-4e6b-9a57-1c0d2e3f4a5b"
_OFFER_ID = "q3ZkTj9xW1bYc2VhLWV4YW1wbGUtb2ZmZXItMDE"
_ADDRESS: dict[str, Any] = {
    "line1": "1420 Desert Willow Dr",
    "line2": "Apt 12",
    "city": "Las Vegas",
    "region": "NV",
    "postal_code": "89104",
    "instructions": "Gate code 4512; leave with the concierge if no answer.",
}
_TRACKING_TOKEN = "q8m3Zr1wKc5tLx0pVb7nJg"
_PLACED: dict[str, Any] = {
    "id": _ORDER_ID,
    "status": "placed",
    "placed_at": "2026-11-25T21:02:11Z",
    "deliver_by": "2026-11-25T20:30:00-08:00",
    "window": {"starts_at": "2026-11-25T13:02:11-08:00", "ends_at": "2026-11-25T20:30:00-08:00"},
    "tracking_token": _TRACKING_TOKEN,
    "tracking_url": f"https://track.example.com/t/{_TRACKING_TOKEN}",
    "eta": None,
    "is_delayed": False,
    "total_cents": 4998,
    "delivery_fee_cents": 599,
    "currency": "USD",
    "lines": [
        {
            "offer_id": _OFFER_ID,
            "title": "Cotton crew-neck tee, black, M",
            "quantity": 2,
            "unit_price_cents": 2499,
            "is_cancelled": False,
        }
    ],
    "delivery_address": _ADDRESS,
    "delivery_pin": "4821",
    "tip_cents": 0,
    "driver_location": None,
    "timeline": [{"at": "2026-11-25T21:02:11Z", "status": "placed", "message": "Order placed."}],
}
ORDER_EXAMPLES: dict[str, dict[str, Any]] = {
    "placed": {"summary": "Just placed", "value": _PLACED},
    "on_its_way": {
        "summary": "Picked up: the driver's position is shown",
        "value": {
            **_PLACED,
            "status": "picked_up",
            "eta": "2026-11-25T19:55:00-08:00",
            "driver_location": {"lat": 36.1583, "lng": -115.1521, "at": "2026-11-26T03:41:30Z"},
            "timeline": [
                *_PLACED["timeline"],
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
    **_PLACED,
    "status": "cancelled",
    "timeline": [
        *_PLACED["timeline"],
        {
            "at": "2026-11-25T21:05:00Z",
            "status": "cancelled",
            "message": "Order cancelled; you will not be charged.",
        },
    ],
}
TIPPED_EXAMPLE: dict[str, Any] = {
    **_PLACED,
    "status": "delivered",
    "tip_cents": 500,
    "timeline": [
        *_PLACED["timeline"],
        {"at": "2026-11-26T03:56:12Z", "status": "delivered", "message": "Delivered."},
    ],
}
OrderId = Annotated[UUID, Path(examples=[_ORDER_ID])]


class CheckoutRequest(RequestModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "lines": [{"offer_id": _OFFER_ID, "quantity": 2}],
                    "address": {**_ADDRESS, "lat": 36.1605, "lng": -115.1237},
                    "contact": {"name": "Dana Whitfield", "phone": "+17025550142"},
                }
            ]
        }
    )

    lines: list[CartLine] = Field(min_length=1)
    address: Address
    contact: Contact
    # From POST /v1/quotes, with one of its windows' ids; without them: as soon as possible.
    quote_id: UUID | None = None
    window_id: str | None = Field(None, min_length=1, max_length=20)

    @model_validator(mode="after")
    def _quote_with_window(self) -> CheckoutRequest:
        if (self.quote_id is None) != (self.window_id is None):
            raise ValueError("send quote_id and window_id together, or neither")
        return self


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


IdempotencyKey = Annotated[
    str | None,
    Header(
        alias="Idempotency-Key", max_length=200, examples=["9b6c0f7e-52a1-4d3c-8e2f-7a1b4c5d6e7f"]
    ),
]


@router.post(
    "/v1/checkout",
    status_code=201,
    summary="Place an order (retry with the same Idempotency-Key and body is safe)",
    responses={
        201: {"content": {"application/json": {"example": _PLACED}}},
        200: {
            "model": OrderView,
            "description": "A retry of an order already placed",
            "content": {"application/json": {"example": _PLACED}},
        },
        400: PROBLEM,
        401: PROBLEM,
        409: PROBLEM,
        422: PROBLEM,
        429: PROBLEM,
        503: PROBLEM,
    },
    dependencies=[Depends(limit_checkout)],
)
async def checkout(
    body: CheckoutRequest,
    response: Response,
    db: DbDep,
    catalog: CatalogDep,
    settings: SettingsDep,
    outgoing: OutgoingDep,
    customer: CustomerDep,
    idempotency_key: IdempotencyKey = None,
) -> OrderView:
    if not idempotency_key:
        raise ProblemError(
            400,
            "idempotency_key_missing",
            "Send an Idempotency-Key header (e.g. a UUID) so a retry cannot order twice.",
        )
    if len(body.lines) > settings.max_cart_lines:
        raise Unprocessable(
            f"Split the cart: at most {settings.max_cart_lines} lines per order.",
            [FieldError(field="lines", message=f"at most {settings.max_cart_lines} lines")],
        )
    fingerprint = usecases.request_fingerprint(body.model_dump_json().encode())
    now = clock.now()
    async with db.begin() as tx:
        claimed = await order_store.claim_idempotency_key(
            tx,
            customer.id,
            idempotency_key,
            fingerprint,
            now,
            stale_before=now - timedelta(seconds=settings.idempotency_stale_seconds),
        )
        if not claimed:
            return await _replay(tx, customer.id, idempotency_key, fingerprint, response, outgoing)
    offers: dict[str, Offer] = {}
    try:
        offers = await _resolve(catalog, body.lines, settings.catalog_retry_after_seconds)
        usecases.check_delivery_area(body.address, offers)
        async with db.begin() as tx:
            await usecases.seed_from_offers(tx, offers)
            window, fee = await _window(tx, body, customer.id, settings, now)
            placed = await usecases.place_order(
                tx,
                customer_id=customer.id,
                lines=body.lines,
                address=body.address,
                contact=body.contact,
                offers=offers,
                idempotency_key=idempotency_key,
                pin=usecases.new_pin() if settings.require_delivery_pin else None,
                now=now,
                outgoing=outgoing,
                window=window,
                delivery_fee_cents=fee,
            )
    except BaseException as error:
        async with db.begin() as tx:
            await order_store.drop_idempotency_key(tx, customer.id, idempotency_key)
        if isinstance(error, SoldOut):
            raise _sold_out(body.lines, offers, error) from None
        if isinstance(error, usecases.OutsideDeliveryArea):
            raise Unprocessable(
                "We cannot deliver these items to this address today; check the address "
                "(and its map position), or browse again from it.",
                [FieldError(field="address", message="outside the same-day delivery area")],
                code="address_out_of_area",
            ) from None
        if isinstance(error, DomainError | usecases.UnknownQuote):
            raise _quote_problem(error) from None
        raise
    response.headers["Location"] = f"/v1/orders/{placed.order.id}"
    return OrderView.from_usecase(placed, outgoing)


def quote_policy(settings: OrderSettings) -> usecases.QuotePolicy:
    return usecases.QuotePolicy(
        fees=Fees(asap_cents=settings.asap_fee_cents, scheduled_cents=settings.scheduled_fee_cents),
        ttl=timedelta(seconds=settings.quote_ttl_seconds),
        default_orders_per_hour=settings.default_orders_per_hour,
    )


async def _window(
    tx: Tx, body: CheckoutRequest, customer_id: str, settings: OrderSettings, now: datetime
) -> tuple[usecases.DeliveryWindow | None, int]:
    """The quoted window and its fee; without a quote, as soon as possible at its fee."""
    if body.quote_id is None or body.window_id is None:
        return None, settings.asap_fee_cents
    chosen = await usecases.quoted_window(
        tx,
        quote_id=body.quote_id,
        window_id=body.window_id,
        customer_id=customer_id,
        lines=body.lines,
        address=body.address,
        policy=quote_policy(settings),
        now=now,
    )
    starts_at = chosen.starts_at if chosen.kind == SCHEDULED else None
    return usecases.DeliveryWindow(starts_at, chosen.ends_at), chosen.fee_cents


def _quote_problem(error: BaseException) -> ProblemError:
    if isinstance(error, usecases.UnknownQuote):
        return NotFound("quote", "No such quote for you; ask for a new quote and retry.")
    if isinstance(error, QuoteExpired):
        return Conflict(
            "quote_expired",
            "This quote has expired; ask for a new quote (POST /v1/quotes) and check out with it.",
            title="Quote expired",
        )
    if isinstance(error, QuoteMismatch):
        return Conflict(
            "quote_mismatch",
            f"The checkout's {error.what} differs from the quote's; quote this cart and address"
            " again.",
        )
    if isinstance(error, UnknownWindow):
        return Unprocessable(
            "Pick one of the quote's windows by its id.",
            [FieldError(field="window_id", message="not a window of this quote")],
            code="unknown_window",
        )
    if isinstance(error, WindowFull):
        return Conflict(
            "window_full",
            "That delivery window has just filled up; ask for a new quote and pick another.",
        )
    raise error


async def _replay(
    tx: Tx,
    customer_id: str,
    key: str,
    fingerprint: str,
    response: Response,
    outgoing: Outgoing,
) -> OrderView:
    record = await order_store.get_idempotency_key(tx, customer_id, key)
    if record is not None and record.request_sha256 != fingerprint:
        raise Conflict(
            "idempotency_key_reused",
            "This Idempotency-Key was used for another order; use a new key.",
        )
    if record is None or record.order_id is None:
        raise Conflict(
            "request_in_progress",
            "An order with this Idempotency-Key is still being placed; retry in a moment.",
        )
    found = await usecases.order_for_customer(tx, record.order_id, customer_id, clock.now())
    if found is None:
        raise NotFound("order")
    response.status_code = 200
    response.headers["Location"] = f"/v1/orders/{record.order_id}"
    return OrderView.from_usecase(found, outgoing)


async def _resolve(
    catalog: CatalogClient,
    lines: list[CartLine],
    retry_after: int,
    at: tuple[float, float] | None = None,
) -> dict[str, Offer]:
    try:
        offers = await catalog.resolve_all([line.offer_id for line in lines], at)
    except OfferNotFound as error:
        raise Unprocessable(
            "An item is no longer available for same-day delivery; remove it and retry.",
            [
                FieldError(field=f"lines.{i}.offer_id", message="unknown or expired offer")
                for i, line in enumerate(lines)
                if line.offer_id == error.offer_id
            ],
            code="offer_unavailable",
        ) from None
    except CatalogUnavailable:
        raise ProblemError(
            503,
            "catalog_unavailable",
            f"We cannot check availability right now; retry in {retry_after} seconds.",
            title="Service unavailable",
            headers={"Retry-After": str(retry_after)},
        ) from None
    if len({offer.currency for offer in offers.values()}) > 1:
        raise Unprocessable(
            "These items are priced in different currencies; order them separately.",
            [FieldError(field="lines", message="mixed currencies")],
            code="mixed_currencies",
        )
    return offers


def _sold_out(lines: list[CartLine], offers: dict[str, Offer], error: SoldOut) -> ProblemError:
    return ProblemError(
        409,
        "sold_out",
        "Not enough left for same-day delivery; lower the quantity or remove the item.",
        title="Sold out",
        errors=[
            FieldError(field=f"lines.{i}.quantity", message="not enough left")
            for i, line in enumerate(lines)
            if offers[line.offer_id].sku in error.skus
        ],
    )


@router.get(
    "/v1/orders/{order_id}",
    summary="An order's status, promise, ETA and timeline",
    responses={
        200: {"content": {"application/json": {"examples": ORDER_EXAMPLES}}},
        401: PROBLEM,
        404: PROBLEM,
        429: PROBLEM,
    },
    dependencies=[Depends(limit_orders)],
)
async def get_order(
    order_id: OrderId, db: DbDep, outgoing: OutgoingDep, customer: CustomerDep
) -> OrderView:
    async with db.begin() as tx:
        found = await usecases.order_for_customer(tx, order_id, customer.id, clock.now())
    if found is None:
        raise NotFound("order")  # someone else's order must look like a missing one
    return OrderView.from_usecase(found, outgoing)


@router.post(
    "/v1/orders/{order_id}/cancel",
    summary="Cancel an order (after a driver picked it up, it is returned)",
    responses={
        200: {"content": {"application/json": {"example": CANCELLED_EXAMPLE}}},
        401: PROBLEM,
        404: PROBLEM,
        409: PROBLEM,
        429: PROBLEM,
    },
    dependencies=[Depends(limit_orders)],
)
async def cancel_order(
    order_id: OrderId, db: DbDep, outgoing: OutgoingDep, customer: CustomerDep
) -> OrderView:
    now = clock.now()
    try:
        async with db.begin() as tx:
            if not await usecases.cancel_by_customer(tx, order_id, customer.id, now, outgoing):
                raise NotFound("order")
            found = await usecases.order_for_customer(tx, order_id, customer.id, now)
    except NotCancellable:
        raise Conflict(
            "not_cancellable",
            "This order was already delivered or could not be, so it can no longer be cancelled.",
        ) from None
    assert found is not None
    return OrderView.from_usecase(found, outgoing)


class TipRequest(BaseModel):
    model_config = ConfigDict(json_schema_extra={"examples": [{"tip_cents": 500}]})

    tip_cents: int = Field(gt=0, le=20_000)


@router.post(
    "/v1/orders/{order_id}/tip",
    summary="Tip the driver of a delivered order (within 24 hours; sending the same tip again"
    " is safe)",
    responses={
        200: {"content": {"application/json": {"example": TIPPED_EXAMPLE}}},
        401: PROBLEM,
        404: PROBLEM,
        409: PROBLEM,
        422: PROBLEM,
        429: PROBLEM,
    },
    dependencies=[Depends(limit_orders)],
)
async def tip_order(
    order_id: OrderId, body: TipRequest, db: DbDep, outgoing: OutgoingDep, customer: CustomerDep
) -> OrderView:
    now = clock.now()
    try:
        async with db.begin() as tx:
            if not await usecases.tip(tx, order_id, customer.id, body.tip_cents, now, outgoing):
                raise NotFound("order")
            found = await usecases.order_for_customer(tx, order_id, customer.id, now)
    except TipNotAllowed as error:
        raise Conflict("tip_not_allowed", f"{error.detail} Nothing was charged.") from None
    except TipAlreadyGiven as error:
        raise Conflict(
            "tip_already_given",
            f"This order already has a tip of {error.tip_cents} cents; it cannot be changed.",
        ) from None
    assert found is not None
    return OrderView.from_usecase(found, outgoing)
