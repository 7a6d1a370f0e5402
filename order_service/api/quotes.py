"""Quotes for the storefront: can this cart reach this address today, in which windows, for
what delivery fee. Like every customer response, it never names a store or mall."""

from __future__ import annotations

from datetime import datetime
from typing import Any
from uuid import UUID

from fastapi import APIRouter
from pydantic import BaseModel, ConfigDict, Field

from order_service import usecases
from order_service.api.checkout import (
    catalog_problem,
    check_cart_size,
    quote_policy,
    sold_out_problem,
)
from order_service.api.deps import CatalogDep, CustomerDep, SettingsDep
from order_service.api.order_views import ADDRESS_EXAMPLE, OFFER_ID_EXAMPLE
from order_service.catalog_client import CatalogUnavailable, OfferNotFound
from order_service.domain.checkout import Address, CartLine
from order_service.domain.errors import SoldOut
from shared import clock
from shared.api import DbDep
from shared.problems import PROBLEM

router = APIRouter(tags=["orders"])

_QUOTE_ID = "6a1d2c3b-4e5f-4a7b-8c9d-0e1f2a3b4c5d"
QUOTE_EXAMPLE: dict[str, Any] = {
    "id": _QUOTE_ID,
    "expires_at": "2026-11-25T19:05:00Z",
    "can_arrive_today": True,
    "windows": [
        {
            "id": "w1",
            "kind": "asap",
            "label": "by 11:45 AM",
            "starts_at": "2026-11-25T11:00:00-08:00",
            "ends_at": "2026-11-25T11:45:00-08:00",
            "is_today": True,
            "delivery_fee_cents": 599,
        },
        {
            "id": "w2",
            "kind": "scheduled",
            "label": "6–8 PM",
            "starts_at": "2026-11-25T18:00:00-08:00",
            "ends_at": "2026-11-25T20:00:00-08:00",
            "is_today": True,
            "delivery_fee_cents": 399,
        },
        {
            "id": "w3",
            "kind": "scheduled",
            "label": "tomorrow by 12 PM",
            "starts_at": "2026-11-26T10:00:00-08:00",
            "ends_at": "2026-11-26T12:00:00-08:00",
            "is_today": False,
            "delivery_fee_cents": 399,
        },
    ],
    "items_total_cents": 4998,
    "currency": "USD",
}


class QuoteRequest(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "lines": [{"offer_id": OFFER_ID_EXAMPLE, "quantity": 2}],
                    "address": {**ADDRESS_EXAMPLE, "lat": 36.1605, "lng": -115.1237},
                }
            ]
        }
    )

    lines: list[CartLine] = Field(min_length=1)
    address: Address


class QuotedWindowView(BaseModel):
    id: str = Field(description="Send it with the quote's id to checkout as window_id.")
    kind: str = Field(description='"asap" (from now until the end) or "scheduled" (a slot)')
    label: str = Field(description='For people, e.g. "by 4:30 PM", "6–8 PM", "tomorrow by 12 PM"')
    starts_at: datetime
    ends_at: datetime
    is_today: bool
    delivery_fee_cents: int


class QuoteView(BaseModel):
    id: UUID
    expires_at: datetime = Field(description="Check out before then; after it, quote again.")
    can_arrive_today: bool
    # Earliest first; empty when neither today nor tomorrow has room.
    windows: list[QuotedWindowView]
    items_total_cents: int
    currency: str


@router.post(
    "/v1/quotes",
    status_code=201,
    summary="Whether a cart can arrive today at an address: the delivery windows on offer and "
    "their fees, valid for 5 minutes",
    responses={
        201: {"content": {"application/json": {"example": QUOTE_EXAMPLE}}},
        401: PROBLEM,
        409: PROBLEM,
        422: PROBLEM,
        503: PROBLEM,
    },
)
async def create_quote(
    body: QuoteRequest,
    db: DbDep,
    catalog: CatalogDep,
    settings: SettingsDep,
    customer: CustomerDep,
) -> QuoteView:
    check_cart_size(body.lines, settings)
    try:
        offers = await usecases.resolve_offers(
            catalog, body.lines, at=(body.address.lat, body.address.lng)
        )
    except (OfferNotFound, CatalogUnavailable, usecases.MixedCurrencies) as error:
        raise catalog_problem(error, body.lines, settings.catalog_retry_after_seconds) from None
    now = clock.now()
    try:
        async with db.begin() as tx:
            quote = await usecases.make_quote(
                tx,
                customer_id=customer.id,
                lines=body.lines,
                address=body.address,
                offers=offers,
                policy=quote_policy(settings),
                now=now,
            )
    except SoldOut as error:
        raise sold_out_problem(body.lines, usecases.sold_out_offers(offers, error)) from None
    return QuoteView(
        id=quote.id,
        expires_at=quote.expires_at,
        can_arrive_today=any(w.is_on(now) for w in quote.windows),
        windows=[
            QuotedWindowView(
                id=w.id,
                kind=w.kind,
                label=w.label,
                starts_at=w.starts_at,
                ends_at=w.ends_at,
                is_today=w.is_on(now),
                delivery_fee_cents=w.fee_cents,
            )
            for w in quote.windows
        ],
        items_total_cents=sum(
            offers[line.offer_id].price_cents * line.quantity for line in body.lines
        ),
        currency=quote.currency,
    )
