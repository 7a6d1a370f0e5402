"""Vehicle types drivers register with, and how many packages each carries."""

from __future__ import annotations

from enum import StrEnum


class VehicleType(StrEnum):
    CARGO_BIKE = "cargo_bike"
    CAR = "car"
    SUV = "suv"
    VAN = "van"


CAPACITY_PACKAGES: dict[VehicleType, int] = {
    VehicleType.CARGO_BIKE: 6,
    VehicleType.CAR: 15,
    VehicleType.SUV: 25,
    VehicleType.VAN: 60,
}
