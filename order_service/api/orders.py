"""The customer API: an order's status, cancel, tip. Never a store or mall, in any field."""

from __future__ import annotations

from fastapi import APIRouter, Depends
from pydantic import BaseModel, ConfigDict, Field

from order_service import usecases
from order_service.api.deps import CustomerDep, OutgoingDep, limit_orders
from order_service.api.order_views import (
    CANCELLED_EXAMPLE,
    ORDER_EXAMPLES,
    TIPPED_EXAMPLE,
    OrderId,
    OrderView,
)
from order_service.domain.errors import NotCancellable, TipAlreadyGiven, TipNotAllowed
from shared import clock
from shared.api import DbDep
from shared.problems import PROBLEM, Conflict, NotFound

router = APIRouter(tags=["orders"])


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
