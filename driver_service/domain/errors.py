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


class StopRemoved(DomainError):
    code = "stop_removed"

    def __init__(self) -> None:
        super().__init__(
            "This order was cancelled and its stop removed from your route; do not take the"
            " package. Refresh your route."
        )


class RouteEnded(DomainError):
    code = "route_ended"


class UnknownThing(DomainError):
    """Nothing by that id for this driver (someone else's looks the same as none)."""

    code = "not_found"

    def __init__(self, thing: str, detail: str | None = None) -> None:
        super().__init__(detail or f"No such {thing}; check the id.")
        self.thing = thing


class OfferTaken(DomainError):
    code = "already_taken"

    def __init__(self) -> None:
        super().__init__("Another driver took this route; look at your other offers.")


class OfferExpired(DomainError):
    code = "offer_expired"

    def __init__(self) -> None:
        super().__init__("This offer has expired; look at your other offers.")


class OfferDeclined(DomainError):
    code = "offer_declined"

    def __init__(self) -> None:
        super().__init__("You declined this offer; look at your other offers.")


class PhoneTaken(DomainError):
    code = "phone_taken"

    def __init__(self) -> None:
        super().__init__("This phone number is already registered; sign in instead.")


class BlockOverlaps(DomainError):
    code = "block_overlaps"

    def __init__(self) -> None:
        super().__init__("You already have a block then; pick another time.")


class InvalidBlock(DomainError):
    def __init__(self, errors: list[tuple[str, str]]) -> None:
        super().__init__("Fix the block and retry.")
        self.errors = errors


class TooManyUpdates(DomainError):
    code = "too_many_updates"

    def __init__(self, retry_after: int, min_interval_seconds: float) -> None:
        super().__init__(
            f"Send at most one position every {min_interval_seconds:g} s; retry in {retry_after} s."
        )
        self.retry_after = retry_after


class InvalidToken(DomainError):
    code = "unauthorized"
