"""Operator endpoints: provisioning a store's POS credentials, cancelling a shipment."""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated
from uuid import UUID

from fastapi import APIRouter, Path
from pydantic import BaseModel, ConfigDict, Field, HttpUrl

from order_service import usecases
from order_service.api.deps import OperatorDep, OutgoingDep, SettingsDep
from order_service.domain.errors import NotCancellable
from shared import clock
from shared.api import DbDep
from shared.problems import PROBLEM, Conflict, NotFound
from shared.text import ID_PATTERN, RequestModel

router = APIRouter(prefix="/v1/admin", tags=["internal"])


class PosCredentialsRequest(RequestModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [{"webhook_url": "https://pos.northwind.example/mth/events"}]
        }
    )

    webhook_url: HttpUrl | None = None


class PosCredentialsView(BaseModel):
    store_id: str
    api_key: str
    webhook_secret: str
    webhook_url: str | None


@router.post(
    "/stores/{store_id}/pos-credentials",
    status_code=201,
    summary="Issue a store's API key and webhook secret (shown once; the previous pair stays "
    "valid for the rotation grace period)",
    responses={
        201: {
            "content": {
                "application/json": {
                    # A fictional store and fake secrets: this document sits next to the
                    # customer API.
                    "example": {
                        "store_id": "store-0a1b2c3d4e5f",
                        "api_key": "mth_sk__WiCPdAdBXN-nM0GnaGawzVcBoblmfEOt-yZq3UnaWI",
                        "webhook_secret": "whsec_O/rzKG8WTA1jQpD2gexLxt9EwTJr6B/hPoD0szsXgk0=",
                        "webhook_url": "https://pos.northwind.example/mth/events",
                    }
                }
            }
        },
        401: PROBLEM,
        422: PROBLEM,
    },
)
async def issue_pos_credentials(
    db: DbDep,
    settings: SettingsDep,
    _: OperatorDep,
    store_id: str = Path(
        min_length=1, max_length=100, pattern=ID_PATTERN, examples=["store-0a1b2c3d4e5f"]
    ),
    body: PosCredentialsRequest | None = None,
) -> PosCredentialsView:
    url = str(body.webhook_url) if body and body.webhook_url else None
    async with db.begin() as tx:
        api_key, secret = await usecases.provision_pos(
            tx, store_id, url, clock.now(), timedelta(seconds=settings.pos_rotation_grace_seconds)
        )
        current_url = await usecases.webhook_url(tx, store_id, clock.now())
    return PosCredentialsView(
        store_id=store_id, api_key=api_key, webhook_secret=secret, webhook_url=current_url
    )


# Fictional ids: this document sits next to the customer API.
_SHIPMENT_ID = "7c1e4a92-5b3d-4f08-a6e1-2d9f0b8c7e15"
_ORDER_ID = "3f2b9c1e-8d4a-4e6b-9a57-1c0d2e3f4a5b"


class CancelShipmentRequest(RequestModel):
    model_config = ConfigDict(
        json_schema_extra={"examples": [{"reason": "customer called: no longer needed"}]}
    )

    reason: str = Field(min_length=1, max_length=200)


class CancelledShipmentView(BaseModel):
    shipment_id: UUID
    order_id: UUID
    status: str
    order_status: str


@router.post(
    "/shipments/{shipment_id}/cancel",
    summary="Cancel one shipment of an order (an operator's decision, e.g. from dispatch's "
    "console): its stock is released and its store told; after the pickup it is returned to "
    "its store; again changes nothing",
    responses={
        200: {
            "content": {
                "application/json": {
                    "example": {
                        "shipment_id": _SHIPMENT_ID,
                        "order_id": _ORDER_ID,
                        "status": "cancelled",
                        "order_status": "cancelled",
                    }
                }
            }
        },
        401: PROBLEM,
        404: PROBLEM,
        409: PROBLEM,
        422: PROBLEM,
    },
)
async def cancel_shipment(
    shipment_id: Annotated[UUID, Path(examples=[_SHIPMENT_ID])],
    body: CancelShipmentRequest,
    db: DbDep,
    outgoing: OutgoingDep,
    _: OperatorDep,
) -> CancelledShipmentView:
    try:
        async with db.begin() as tx:
            found = await usecases.cancel_shipment_by_operator(
                tx, shipment_id, body.reason, clock.now(), outgoing
            )
    except NotCancellable:
        raise Conflict(
            "not_cancellable",
            "The shipment was already delivered or could not be; it can no longer be cancelled.",
            title="Not cancellable",
        ) from None
    if found is None:
        raise NotFound("shipment")
    order, shipment = found
    return CancelledShipmentView(
        shipment_id=shipment.id,
        order_id=order.id,
        status=shipment.status.value,
        order_status=order.status.value,
    )
