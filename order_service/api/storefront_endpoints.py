"""The storefront's webhook endpoints: register, list, remove, rotate the signing secret.
Nothing here names a store or mall.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Annotated, Any
from uuid import UUID

from fastapi import APIRouter, Path, Response
from pydantic import BaseModel, ConfigDict, Field, HttpUrl

from order_service import usecases
from order_service.api.deps import StorefrontDep
from order_service.domain.order import StorefrontEvent
from shared import clock
from shared.api import DbDep
from shared.problems import PROBLEM, NotFound

router = APIRouter(prefix="/v1/storefront", tags=["storefront"])

ENDPOINT_ID_EXAMPLE = "5d0f6c2a-9b7e-4e31-8a45-c2d1e0f9b3a7"


_SECRET = "whsec_O/rzKG8WTA1jQpD2gexLxt9EwTJr6B/hPoD0szsXgk0="


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
    "id": ENDPOINT_ID_EXAMPLE,
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


EndpointId = Annotated[UUID, Path(examples=[ENDPOINT_ID_EXAMPLE])]


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
                        "id": ENDPOINT_ID_EXAMPLE,
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
