"""Domain errors; the API maps each to a problem response."""

from __future__ import annotations


class DomainError(Exception):
    """A request the domain refuses; `code` names the problem for clients."""

    code = "invalid"

    def __init__(self, detail: str) -> None:
        super().__init__(detail)
        self.detail = detail


class ScanMismatch(DomainError):
    code = "labels_mismatch"

    def __init__(self, missing: list[str], unknown: list[str]) -> None:
        parts = []
        if unknown:
            parts.append(f"unknown labels {', '.join(unknown)}")
        if missing:
            parts.append(f"missing labels {', '.join(missing)}")
        super().__init__(
            "Scanned packages do not match the order: "
            + "; ".join(parts)
            + ". Rescan, or confirm a partial pickup."
        )
        self.missing = missing
        self.unknown = unknown


class OutsideGeofence(DomainError):
    code = "outside_geofence"

    def __init__(self, distance_m: float, radius_m: float) -> None:
        super().__init__(
            f"You are {distance_m:.0f} m from the stop; move within {radius_m:.0f} m and retry."
        )
        self.distance_m = distance_m
        self.radius_m = radius_m


class WrongPin(DomainError):
    code = "wrong_pin"


class PinMismatch(WrongPin):
    """A PIN was given and it is not the customer's: a try that counts."""


class PinLocked(DomainError):
    """Too many wrong PINs at this stop: only an operator may confirm the delivery now."""

    code = "pin_locked"


class IllegalStep(DomainError):
    code = "illegal_step"
