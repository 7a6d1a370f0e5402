"""The checks a driver's step at a stop must pass: the scanned labels, the geofence, the delivery
PIN and its tries. Pure.
"""

from __future__ import annotations

import hashlib
import hmac
import uuid
from dataclasses import dataclass
from uuid import UUID

from driver_service.domain.errors import (
    OutsideGeofence,
    PinLocked,
    PinMismatch,
    ScanMismatch,
    WrongPin,
)
from shared.events.driver import StopStatus
from shared.geo import Point, haversine_m

# Statuses a driver's own step leaves a stop in (a cancellation is not a step).
DONE_BY_DRIVER = frozenset(
    {StopStatus.PICKED_UP, StopStatus.DELIVERED, StopStatus.FAILED, StopStatus.RETURNED}
)

# Wrong PINs a stop allows; after them the delivery needs an operator.
MAX_WRONG_PINS = 5


@dataclass(frozen=True)
class ScanResult:
    picked: list[str]
    missing: list[str]


def check_scan(expected: list[str], scanned: list[str], *, partial: bool) -> ScanResult:
    """Scanned barcodes against the store's labels; a short pickup must be declared partial."""
    wanted = set(expected)
    seen = list(dict.fromkeys(scanned))
    unknown = [label for label in seen if label not in wanted]
    missing = [label for label in expected if label not in set(seen)]
    if unknown or not seen or (missing and not partial):
        raise ScanMismatch(missing=missing, unknown=unknown)
    return ScanResult(picked=[label for label in expected if label in set(seen)], missing=missing)


def check_within(target: Point, position: Point, radius_m: float) -> float:
    distance = haversine_m(target, position)
    if distance > radius_m:
        raise OutsideGeofence(distance, radius_m)
    return distance


def check_pin(pin_sha256: str | None, pin: str | None) -> None:
    if pin_sha256 is None:
        return
    if not pin:
        raise WrongPin("This delivery needs the customer's PIN; ask the customer for it.")
    given = hashlib.sha256(pin.encode()).hexdigest()
    if not hmac.compare_digest(given, pin_sha256.lower()):
        raise PinMismatch("The PIN does not match; ask the customer to read it again.")


def check_pin_tries(wrong_so_far: int) -> None:
    if wrong_so_far >= MAX_WRONG_PINS:
        raise PinLocked(
            f"{MAX_WRONG_PINS} wrong PINs were entered for this delivery, so it is locked: "
            "call driver support, an operator will confirm it, or mark the stop failed."
        )


def after_wrong_pin(wrong_so_far: int) -> PinMismatch:
    """The answer to a wrong PIN: how many tries are left, or that the stop is now locked."""
    left = MAX_WRONG_PINS - wrong_so_far
    if left <= 0:
        return PinMismatch(
            "The PIN does not match, and that was the last try: call driver support, an "
            "operator will confirm the delivery, or mark the stop failed."
        )
    return PinMismatch(
        f"The PIN does not match; ask the customer to read it again ({left} "
        f"{'try' if left == 1 else 'tries'} left)."
    )


def return_stop_id(route_id: UUID, shipment_id: UUID) -> UUID:
    # Derived, not drawn: applying the same step twice names the same stop.
    return uuid.uuid5(route_id, f"return:{shipment_id}")
