"""The catalog's internal offer resolution, over HTTP with timeouts and retries."""

from __future__ import annotations

import logging
import re

import httpx
from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, ValidationError
from tenacity import (
    AsyncRetrying,
    RetryCallState,
    retry_if_exception_type,
    stop_after_attempt,
    wait_exponential,
)

log = logging.getLogger(__name__)

# An offer id travels in the catalog's URL: only url-safe base64 may go there, never "../".
OFFER_ID = re.compile(r"[A-Za-z0-9_-]{1,200}")


class OfferStore(BaseModel):
    model_config = ConfigDict(frozen=True, extra="ignore")

    store_id: str
    store_name: str
    mall_id: str
    mall_name: str
    lat: float = Field(ge=-90, le=90)
    lng: float = Field(ge=-180, le=180)
    quantity: int = Field(ge=0)
    prep_minutes: int = Field(0, ge=0)
    pickup_instructions: str = ""


class DeliveryArea(BaseModel):
    """The offer's mall delivers within `radius_m` of this point."""

    model_config = ConfigDict(frozen=True, extra="ignore")

    lat: float = Field(ge=-90, le=90)
    lng: float = Field(ge=-180, le=180)
    radius_m: int = Field(gt=0)


class OfferWindow(BaseModel):
    """A delivery window of the offer's mall: mall-level, the same for each of its stores."""

    model_config = ConfigDict(frozen=True, extra="ignore")

    kind: str
    starts_at: AwareDatetime
    ends_at: AwareDatetime
    label: str


class Offer(BaseModel):
    model_config = ConfigDict(frozen=True, extra="ignore")

    offer_id: str
    sku: str
    title: str
    price_cents: int = Field(ge=0)
    currency: str
    deliver_by: AwareDatetime
    windows: list[OfferWindow] = Field(default_factory=list)
    stores: list[OfferStore]
    delivery_area: DeliveryArea


class _Offers(BaseModel):
    model_config = ConfigDict(frozen=True, extra="ignore")

    offers: list[Offer]
    unknown: list[str] = Field(default_factory=list)


class CatalogUnavailable(Exception):
    pass


class _CatalogBlip(Exception):
    """A failure worth another try: no answer, or a 5xx."""


class OfferNotFound(Exception):
    def __init__(self, offer_id: str) -> None:
        super().__init__(f"offer {offer_id} is unknown or expired")
        self.offer_id = offer_id


class CatalogClient:
    def __init__(
        self,
        base_url: str,
        *,
        internal_token: str,
        timeout_seconds: float,
        attempts: int,
        backoff_seconds: float,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        self.attempts = attempts
        self.backoff_seconds = backoff_seconds
        self._client = httpx.AsyncClient(
            base_url=base_url,
            timeout=timeout_seconds,
            transport=transport,
            headers={"Authorization": f"Bearer {internal_token}"},
        )

    async def close(self) -> None:
        await self._client.aclose()

    async def resolve_all(
        self, offer_ids: list[str], at: tuple[float, float] | None = None
    ) -> dict[str, Offer]:
        """The cart's offers in one call, with their mall's windows for the (lat, lng) `at`
        when given. OfferNotFound names the first unknown or expired one."""
        unique = list(dict.fromkeys(offer_ids))
        for offer_id in unique:
            if OFFER_ID.fullmatch(offer_id) is None:
                raise OfferNotFound(offer_id)

        def note(state: RetryCallState) -> None:
            error = state.outcome.exception() if state.outcome else None
            log.warning(
                "catalog_call_failed",
                extra={
                    "offers": len(unique),
                    "attempt": state.attempt_number,
                    "reason": str(error),
                },
            )

        retrying = AsyncRetrying(
            retry=retry_if_exception_type(_CatalogBlip),
            stop=stop_after_attempt(self.attempts),
            wait=wait_exponential(multiplier=self.backoff_seconds),
            before_sleep=note,
            reraise=True,
        )
        try:
            async for attempt in retrying:
                with attempt:
                    found = await self._resolve_once(unique, at)
        except _CatalogBlip as error:
            raise CatalogUnavailable(str(error)) from None
        by_id = {offer.offer_id: offer for offer in found.offers}
        for offer_id in unique:
            if offer_id not in by_id:
                raise OfferNotFound(offer_id)
        return {offer_id: by_id[offer_id] for offer_id in unique}

    async def _resolve_once(self, offer_ids: list[str], at: tuple[float, float] | None) -> _Offers:
        params: dict[str, str | float | list[str]] = {"offer_id": offer_ids}
        if at is not None:
            params |= {"lat": at[0], "lng": at[1]}
        try:
            response = await self._client.get("/v1/offers", params=params)
        except httpx.HTTPError as error:
            raise _CatalogBlip(type(error).__name__) from error
        if response.status_code in (401, 403):
            # A configuration error, not a blip: retrying cannot help, the log says why.
            log.error(
                "catalog_refused_internal_token",
                extra={
                    "status": response.status_code,
                    "fix": "set ORDER_CATALOG_INTERNAL_TOKEN to CATALOG_INTERNAL_TOKEN",
                },
            )
            raise CatalogUnavailable(f"catalog refused the token ({response.status_code})")
        if response.status_code != 200:
            raise _CatalogBlip(f"status {response.status_code}")
        try:
            return _Offers.model_validate_json(response.content)
        except ValidationError as error:
            raise CatalogUnavailable(f"malformed offers: {error}") from None
