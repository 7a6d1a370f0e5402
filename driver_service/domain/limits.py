"""Per-driver rate limit of location updates."""

from __future__ import annotations

import math
from datetime import datetime, timedelta


def retry_after_seconds(
    last_accepted_at: datetime | None, now: datetime, min_interval: timedelta
) -> int:
    """0 when an update may be accepted now, else whole seconds to wait (at least 1)."""
    if last_accepted_at is None:
        return 0
    remaining = (last_accepted_at + min_interval - now).total_seconds()
    return 0 if remaining <= 0 else max(1, math.ceil(remaining))


def is_stale(at: datetime | None, now: datetime, stale_after: timedelta) -> bool:
    return at is None or now - at > stale_after
