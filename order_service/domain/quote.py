"""A quote: the delivery windows a mall's fleet can still keep for a cart and an address, with
their fees, for a few minutes.

The catalog proposes the mall's windows (hours, prep, travel, dispatch's delay); here each is
weighed against the orders already promised in the mall and the fleet's rate (domain/capacity).
The as-soon-as-possible window bends: when its promise is full, a later "by" time today is
offered instead, a quarter hour at a time, before the slots that follow.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from uuid import UUID

from order_service.domain.capacity import Booked, asap_booked, has_room
from order_service.domain.errors import QuoteExpired, QuoteMismatch, UnknownWindow, WindowFull
from shared.windows import window_label

ASAP = "asap"
SCHEDULED = "scheduled"
BEND_STEP = timedelta(minutes=15)
# How much later than its first promise an as-soon-as-possible window may bend.
MAX_BEND = timedelta(hours=2)


@dataclass(frozen=True, slots=True)
class CandidateWindow:
    """A window the mall keeps in principle (the catalog's), before the fleet's bookings."""

    kind: str
    starts_at: datetime
    ends_at: datetime
    label: str


@dataclass(frozen=True, slots=True)
class QuotedWindow:
    id: str
    kind: str
    starts_at: datetime
    ends_at: datetime
    label: str
    fee_cents: int

    def is_on(self, now: datetime) -> bool:
        """Today, in the mall's time zone (the window's own offset)."""
        return self.ends_at.date() == now.astimezone(self.ends_at.tzinfo).date()


@dataclass(frozen=True, slots=True)
class Fees:
    asap_cents: int
    scheduled_cents: int


@dataclass(frozen=True, slots=True)
class Quote:
    id: UUID
    customer_id: str
    mall_id: str
    lat: float
    lng: float
    # (offer_id, quantity) in cart order.
    lines: tuple[tuple[str, int], ...]
    windows: tuple[QuotedWindow, ...]
    currency: str
    created_at: datetime
    expires_at: datetime

    def window_for_checkout(
        self,
        window_id: str,
        *,
        customer_id: str,
        lines: Sequence[tuple[str, int]],
        lat: float,
        lng: float,
        now: datetime,
    ) -> QuotedWindow:
        """The chosen window, if this quote still holds for this checkout."""
        if now >= self.expires_at:
            raise QuoteExpired
        if customer_id != self.customer_id:
            raise QuoteMismatch("customer")
        if sorted(lines) != sorted(self.lines):
            raise QuoteMismatch("lines")
        if (round(lat, 6), round(lng, 6)) != (round(self.lat, 6), round(self.lng, 6)):
            raise QuoteMismatch("address")
        window = next((w for w in self.windows if w.id == window_id), None)
        if window is None:
            raise UnknownWindow(window_id)
        if window.ends_at <= now:
            raise WindowFull
        return window


def quoted_windows(
    candidates: Sequence[CandidateWindow],
    booked: Sequence[Booked],
    orders_per_hour: float,
    fees: Fees,
    now: datetime,
) -> list[QuotedWindow]:
    """The candidates the fleet has room for, the as-soon-as-possible one bent later when
    full; ids are stable within one quote (w1, w2, ...)."""
    kept: list[tuple[str, datetime, datetime, str]] = []
    for candidate in sorted(candidates, key=lambda c: (c.ends_at, c.starts_at)):
        if candidate.kind == ASAP:
            # Bent no later than the day's last window ends: the mall's day is over then.
            latest = max(
                c.ends_at for c in candidates if c.ends_at.date() == candidate.ends_at.date()
            )
            bent = _bend(candidate, booked, orders_per_hour, now, latest)
            if bent is not None:
                kept.append((ASAP, candidate.starts_at, bent, _label_by(bent, now)))
        elif has_room(candidate.starts_at, candidate.ends_at, booked, orders_per_hour, now):
            kept.append((SCHEDULED, candidate.starts_at, candidate.ends_at, candidate.label))
    kept.sort(key=lambda k: (k[2], k[1]))
    return [
        QuotedWindow(
            id=f"w{index}",
            kind=kind,
            starts_at=starts_at,
            ends_at=ends_at,
            label=label,
            fee_cents=fees.asap_cents if kind == ASAP else fees.scheduled_cents,
        )
        for index, (kind, starts_at, ends_at, label) in enumerate(kept, start=1)
    ]


def is_still_open(
    window: QuotedWindow, booked: Sequence[Booked], orders_per_hour: float, now: datetime
) -> bool:
    """At checkout: the fleet still has room in the window the quote offered."""
    earliest = window.starts_at
    if window.kind == ASAP:
        earliest = asap_booked(now, window.ends_at, 1).starts_at
    return has_room(earliest, window.ends_at, booked, orders_per_hour, now)


def _bend(
    candidate: CandidateWindow,
    booked: Sequence[Booked],
    orders_per_hour: float,
    now: datetime,
    latest: datetime,
) -> datetime | None:
    """The earliest "by" time from the candidate's on, a quarter hour at a time, with room."""
    ends_at = candidate.ends_at
    while ends_at - candidate.ends_at <= MAX_BEND and ends_at <= latest:
        earliest = asap_booked(max(candidate.starts_at, now), ends_at, 1).starts_at
        if has_room(earliest, ends_at, booked, orders_per_hour, now):
            return ends_at
        ends_at += BEND_STEP
    return None


def _label_by(ends_at: datetime, now: datetime) -> str:
    return window_label(ends_at, ends_at, now.astimezone(ends_at.tzinfo).date(), is_by=True)
