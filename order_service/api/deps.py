from __future__ import annotations

import hmac
from dataclasses import dataclass
from typing import Annotated

import jwt
from fastapi import Depends, Header, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from order_service import usecases
from order_service.catalog_client import CatalogClient
from order_service.outgoing import Outgoing
from order_service.settings import OrderSettings
from shared import clock
from shared.api import DbDep, Unauthorized, from_app_state

get_settings = from_app_state("settings", OrderSettings)
get_catalog = from_app_state("catalog", CatalogClient)
get_outgoing = from_app_state("outgoing", Outgoing)

SettingsDep = Annotated[OrderSettings, Depends(get_settings)]
CatalogDep = Annotated[CatalogClient, Depends(get_catalog)]
OutgoingDep = Annotated[Outgoing, Depends(get_outgoing)]

_bearer = HTTPBearer(auto_error=False)
BearerDep = Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)]


@dataclass(frozen=True)
class Customer:
    id: str


def get_customer(credentials: BearerDep, settings: SettingsDep) -> Customer:
    if credentials is None:
        raise Unauthorized("Sign in and send your token as 'Authorization: Bearer <token>'.")
    try:
        claims = jwt.decode(
            credentials.credentials,
            settings.jwt_secret,
            algorithms=["HS256"],
            options={"require": ["sub", "exp"]},
        )
    except jwt.PyJWTError:
        raise Unauthorized("Your sign-in token is invalid or expired; sign in again.") from None
    subject = claims["sub"]
    if (
        claims.get("role") != "customer"
        or not isinstance(subject, str)
        or not subject.strip()
        or "\x00" in subject
    ):
        raise Unauthorized("This token is not a customer token; sign in as a customer.")
    return Customer(id=subject)


CustomerDep = Annotated[Customer, Depends(get_customer)]


async def limit_checkout(request: Request, customer: CustomerDep) -> None:
    request.app.state.rate_limits.check("checkout", customer.id)


async def limit_orders(request: Request, customer: CustomerDep) -> None:
    request.app.state.rate_limits.check("orders", customer.id)


def require_operator(credentials: BearerDep, settings: SettingsDep) -> None:
    if credentials is None or not hmac.compare_digest(
        credentials.credentials.encode(), settings.operator_token.encode()
    ):
        raise Unauthorized("Send the operator token as 'Authorization: Bearer <token>'.")


OperatorDep = Annotated[None, Depends(require_operator)]


def require_storefront(credentials: BearerDep, settings: SettingsDep) -> None:
    expected = settings.storefront_token.get_secret_value().encode()
    if credentials is None or not hmac.compare_digest(credentials.credentials.encode(), expected):
        raise Unauthorized("Send the storefront's token as 'Authorization: Bearer <token>'.")


StorefrontDep = Annotated[None, Depends(require_storefront)]


@dataclass(frozen=True)
class RetailerStore:
    store_id: str


async def get_retailer_store(
    db: DbDep, x_api_key: Annotated[str | None, Header()] = None
) -> RetailerStore:
    if not x_api_key:
        raise Unauthorized("Send your store's API key in the X-API-Key header.", challenge=None)
    async with db.begin() as tx:
        store_id = await usecases.store_for_api_key(tx, x_api_key, clock.now())
    if store_id is None:
        raise Unauthorized("This API key is unknown or expired; ask for a new one.", challenge=None)
    return RetailerStore(store_id=store_id)


RetailerDep = Annotated[RetailerStore, Depends(get_retailer_store)]
