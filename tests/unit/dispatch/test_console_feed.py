"""The console's change feed: only what changed goes out, and a browser resumes or reloads."""

from __future__ import annotations

import asyncio
from typing import Any

from dispatch_service.console_feed import ConsoleFeeds, Message, diff

Json = dict[str, Any]


def a_board(**changes: Any) -> Json:
    board: Json = {
        "now": "2026-11-25T19:00:00Z",
        "mall": {"id": "m", "name": "Mall"},
        "same_day": {"status": "open"},
        "day": {"orders": 1},
        "stores": [{"id": "s1", "name": "Store"}],
        "shipments": [{"id": "a", "deliver_by": "20:00"}, {"id": "b", "deliver_by": "20:15"}],
        "routes": [],
        "drivers": [{"id": "d1", "lat": 1.0}],
        "exceptions": [],
    }
    board.update(changes)
    return board


def test_a_change_carries_only_the_items_that_changed() -> None:
    before = a_board()
    after = a_board(
        now="2026-11-25T19:00:05Z",
        day={"orders": 2},
        shipments=[{"id": "b", "deliver_by": "20:15"}, {"id": "c", "deliver_by": "20:30"}],
        drivers=[{"id": "d1", "lat": 1.5}],
    )

    changes = diff(before, after)

    assert changes == {
        "set": {"day": {"orders": 2}},
        "upsert": {
            "shipments": [{"id": "c", "deliver_by": "20:30"}],
            "drivers": [{"id": "d1", "lat": 1.5}],
        },
        "remove": {"shipments": ["a"]},
    }
    assert diff(after, {**after, "now": "2026-11-25T19:00:09Z"}) is None


class Boards:
    """Boards in the order the feed loads them; the last one repeats."""

    def __init__(self, *boards: Json) -> None:
        self.boards = list(boards)
        self.loaded = asyncio.Event()

    async def load(self, mall_id: str) -> Json:
        self.loaded.set()
        return self.boards.pop(0) if len(self.boards) > 1 else self.boards[0]


async def collect(feeds: ConsoleFeeds, after: str | None, seconds: float) -> list[Message]:
    return [m async for m in feeds.stream("m", after, seconds)]


async def test_a_browser_resumes_after_the_version_it_has_and_skips_nothing() -> None:
    boards = Boards(a_board(), a_board(day={"orders": 2}), a_board(day={"orders": 3}))
    feeds = ConsoleFeeds(boards.load, refresh_seconds=0.01, clock_seconds=0.05)
    try:
        first, board = await feeds.snapshot("m")
        seen = await collect(feeds, first, 0.3)
        latest, _ = await feeds.snapshot("m")
        resumed = await collect(feeds, first, 0.1)
        up_to_date = await collect(feeds, latest, 0.1)
    finally:
        await feeds.stop()

    deltas = [m for m in seen if m.kind == "delta"]
    assert board["version"] == first and board["day"] == {"orders": 1}
    assert [m.data["set"]["day"]["orders"] for m in deltas] == [2, 3]
    assert all(set(m.data["upsert"]) == set() for m in deltas)
    assert [m.version for m in resumed if m.kind == "delta"] == [m.version for m in deltas]
    assert [m.kind for m in up_to_date] and {m.kind for m in up_to_date} <= {"clock"}


async def test_a_browser_with_a_version_from_elsewhere_is_told_to_reload() -> None:
    feeds = ConsoleFeeds(Boards(a_board()).load, refresh_seconds=0.01, clock_seconds=0.05)
    try:
        version, _ = await feeds.snapshot("m")
        other = await collect(feeds, "someone-else.3", 0.1)
        none = await collect(feeds, None, 0.1)
        ahead = await collect(feeds, version.rsplit(".", 1)[0] + ".99", 0.1)
    finally:
        await feeds.stop()

    for messages in (other, none, ahead):
        assert messages[0].kind == "reset"
        assert messages[0].data == {"version": version, "now": "2026-11-25T19:00:00Z"}
