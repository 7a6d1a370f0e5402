from __future__ import annotations

from datetime import datetime, timedelta, timezone
from typing import Any

from services.demo import choose_window

PST = timezone(timedelta(hours=-8))


def a_window(wid: str, kind: str, start: datetime, end: datetime, today: bool = True) -> Any:
    return {
        "id": wid,
        "kind": kind,
        "starts_at": start.isoformat(),
        "ends_at": end.isoformat(),
        "is_today": today,
    }


def at(hour: int, minute: int = 0, day: int = 25) -> datetime:
    return datetime(2026, 11, 25 if day == 25 else day, hour, minute, tzinfo=PST)


WINDOWS = [
    a_window("w1", "asap", at(11), at(11, 45)),
    a_window("w2", "scheduled", at(12), at(14)),
    a_window("w3", "scheduled", at(18), at(20)),
    a_window("w4", "scheduled", at(10, day=26), at(12, day=26), today=False),
]


def test_a_shopper_gets_the_first_choice_when_the_quote_has_it() -> None:
    asap = choose_window(WINDOWS, wants_evening=False, listed_by=at(11, 45))
    evening = choose_window(WINDOWS, wants_evening=True, listed_by=at(11, 45))

    assert asap is not None and (asap.window_id, asap.is_later) == ("w1", False)
    assert evening is not None and (evening.window_id, evening.is_later) == ("w3", False)


def test_a_full_first_choice_means_a_later_window() -> None:
    bent = [a_window("w1", "asap", at(11), at(12, 15)), *WINDOWS[1:]]
    no_evening = [w for w in WINDOWS if w["id"] != "w3"]

    later_asap = choose_window(bent, wants_evening=False, listed_by=at(11, 45))
    tomorrow = choose_window(no_evening, wants_evening=True, listed_by=at(11, 45))

    assert later_asap is not None and (later_asap.window_id, later_asap.is_later) == ("w1", True)
    assert tomorrow is not None and (tomorrow.window_id, tomorrow.is_later) == ("w4", True)
    assert choose_window([], wants_evening=False, listed_by=at(11, 45)) is None
