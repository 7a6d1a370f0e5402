"""Operator endpoints: provisioning a store's POS credentials."""

from __future__ import annotations

from datetime import timedelta

from fastapi import APIRouter, Path
from pydantic import BaseModel, ConfigDict, HttpUrl

from order_service import usecases
from order_service.api.deps import DbDep, OperatorDep, SettingsDep
from shared import clock
from shared.problems import PROBLEM
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
