"""The retailer POS side: pull a store's orders, push signed events about them."""

from __future__ import annotations

import logging
from typing import Annotated, Any, Literal
from uuid import UUID

import orjson
from fastapi import APIRouter, Path, Query, Request
from pydantic import BaseModel, Field, ValidationError, model_validator
from standardwebhooks import Webhook

from order_service import usecases
from order_service.api.deps import OutgoingDep, RetailerDep, SettingsDep
from order_service.domain.checkout import RetailerEventType, RetailerOrder
from order_service.domain.errors import IllegalTransition, LineNotInShipment, UnknownShipment
from order_service.domain.order import ShipmentStatus
from shared import clock
from shared.api import DbDep
from shared.problems import PROBLEM, Conflict, FieldError, NotFound, ProblemError, Unprocessable
from shared.text import ID_PATTERN, RequestModel

log = logging.getLogger(__name__)

router = APIRouter(prefix="/v1/retailer", tags=["retailer"])

_SHIPMENT_ID = "7c1e4a92-5b3d-4f08-a6e1-2d9f0b8c7e15"
RETAILER_ORDERS_EXAMPLE: list[dict[str, Any]] = [
    {
        "shipment_id": _SHIPMENT_ID,
        "status": "placed",
        "placed_at": "2026-11-25T21:02:11Z",
        "deliver_by": "2026-11-25T20:30:00-08:00",
        "customer_first_name": "Dana",
        "lines": [
            {"sku": "TEE-CREW-BLK-M", "title": "Cotton crew-neck tee, black, M", "quantity": 2}
        ],
        "package_count": None,
        "labels": [],
        "missing_labels": [],
        "is_restock_due": False,
    }
]
EVENT_EXAMPLES: dict[str, dict[str, Any]] = {
    "accepted": {
        "summary": "The store takes the order",
        "value": {"type": "accepted", "shipment_id": _SHIPMENT_ID},
    },
    "packaged": {
        "summary": "Packed: one label barcode per package",
        "value": {
            "type": "packaged",
            "shipment_id": _SHIPMENT_ID,
            "labels": ["MTH-000184-1", "MTH-000184-2"],
            "package_count": 2,
        },
    },
    "out_of_stock": {
        "summary": "A line cannot be filled: it is re-routed or removed",
        "value": {
            "type": "out_of_stock",
            "shipment_id": _SHIPMENT_ID,
            "lines": [{"sku": "TEE-CREW-BLK-M"}],
            "reason": "Last one was damaged",
        },
    },
    "cancelled": {
        "summary": "The store cannot fill the order at all: it goes to another store",
        "value": {"type": "cancelled", "shipment_id": _SHIPMENT_ID, "reason": "Closing early"},
    },
    "restocked": {
        "summary": "The packed goods of a cancelled or returned order are back on the shelf",
        "value": {"type": "restocked", "shipment_id": _SHIPMENT_ID},
    },
}
STATUS_FILTERS: dict[str, list[ShipmentStatus] | None] = {
    "new": [ShipmentStatus.PLACED],
    "accepted": [ShipmentStatus.ACCEPTED],
    "packaged": [ShipmentStatus.PACKAGED],
    "cancelled": [ShipmentStatus.CANCELLED],
    "returning": [ShipmentStatus.RETURNING, ShipmentStatus.DELIVERY_FAILED],
    "returned": [ShipmentStatus.RETURNED_TO_STORE],
    "all": None,
}


@router.get(
    "/orders",
    summary="This store's orders (each is one shipment of a customer order)",
    responses={
        200: {"content": {"application/json": {"example": RETAILER_ORDERS_EXAMPLE}}},
        401: PROBLEM,
    },
)
async def list_orders(
    db: DbDep,
    retailer: RetailerDep,
    status: Annotated[
        Literal["new", "accepted", "packaged", "cancelled", "returning", "returned", "all"],
        Query(examples=["new"]),
    ] = "new",
    limit: Annotated[int, Query(ge=1, le=500, examples=[100])] = 100,
) -> list[RetailerOrder]:
    async with db.begin() as tx:
        return await usecases.retailer_orders(tx, retailer.store_id, STATUS_FILTERS[status], limit)


class StockView(BaseModel):
    sku: str
    # On the shelf, as far as orders go: the store's last count, less what was packed since,
    # plus what came back and the store confirmed (restocked).
    quantity: int
    # Of it, held for orders not packed yet.
    reserved: int
    available: int


@router.get(
    "/stock/{sku}",
    summary="This store's stock of one SKU as orders see it",
    responses={
        200: {
            "content": {
                "application/json": {
                    "example": {
                        "sku": "TEE-CREW-BLK-M",
                        "quantity": 12,
                        "reserved": 2,
                        "available": 10,
                    }
                }
            }
        },
        401: PROBLEM,
        404: PROBLEM,
    },
)
async def get_stock(
    db: DbDep,
    retailer: RetailerDep,
    sku: Annotated[
        str,
        Path(min_length=1, max_length=200, pattern=ID_PATTERN, examples=["TEE-CREW-BLK-M"]),
    ],
) -> StockView:
    async with db.begin() as tx:
        found = await usecases.store_stock(tx, retailer.store_id, sku)
    if found is None:
        raise NotFound("SKU", "No stock of this SKU is known for your store; check the SKU.")
    quantity, reserved = found
    return StockView(
        sku=sku, quantity=quantity, reserved=reserved, available=max(0, quantity - reserved)
    )


class RetailerEventLine(RequestModel):
    sku: str = Field(min_length=1, max_length=100)


class RetailerEventRequest(RequestModel):
    type: RetailerEventType
    shipment_id: UUID
    labels: list[Annotated[str, Field(min_length=1, max_length=100)]] = Field(
        default_factory=list, max_length=50
    )
    package_count: int | None = Field(None, gt=0, le=50)
    lines: list[RetailerEventLine] = Field(default_factory=list, max_length=50)
    reason: str = Field("", max_length=200)

    @model_validator(mode="after")
    def _complete_for_its_type(self) -> RetailerEventRequest:
        if self.type is RetailerEventType.PACKAGED:
            if not self.labels:
                raise ValueError("packaged needs the label barcode of every package")
            if self.package_count is not None and self.package_count != len(self.labels):
                raise ValueError("package_count must equal the number of labels")
        if self.type is RetailerEventType.OUT_OF_STOCK and not self.lines:
            raise ValueError("out_of_stock needs the lines (skus) that are missing")
        return self


class RetailerEventResult(BaseModel):
    shipment_id: UUID
    status: str


def _inlined(schema: dict[str, Any]) -> dict[str, Any]:
    """The schema with its `$defs` substituted, to embed where `#/$defs/...` would not resolve."""
    defs = schema.pop("$defs", {})

    def resolve(node: Any) -> Any:
        if isinstance(node, dict):
            ref = node.get("$ref", "")
            if ref.startswith("#/$defs/"):
                return resolve(defs[ref.removeprefix("#/$defs/")])
            return {key: resolve(value) for key, value in node.items()}
        if isinstance(node, list):
            return [resolve(value) for value in node]
        return node

    resolved: dict[str, Any] = resolve(schema)
    return resolved


# The route reads the raw body to verify its signature, so FastAPI cannot describe it.
EVENT_REQUEST_BODY: dict[str, Any] = {
    "required": True,
    "description": "Signed with the store's webhook secret; the headers are "
    "webhook-id, webhook-timestamp and webhook-signature (Standard Webhooks).",
    "content": {
        "application/json": {
            "schema": _inlined(RetailerEventRequest.model_json_schema()),
            "examples": EVENT_EXAMPLES,
        }
    },
}


class BadWebhook(ProblemError):
    def __init__(self, code: str, detail: str) -> None:
        super().__init__(400, code, detail, title="Bad request")


@router.post(
    "/events",
    summary="A signed POS event (Standard Webhooks: webhook-id, -timestamp, -signature)",
    responses={
        200: {
            "content": {
                "application/json": {"example": {"shipment_id": _SHIPMENT_ID, "status": "packaged"}}
            }
        },
        400: PROBLEM,
        401: PROBLEM,
        404: PROBLEM,
        409: PROBLEM,
        413: PROBLEM,
        422: PROBLEM,
    },
    openapi_extra={"requestBody": EVENT_REQUEST_BODY},
)
async def post_event(
    request: Request,
    db: DbDep,
    retailer: RetailerDep,
    settings: SettingsDep,
    outgoing: OutgoingDep,
) -> RetailerEventResult:
    body = await _read_limited(request, settings.retailer_event_max_bytes)
    headers = {k: v for k, v in request.headers.items() if k.startswith("webhook-")}
    async with db.begin() as tx:
        secrets = await usecases.webhook_secrets(tx, retailer.store_id, clock.now())
    _verify(body, headers, secrets)
    try:
        event = RetailerEventRequest.model_validate(orjson.loads(body))
    except (orjson.JSONDecodeError, ValidationError) as error:
        errors = (
            [
                FieldError(
                    field=".".join(str(p) for p in item["loc"]) or "body", message=item["msg"]
                )
                for item in error.errors()
            ]
            if isinstance(error, ValidationError)
            else [FieldError(field="body", message="not JSON")]
        )
        raise Unprocessable("Fix the event and send it again.", errors) from None
    try:
        async with db.begin() as tx:
            status = await usecases.apply_retailer_event(
                tx,
                retailer.store_id,
                headers["webhook-id"],
                usecases.RetailerEvent(
                    type=event.type,
                    shipment_id=event.shipment_id,
                    labels=tuple(event.labels),
                    package_count=event.package_count,
                    skus=tuple(line.sku for line in event.lines),
                    reason=event.reason,
                ),
                clock.now(),
                outgoing,
            )
    except usecases.WebhookReplayed:
        raise Conflict(
            "webhook_replayed",
            "This webhook-id was already received; send new events with a new id.",
        ) from None
    except UnknownShipment:
        raise NotFound("order", "No such order for this store; check the shipment_id.") from None
    except IllegalTransition as error:
        raise Conflict(
            "illegal_transition",
            f"The order is {error.current}; it cannot become {error.wanted}. Refresh and retry.",
        ) from None
    except LineNotInShipment as error:
        raise Unprocessable(
            "These SKUs are not in this order, or are all of a picked-up order; send only the"
            " SKUs that are missing.",
            [FieldError(field="lines", message=f"not in this order: {', '.join(error.skus)}")],
        ) from None
    return RetailerEventResult(shipment_id=event.shipment_id, status=status.value)


async def _read_limited(request: Request, limit: int) -> bytes:
    too_large = ProblemError(
        413, "payload_too_large", f"Events are at most {limit} bytes; send a smaller body."
    )
    declared = request.headers.get("content-length")
    if declared is not None and (not declared.isdigit() or int(declared) > limit):
        raise too_large
    body = b""
    async for chunk in request.stream():
        body += chunk
        if len(body) > limit:
            raise too_large
    return body


def _verify(body: bytes, headers: dict[str, str], secrets: list[str]) -> None:
    if not all(headers.get(h) for h in ("webhook-id", "webhook-timestamp", "webhook-signature")):
        raise BadWebhook(
            "missing_signature",
            "Sign the event per Standard Webhooks (webhook-id, -timestamp, -signature headers).",
        )
    last_error = "no active secret"
    # Two secrets are active during a rotation: either one may have signed.
    for secret in secrets:
        try:
            Webhook(secret).verify(body, headers, json_parse=False)
            return
        except Exception as error:  # the library raises more than its own error on bad headers
            last_error = str(error)
    if "timestamp too" in last_error:
        raise BadWebhook(
            "stale_timestamp",
            "The webhook-timestamp is more than 5 minutes off; sync your clock and re-sign.",
        )
    log.warning("retailer_event_bad_signature", extra={"reason": last_error})
    raise BadWebhook(
        "invalid_signature",
        "The webhook-signature does not match the body with your store's secret; re-sign.",
    )
