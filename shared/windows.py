"""How a delivery window reads for people, wherever it is shown (catalog, quotes, webhooks).

Times are the mall's local times: the datetimes must carry the mall's offset.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta


def clock_text(moment: datetime) -> str:
    """ "6 PM", "11:45 AM"."""
    hour = moment.hour % 12 or 12
    half = "AM" if moment.hour < 12 else "PM"
    return f"{hour} {half}" if moment.minute == 0 else f"{hour}:{moment.minute:02d} {half}"


def window_label(starts_at: datetime, ends_at: datetime, today: date, *, is_by: bool) -> str:
    """ "by 11:45 AM", "6–8 PM", "10 AM–12 PM", "tomorrow by 12 PM". `is_by`: the window runs
    from now (or from the mall's opening), so its end is all that matters."""
    day = ends_at.date()
    if day == today:
        prefix = ""
    elif day == today + timedelta(days=1):
        prefix = "tomorrow "
    else:
        prefix = f"{ends_at:%A} "
    if is_by:
        return f"{prefix}by {clock_text(ends_at)}"
    start, end = clock_text(starts_at), clock_text(ends_at)
    if (starts_at.hour < 12) == (ends_at.hour < 12):
        start = start.removesuffix(" AM").removesuffix(" PM")
    return f"{prefix}{start}–{end}"
