"""The customer API's checkout: parse the cart, call the checkout use case, map its errors to
problems.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated
from uuid import UUID

from fastapi import APIRouter, Depends, Header, Response
from pydantic import ConfigDict, Field, model_validator

from order_service import usecases
from order_service.api.deps import CatalogDep, CustomerDep, OutgoingDep, SettingsDep, limit_checkout
from order_service.api.order_views import (
    ADDRESS_EXAMPLE,
    OFFER_ID_EXAMPLE,
    PLACED_EXAMPLE,
    OrderView,
)
from order_service.catalog_client import CatalogUnavailable, OfferNotFound
from order_service.domain.checkout import Address, CartLine, Contact
from order_service.domain.errors import (
    DomainError,
    QuoteExpired,
    QuoteMismatch,
    UnknownWindow,
    WindowFull,
)
from order_service.domain.quote import Fees
from order_service.settings import OrderSettings
from shared import clock
from shared.api import DbDep
from shared.problems import PROBLEM, Conflict, FieldError, NotFound, ProblemError, Unprocessable
from shared.text import RequestModel

router = APIRouter(tags=["orders"])


class CheckoutRequest(RequestModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "lines": [{"offer_id": OFFER_ID_EXAMPLE, "quantity": 2}],
                    "address": {**ADDRESS_EXAMPLE, "lat": 36.1605, "lng": -115.1237},
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
        201: {"content": {"application/json": {"example": PLACED_EXAMPLE}}},
        200: {
            "model": OrderView,
            "description": "A retry of an order already placed",
            "content": {"application/json": {"example": PLACED_EXAMPLE}},
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
    check_cart_size(body.lines, settings)
    try:
        done = await usecases.checkout(
            db,
            catalog,
            customer_id=customer.id,
            idempotency_key=idempotency_key,
            fingerprint=usecases.request_fingerprint(body.model_dump_json().encode()),
            cart=usecases.Cart(
                lines=body.lines,
                address=body.address,
                contact=body.contact,
                quote_id=body.quote_id,
                window_id=body.window_id,
            ),
            policy=usecases.CheckoutPolicy(
                quote=quote_policy(settings),
                idempotency_stale=timedelta(seconds=settings.idempotency_stale_seconds),
                require_pin=settings.require_delivery_pin,
                asap_fee_cents=settings.asap_fee_cents,
            ),
            now=clock.now(),
            outgoing=outgoing,
        )
    except usecases.IdempotencyKeyReused:
        raise Conflict(
            "idempotency_key_reused",
            "This Idempotency-Key was used for another order; use a new key.",
        ) from None
    except usecases.CheckoutInProgress:
        raise Conflict(
            "request_in_progress",
            "An order with this Idempotency-Key is still being placed; retry in a moment.",
        ) from None
    except (OfferNotFound, CatalogUnavailable, usecases.MixedCurrencies) as error:
        raise catalog_problem(error, body.lines, settings.catalog_retry_after_seconds) from None
    except usecases.SoldOutOffers as error:
        raise sold_out_problem(body.lines, error) from None
    except usecases.OutsideDeliveryArea:
        raise Unprocessable(
            "We cannot deliver these items to this address today; check the address "
            "(and its map position), or browse again from it.",
            [FieldError(field="address", message="outside the same-day delivery area")],
            code="address_out_of_area",
        ) from None
    except (DomainError, usecases.UnknownQuote) as error:
        raise _quote_problem(error) from None
    if done.order is None:
        raise NotFound("order")
    if done.is_replay:
        response.status_code = 200
    response.headers["Location"] = f"/v1/orders/{done.order.order.id}"
    return OrderView.from_usecase(done.order, outgoing)


def check_cart_size(lines: list[CartLine], settings: OrderSettings) -> None:
    """The same limit for a quote and a checkout, so a quoted cart can be ordered."""
    if len(lines) > settings.max_cart_lines:
        raise Unprocessable(
            f"Split the cart: at most {settings.max_cart_lines} lines per order.",
            [FieldError(field="lines", message=f"at most {settings.max_cart_lines} lines")],
        )


def quote_policy(settings: OrderSettings) -> usecases.QuotePolicy:
    return usecases.QuotePolicy(
        fees=Fees(asap_cents=settings.asap_fee_cents, scheduled_cents=settings.scheduled_fee_cents),
        ttl=timedelta(seconds=settings.quote_ttl_seconds),
        default_orders_per_hour=settings.default_orders_per_hour,
    )


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


def catalog_problem(
    error: OfferNotFound | CatalogUnavailable | usecases.MixedCurrencies,
    lines: list[CartLine],
    retry_after: int,
) -> ProblemError:
    if isinstance(error, OfferNotFound):
        return Unprocessable(
            "An item is no longer available for same-day delivery; remove it and retry.",
            [
                FieldError(field=f"lines.{i}.offer_id", message="unknown or expired offer")
                for i, line in enumerate(lines)
                if line.offer_id == error.offer_id
            ],
            code="offer_unavailable",
        )
    if isinstance(error, CatalogUnavailable):
        return ProblemError(
            503,
            "catalog_unavailable",
            f"We cannot check availability right now; retry in {retry_after} seconds.",
            title="Service unavailable",
            headers={"Retry-After": str(retry_after)},
        )
    return Unprocessable(
        "These items are priced in different currencies; order them separately.",
        [FieldError(field="lines", message="mixed currencies")],
        code="mixed_currencies",
    )


def sold_out_problem(lines: list[CartLine], error: usecases.SoldOutOffers) -> ProblemError:
    return ProblemError(
        409,
        "sold_out",
        "Not enough left for same-day delivery; lower the quantity or remove the item.",
        title="Sold out",
        errors=[
            FieldError(field=f"lines.{i}.quantity", message="not enough left")
            for i, line in enumerate(lines)
            if line.offer_id in error.offer_ids
        ],
    )
