"""What a customer sends at checkout and what a store's POS sees of an order."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from uuid import UUID

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

from shared.geo import Point, haversine_m
from shared.text import NonBlank, RequestModel

# Offer ids are opaque url-safe base64: anything else never reaches the catalog's URL.
OFFER_ID_PATTERN = r"^[A-Za-z0-9_-]+$"


def first_name(name: str) -> str:
    """What a store sees of the customer; "" for a name with no word in it."""
    words = name.split()
    return words[0] if words else ""


def is_within(area_center: Point, radius_m: float, dropoff: Point) -> bool:
    """The catalog's own rule for a point it lists offers at, applied to the address itself."""
    return haversine_m(area_center, dropoff) <= radius_m


class Address(RequestModel):
    model_config = ConfigDict(frozen=True)

    line1: str = Field(min_length=1, max_length=200)
    line2: str = Field("", max_length=200)
    city: str = Field(min_length=1, max_length=100)
    region: str = Field(min_length=1, max_length=100)
    postal_code: str = Field(min_length=1, max_length=20)
    lat: float = Field(ge=-90, le=90)
    lng: float = Field(ge=-180, le=180)
    instructions: str = Field("", max_length=500)

    def one_line(self) -> str:
        street = ", ".join(part for part in (self.line1, self.line2) if part)
        return f"{street}, {self.city}, {self.region} {self.postal_code}"

    def area(self) -> str:
        return f"{self.city} {self.postal_code}"


class Contact(RequestModel):
    model_config = ConfigDict(frozen=True)

    name: NonBlank = Field(max_length=100)
    phone: str = Field(min_length=5, max_length=30)

    def first_name(self) -> str:
        return first_name(self.name)


class CartLine(RequestModel):
    model_config = ConfigDict(frozen=True)

    offer_id: str = Field(min_length=1, max_length=200, pattern=OFFER_ID_PATTERN)
    quantity: int = Field(gt=0, le=50)


class RetailerLine(BaseModel):
    sku: str
    title: str
    quantity: int


class RetailerOrder(BaseModel):
    """A store's view of its part of an order: no address, only the customer's first name."""

    shipment_id: UUID
    status: str
    placed_at: datetime
    deliver_by: AwareDatetime
    customer_first_name: str
    lines: list[RetailerLine]
    package_count: int | None = None
    labels: list[str] = Field(default_factory=list)
    # Packages a driver could not find at the pickup: report their SKUs as out_of_stock.
    missing_labels: list[str] = Field(default_factory=list)
    # Packed goods came back (cancelled, or returned by the driver): confirm with `restocked`.
    is_restock_due: bool = False


class RetailerEventType(StrEnum):
    ACCEPTED = "accepted"
    PACKAGED = "packaged"
    OUT_OF_STOCK = "out_of_stock"
    CANCELLED = "cancelled"
    # The packed goods of a cancelled or returned order are back on the shelf.
    RESTOCKED = "restocked"
