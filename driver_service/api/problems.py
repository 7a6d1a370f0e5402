"""Domain errors as problem responses: the only place the driver service maps them to HTTP."""

from __future__ import annotations

from driver_service.domain.errors import (
    BlockOverlaps,
    DomainError,
    IllegalStep,
    InvalidBlock,
    InvalidToken,
    OfferDeclined,
    OfferExpired,
    OfferTaken,
    OutsideGeofence,
    PhoneTaken,
    PinLocked,
    RouteEnded,
    ScanMismatch,
    StopRemoved,
    TooManyUpdates,
    UnknownThing,
    WrongPin,
)
from shared.api import BEARER_INVALID_TOKEN, Unauthorized
from shared.problems import FieldError, NotFound, ProblemError, Unprocessable

_CONFLICTS = (
    IllegalStep,
    StopRemoved,
    RouteEnded,
    OfferTaken,
    OfferDeclined,
    PhoneTaken,
    BlockOverlaps,
)


def domain_problem(error: DomainError) -> ProblemError:
    if isinstance(error, ScanMismatch):
        return Unprocessable(
            error.detail,
            [FieldError(field="barcodes", message=f"unknown label {x}") for x in error.unknown]
            + [FieldError(field="barcodes", message=f"missing label {x}") for x in error.missing],
            code=error.code,
        )
    if isinstance(error, OutsideGeofence):
        return Unprocessable(
            error.detail,
            [FieldError(field="position", message=f"must be within {error.radius_m:.0f} m")],
            code=error.code,
        )
    if isinstance(error, WrongPin):
        return Unprocessable(
            error.detail, [FieldError(field="pin", message="does not match")], code=error.code
        )
    if isinstance(error, InvalidBlock):
        return Unprocessable(
            error.detail, [FieldError(field=f, message=m) for f, m in error.errors]
        )
    if isinstance(error, UnknownThing):
        return NotFound(error.thing, error.detail)
    if isinstance(error, OfferExpired):
        return ProblemError(410, error.code, error.detail, title="Gone")
    if isinstance(error, TooManyUpdates):
        return ProblemError(
            429,
            error.code,
            error.detail,
            title="Too many requests",
            headers={"Retry-After": str(error.retry_after)},
        )
    if isinstance(error, PinLocked):
        # No Retry-After: waiting does not unlock the stop, an operator does.
        return ProblemError(429, error.code, error.detail, title="Too many requests")
    if isinstance(error, InvalidToken):
        return Unauthorized(error.detail, code=error.code, challenge=BEARER_INVALID_TOKEN)
    if isinstance(error, _CONFLICTS):
        return ProblemError(409, error.code, error.detail)
    return Unprocessable(error.detail, [], code=error.code)
