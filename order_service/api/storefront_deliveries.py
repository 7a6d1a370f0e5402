"""The storefront's webhook deliveries: list, inspect, replay (failed ones are kept).
Nothing here names a store or mall.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal
from uuid import UUID

import orjson
from fastapi import APIRouter, Path, Query
from pydantic import BaseModel, Field

from order_service import usecases
from order_service.api.deps import OutgoingDep, StorefrontDep
from order_service.api.order_views import ORDER_ID_EXAMPLE
from order_service.api.storefront_endpoints import ENDPOINT_ID_EXAMPLE, EndpointId
from order_service.store.webhooks import DeliveryStatus
from shared import clock
from shared.api import DbDep
from shared.problems import PROBLEM, Conflict, NotFound

router = APIRouter(prefix="/v1/storefront", tags=["storefront"])

_DELIVERY_ID = "b8e2f4a1-6c3d-4f5e-9a7b-1d2c3e4f5a6b"


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
    "endpoint_id": ENDPOINT_ID_EXAMPLE,
    "order_id": ORDER_ID_EXAMPLE,
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
    endpoint_id: Annotated[UUID | None, Query(examples=[ENDPOINT_ID_EXAMPLE])] = None,
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
                            "data": {"order_id": ORDER_ID_EXAMPLE, "status": "picked_up"},
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
